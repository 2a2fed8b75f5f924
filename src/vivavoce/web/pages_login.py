"""The operator's login: a form that trades the admin token for the ``vivavoce_admin`` cookie.

``web/deps.is_admin`` accepts the cookie exactly like ``Authorization: Bearer``, so once
it is set the operator pages and their fetches to the admin API just work. The cookie is
HttpOnly (page scripts never see the token) and SameSite=Strict (another site cannot make
the browser use it).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vivavoce.runtime import Runtime

__all__ = ["COOKIE_NAME", "build_router", "redirect", "redirect_to_login", "safe_next"]

COOKIE_NAME = "vivavoce_admin"
COOKIE_MAX_AGE = 12 * 3600
DEFAULT_NEXT = "/admin/interviews"

Renderer = Callable[..., HTMLResponse]


def safe_next(value: str | None) -> str:
    """A local path to go to after login; anything else (another site, ``//host``,
    a scheme, control characters) falls back to the interviews list."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return DEFAULT_NEXT
    if "\\" in value or any(ord(ch) < 0x20 for ch in value):
        return DEFAULT_NEXT
    return value


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303, headers={"Cache-Control": "no-store"})


def redirect_to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return redirect(f"/admin/login?next={quote(target, safe='')}")


def _is_https(request: Request) -> bool:
    # Behind Railway's or any TLS-terminating proxy the app sees http; the proxy's
    # X-Forwarded-Proto says what the browser used.
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def build_router(render: Renderer) -> APIRouter:
    """The login/logout routes; ``render`` draws a page (passed in to avoid an import cycle)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/admin/login", response_class=HTMLResponse)
    async def login_form(request: Request, next: str | None = None) -> HTMLResponse:
        return render(request, "admin_login.html", page="admin_login", next=safe_next(next))

    @router.post("/admin/login", response_class=HTMLResponse)
    async def login(
        request: Request,
        token: Annotated[str, Form(max_length=1024)] = "",
        next: Annotated[str, Form(max_length=2048)] = "",
    ) -> Response:
        runtime: Runtime = request.app.state.runtime
        given = token.strip()
        if not given or not hmac.compare_digest(given.encode(), runtime.admin_token.encode()):
            return render(
                request,
                "admin_login.html",
                status_code=401,
                page="admin_login",
                next=safe_next(next),
                error="That is not the admin token. It is VIVAVOCE_ADMIN_TOKEN, or the one "
                "printed in the server log at startup when that is not set.",
            )
        response = redirect(safe_next(next))
        response.set_cookie(
            COOKIE_NAME,
            given,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="strict",
            secure=_is_https(request),
            path="/",
        )
        return response

    @router.post("/admin/logout")
    async def logout() -> Response:
        response = redirect("/admin/login")
        response.delete_cookie(COOKIE_NAME, path="/")
        return response

    return router


