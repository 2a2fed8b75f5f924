"""Static files under a per-release path, so a browser never mixes two releases' files.

Pages load ``/static/v/<version>/js/room.js``; every module it imports (``./dom.js``)
and every AudioWorklet (``new URL("./capture-worklet.js", import.meta.url)``) resolves
relative to that path, so the whole module graph and the worklets carry the version
without a build step or a rewritten import. ``<version>`` is the package version plus a
hash of the static files' contents: a new release (or any edited file) gets new URLs,
which can then be cached for good (``immutable``). A path with another version is a
404: serving today's file under yesterday's URL would be exactly the mix this prevents.
The unversioned ``/static/...`` stays for files whose URL is fixed (the favicon), and
is revalidated on every use.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from vivavoce import __version__

__all__ = ["VersionedStaticFiles", "asset_version", "static_prefix"]


def asset_version(directory: Path, release: str = __version__) -> str:
    """``<release>-<12 hex of the files' hash>``: changes whenever any file changes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return f"{release}-{digest.hexdigest()[:12]}"


def static_prefix(version: str) -> str:
    """The URL path the release's static files are served under (no trailing slash)."""
    return f"/static/v/{version}"


class VersionedStaticFiles(StaticFiles):
    """Files that never change under their URL: cached for a year, without revalidation;
    or (``immutable=False``) revalidated on every use."""

    def __init__(self, *, directory: Path, immutable: bool) -> None:
        super().__init__(directory=directory)
        self.cache_control = (
            "public, max-age=31536000, immutable" if immutable else "no-cache"
        )

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = self.cache_control
        return response
