"""``/docs`` (Swagger UI), ``/redoc`` and ``/openapi.json``, served without any CDN.

FastAPI's own pages load Swagger UI and ReDoc from a CDN with an inline script, on the
admin's origin; these load the same assets from the ``fastapi-offline`` package (served
under ``/docs-assets``) and start them from our own script file, so they work with no
internet and under a Content-Security-Policy without inline scripts. In production they
are for the operator only: the API's shape is no secret, but there is no reason to hand
it to every visitor either, and the less runs on the admin's origin the better.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from vivavoce.runtime import Runtime
from vivavoce.web import pages_login
from vivavoce.web.assets import VersionedStaticFiles
from vivavoce.web.deps import is_admin
from vivavoce.web.errors import error_body
from vivavoce.web.pages import STATIC

__all__ = ["ASSETS_DIR", "docs_policy", "install", "on_shutdown", "on_startup"]

ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"

router = APIRouter(include_in_schema=False)

_SWAGGER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vivavoce API — Swagger UI</title>
<link rel="stylesheet" href="/docs-assets/swagger-ui.css">
<link rel="icon" href="/docs-assets/favicon.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs-assets/swagger-ui-bundle.js"></script>
<script src="STATIC/js/api-docs.js"></script></body></html>
""".replace("STATIC", STATIC)  # our script, under the release's path like every other

_REDOC = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>vivavoce API — ReDoc</title>
<link rel="icon" href="/docs-assets/favicon.png"></head>
<body><redoc spec-url="/openapi.json"></redoc>
<script src="/docs-assets/redoc.standalone.js"></script></body></html>
"""


def docs_policy() -> str:
    # Both UIs set inline style attributes and inject <style> elements (and ReDoc runs its
    # search in a worker made from a blob), so styles and workers are looser than on our
    # own pages; scripts are still only our own files.
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


def _allowed(request: Request) -> bool:
    runtime: Runtime = request.app.state.runtime
    return not runtime.settings.is_production or is_admin(request, runtime)


def _page(request: Request, html: str) -> Response:
    if not _allowed(request):
        return pages_login.redirect_to_login(request)
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": docs_policy(),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@router.get("/docs")
async def swagger_ui(request: Request) -> Response:
    return _page(request, _SWAGGER)


@router.get("/redoc")
async def redoc(request: Request) -> Response:
    return _page(request, _REDOC)


# The one address in the ReDoc bundle that points outside: its "API docs by Redocly" logo.
# Served from here instead, so the page makes no request off the machine (and none that
# the CSP would have to refuse).
_REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
_redoc_bundle: list[bytes] = []


@router.get("/docs-assets/redoc.standalone.js")
async def redoc_bundle() -> Response:
    if not _redoc_bundle:
        data = (ASSETS_DIR / "redoc.standalone.js").read_bytes()
        _redoc_bundle.append(data.replace(_REDOC_LOGO, b"/docs-assets/favicon.png"))
    return Response(
        _redoc_bundle[0],
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache"},  # as the other /docs-assets files
    )


@router.get("/openapi.json")
async def openapi(request: Request) -> Response:
    if not _allowed(request):
        return JSONResponse(
            error_body("unauthorized", "The API description needs the operator's login "
                       "(or the admin token) in production."),
            status_code=401,
        )
    return JSONResponse(request.app.openapi())


def install(app: FastAPI, runtime: Runtime) -> None:
    app.include_router(router)
    # The package's files keep their names across its releases: revalidated on every
    # use, so an upgrade never leaves a browser with one release's Swagger UI and
    # another's start script.
    app.mount("/docs-assets", VersionedStaticFiles(directory=ASSETS_DIR, immutable=False),
              name="docs-assets")


async def on_startup(app: FastAPI, runtime: Runtime) -> None:
    return None


async def on_shutdown(app: FastAPI, runtime: Runtime) -> None:
    return None
