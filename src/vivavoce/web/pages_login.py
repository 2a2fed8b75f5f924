"""The operator's login: a form that trades the admin token for a server-side session.

The cookie holds a random session id, never the token (web/sessions.py); the server
enforces idle and absolute expiry, and logout deletes the session, so a copied cookie is
dead afterwards. The cookie is HttpOnly, SameSite=Strict and, in production, always
Secure. Wrong tokens count against the address (web/auth_guard.py); a waiting address is
answered 429 before its token is even compared. Logout is a form with a CSRF token, and
every cookie-authenticated change is checked for its origin (web/security.py).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vivavoce.runtime import Runtime
from vivavoce.web import auth_guard, csrf, sessions
from vivavoce.web.security import session_of

__all__ = ["build_router", "redirect", "redirect_to_login", "safe_next"]

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

        def page(status: int, error: str, headers: dict[str, str] | None = None) -> HTMLResponse:
            response = render(
                request, "admin_login.html", status_code=status, page="admin_login",
                next=safe_next(next), error=error,
            )
            response.headers.update(headers or {})
            return response

        # Login CSRF: a browser always names the page that posted; a foreign one is
        # refused (a client without Origin/Referer is not a browser being tricked).
        if csrf.request_origin(request) is not None and not csrf.same_origin(
            request, runtime.settings
        ):
            return page(403, "This login was not sent from this service's own login page.")
        subject = auth_guard.client_subject(request)
        wait = await auth_guard.retry_after(runtime, "admin", subject)
        if wait is not None:
            return page(
                429,
                f"Too many wrong tokens from this address. Try again in {wait} seconds.",
                {"Retry-After": str(wait)},
            )
        given = token.strip()
        if not given or not hmac.compare_digest(given.encode(), runtime.admin_token.encode()):
            await auth_guard.record_failure(runtime, "admin", subject)
            return page(
                401,
                "That is not the admin token. It is VIVAVOCE_ADMIN_TOKEN, or the one "
                "printed in the server log at startup when that is not set.",
            )
        response = redirect(safe_next(next))
        # A fresh session id at every login (never reuse one the browser brought along).
        await sessions.end_session(runtime, session_of(request))
        await sessions.start_session(runtime, request, response)
        return response

    @router.post("/admin/logout")
    async def logout(
        request: Request, csrf_token: Annotated[str, Form(max_length=128)] = ""
    ) -> Response:
        runtime: Runtime = request.app.state.runtime
        current = session_of(request)
        # The origin was checked by the middleware; a form also carries its token.
        if current is not None and not hmac.compare_digest(csrf_token, current.csrf):
            return render(
                request, "link_problem.html", status_code=403,
                message="That logout did not come from this service's own page. "
                "Use the Log out button.",
            )
        await sessions.end_session(runtime, current)
        response = redirect("/admin/login")
        sessions.clear_cookie(runtime, response)
        return response

    return router
