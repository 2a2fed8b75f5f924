"""Résumé uploads: who may upload, how often, and files that hit a parsing limit refused
at once the next time — over a real socket, on SQLite and PostgreSQL (issue 14)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api import resume_parsers as parsers
from tests.web.security_helpers import ADMIN, MakeApp, from_address, rows

pytestmark = pytest.mark.usefixtures("database_url")

CV = b"Grace Hopper\nSkills: COBOL, compilers\n"


def upload(app: Any, data: bytes = CV, **kw: Any) -> httpx.Response:
    return httpx.post(
        f"{app.server.http_url}/api/resume",
        files={"file": ("cv.txt", data, "text/plain")},
        timeout=60,
        **kw,
    )


def create_interview(app: Any) -> dict[str, Any]:
    made = httpx.post(
        f"{app.server.http_url}/api/interviews",
        json={"candidate": {"name": "Grace"}},
        headers=ADMIN,
        timeout=30,
    )
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


def test_who_may_upload(app_on: MakeApp) -> None:
    # Development on loopback: open, as for trying it out on one machine.
    assert upload(app_on()).status_code == 200
    # Reachable from elsewhere: a login or an interview's token …
    exposed = app_on(VIVAVOCE_HOST="0.0.0.0", VIVAVOCE_ALLOW_INSECURE="1")
    refused = upload(exposed)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    token = create_interview(exposed)["token"]
    assert upload(exposed, params={"token": token}).status_code == 200
    assert upload(exposed, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert upload(exposed, headers=ADMIN).status_code == 200
    # … unless open interviews are on (the public start page uploads without one).
    opened = app_on(
        VIVAVOCE_HOST="0.0.0.0", VIVAVOCE_ALLOW_INSECURE="1", VIVAVOCE_OPEN_INTERVIEWS="1"
    )
    assert upload(opened).status_code == 200
    production = app_on(VIVAVOCE_ENV="production")
    assert upload(production).status_code == 401


def test_uploads_are_limited_per_address(app_on: MakeApp) -> None:
    app = app_on(VIVAVOCE_RESUME_UPLOADS_PER_ADDRESS="2")
    one = from_address("203.0.113.10")
    assert [upload(app, headers=one).status_code for _ in range(2)] == [200, 200]
    refused = upload(app, headers=one)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 600
    assert upload(app, headers=from_address("203.0.113.11")).status_code == 200
    # The operator is not counted.
    assert upload(app, headers={**ADMIN, **one}).status_code == 200


def test_uploads_are_limited_per_interview(app_on: MakeApp) -> None:
    app = app_on(
        VIVAVOCE_RESUME_UPLOADS_PER_INTERVIEW="1",
        VIVAVOCE_HOST="0.0.0.0",
        VIVAVOCE_ALLOW_INSECURE="1",
    )
    token = create_interview(app)["token"]
    first = upload(app, params={"token": token}, headers=from_address("203.0.113.20"))
    assert first.status_code == 200
    # From another address too: the limit follows the interview.
    again = upload(app, params={"token": token}, headers=from_address("203.0.113.21"))
    assert again.status_code == 429 and "interview" in again.json()["error"]["message"]
    other = create_interview(app)["token"]
    assert upload(app, params={"token": other}).status_code == 200


@pytest.mark.parametrize(
    ("parser", "code", "timeout"),
    # The memory hog hits its limit at once; a generous deadline keeps a slow process
    # start on a loaded machine from being read as the time limit instead.
    [(parsers.spin_forever, "too_complex", "0.5"), (parsers.hog_memory, "too_much_memory", "20")],
)
def test_a_file_that_hit_a_parsing_limit_is_refused_at_once_next_time(
    app_on: MakeApp, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, parser: Any, code: str,
    timeout: str,
) -> None:
    from vivavoce.web import api_resume

    app = app_on(VIVAVOCE_RESUME_TIMEOUT_SECONDS=timeout, VIVAVOCE_RESUME_MEMORY_MB="256")
    real_reader = api_resume.read_resume
    monkeypatch.setattr(api_resume, "read_resume", parser)
    hostile = str(tmp_path / "hostile").encode()
    first = upload(app, hostile)
    assert first.status_code == 422 and first.json()["error"]["code"] == code
    # The same bytes would now parse (the slow parser is gone), but the file is known:
    # it is refused with the same answer without reaching a parser.
    monkeypatch.setattr(api_resume, "read_resume", real_reader)
    second = upload(app, hostile)
    assert second.status_code == 422
    assert second.json()["error"] == first.json()["error"]
    [(stored,)] = _run(rows(app, "SELECT code FROM resume_rejects"))
    assert stored == code
    # Other files are read as usual.
    assert upload(app, CV).status_code == 200


def _run(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)
