"""The web app's pages: start, interview room, results, and the operator's screens.

Every page is a server-rendered template plus one small ES module from ``static/js``; data
the module needs travels in ``data-*`` attributes on ``<main>`` (there is no inline script,
so the pages run under a strict Content-Security-Policy). The pages themselves hold no
interview data: the modules fetch it from the REST API and talk to ``/voice``, with the
candidate's token or the operator's cookie.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from vivavoce import __version__
from vivavoce.resume.fields import LEVEL_OPTIONS
from vivavoce.runtime import Runtime
from vivavoce.secret_strength import secret_warnings
from vivavoce.tokens import InvalidInterviewToken, verify_interview_token
from vivavoce.web import pages_login
from vivavoce.web.assets import VersionedStaticFiles, asset_version, static_prefix
from vivavoce.web.deps import RuntimeDep, is_admin
from vivavoce.web.errors import error_body
from vivavoce.web.pages_security import page_headers
from vivavoce.web.security import session_of

__all__ = [
    "ASSET_VERSION", "STATIC", "STATIC_DIR", "TEMPLATES_DIR", "install", "on_shutdown", "on_startup",
    "page_budget", "render",
]

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
# Computed once: the files are part of the installed package and do not change while
# the server runs (web/assets.py).
ASSET_VERSION = asset_version(STATIC_DIR)
STATIC = static_prefix(ASSET_VERSION)

templates = Jinja2Templates(directory=TEMPLATES_DIR)
router = APIRouter(include_in_schema=False)

# Tokens and ids travel in URLs; anything outside this alphabet cannot be one of ours, so
# it gets a plain "not found" page instead of reaching the API or the relay.
_OPAQUE = re.compile(r"^[A-Za-z0-9_\-.~]{1,512}$")


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render one page with the context every page needs (mode banner, operator state)."""
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    session = session_of(request)
    base = {
        "csrf_token": session.csrf if session is not None else "",
        "simulator": settings.use_simulator,
        "realtime_model": settings.realtime_model,
        "operator": is_admin(request, runtime),
        "version": __version__,
        "static": STATIC,  # the release's versioned /static path: every script and sheet
        "max_interview_seconds": settings.max_interview_seconds,
        "transport": settings.transport,
    }
    base.update(context)
    response = templates.TemplateResponse(
        request, template, base, status_code=status_code, headers=page_headers(request)
    )
    return response


def not_found(request: Request, what: str) -> HTMLResponse:
    return render(request, "not_found.html", status_code=404, what=what)


@router.get("/", response_class=HTMLResponse)
async def start_page(request: Request) -> HTMLResponse:
    # The level words the résumé guesses use are the form's own (resume/fields.py).
    return render(request, "start.html", page="start", levels=LEVEL_OPTIONS)


def link_problem(request: Request, message: str, *, expired: bool = False) -> HTMLResponse:
    return render(
        request, "link_problem.html", status_code=410 if expired else 404, message=message
    )


def _check_access(
    request: Request, interview_id: str, token: str | None, *, operator_ok: bool
) -> HTMLResponse | None:
    """None when the token opens this interview (or, where ``operator_ok``, the operator
    is logged in); otherwise the page explaining what is wrong with the link."""
    runtime: Runtime = request.app.state.runtime
    if not token:
        if operator_ok and is_admin(request, runtime):
            return None
        return link_problem(request, "This page needs the link you were sent, including its "
                            "token. Please open the link again.")
    if not _OPAQUE.match(token):
        return link_problem(request, "This interview link is not valid. Ask for a new link.")
    try:
        owner = verify_interview_token(runtime.secret_key, token)
    except InvalidInterviewToken as exc:
        return link_problem(request, str(exc), expired=exc.reason == "expired")
    if owner != interview_id:
        return link_problem(request, "This interview link is not valid. Ask for a new link.")
    return None


@router.get("/i/{token}", response_class=HTMLResponse)
async def candidate_link(request: Request, token: str) -> HTMLResponse:
    """The candidate's invitation link: straight to the interview room."""
    runtime: Runtime = request.app.state.runtime
    if not _OPAQUE.match(token):
        return link_problem(request, "This interview link is not valid. Ask for a new link.")
    try:
        interview_id = verify_interview_token(runtime.secret_key, token)
    except InvalidInterviewToken as exc:
        return link_problem(request, str(exc), expired=exc.reason == "expired")
    return render(request, "room.html", page="room", token=token, interview_id=interview_id)


@router.get("/interview/{interview_id}", response_class=HTMLResponse)
async def interview_room(
    request: Request, interview_id: str, token: str | None = None
) -> HTMLResponse:
    if not _OPAQUE.match(interview_id):
        return not_found(request, "interview")
    # The room needs the token even for the operator: /voice runs the interview it names.
    problem = _check_access(request, interview_id, token, operator_ok=False)
    if problem is not None:
        return problem
    return render(
        request, "room.html", page="room", token=token or "", interview_id=interview_id
    )


@router.get("/results/{interview_id}", response_class=HTMLResponse)
async def results_page(
    request: Request, interview_id: str, token: str | None = None
) -> HTMLResponse:
    if not _OPAQUE.match(interview_id):
        return not_found(request, "interview")
    problem = _check_access(request, interview_id, token, operator_ok=True)
    if problem is not None:
        return problem
    return render(
        request, "results.html", page="results", token=token or "", interview_id=interview_id
    )


@router.get("/admin", response_class=HTMLResponse)
async def admin_home(request: Request, runtime: RuntimeDep) -> Response:
    return pages_login.redirect("/admin/interviews")


@router.get("/admin/interviews", response_class=HTMLResponse)
async def admin_interviews(request: Request, runtime: RuntimeDep) -> Response:
    if not is_admin(request, runtime):
        return pages_login.redirect_to_login(request)
    return render(request, "admin_interviews.html", page="admin_interviews")


@router.get("/admin/setup", response_class=HTMLResponse)
async def admin_setup(request: Request, runtime: RuntimeDep) -> Response:
    if not is_admin(request, runtime):
        return pages_login.redirect_to_login(request)
    settings = runtime.settings
    warnings = secret_warnings(settings)
    if settings.allow_open_interviews:
        warnings.append(
            "Open interviews are ON: anyone who reaches this service can start interviews "
            "without a link, billed to your OpenAI key (VIVAVOCE_OPEN_INTERVIEWS)."
        )
    return render(request, "admin_setup.html", page="admin_setup", security_warnings=warnings,
                  budget=await page_budget(runtime))


async def page_budget(runtime: Runtime) -> Any:
    """The spend limits' status for a page, or None when the database cannot say."""
    from sqlalchemy.exc import SQLAlchemyError

    from vivavoce.web.api_budget import budget_for

    try:
        return await budget_for(runtime)
    except SQLAlchemyError:
        return None


@router.get("/admin/webhooks", response_class=HTMLResponse)
async def admin_webhooks(request: Request, runtime: RuntimeDep) -> Response:
    if not is_admin(request, runtime):
        return pages_login.redirect_to_login(request)
    return render(request, "admin_webhooks.html", page="admin_webhooks")


@router.get("/favicon.ico")
async def favicon() -> FileResponse:
    # Browsers ask for /favicon.ico whatever the page says; answer with the SVG icon so
    # no page ever logs a 404.
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")


def wants_html(request: Request) -> bool:
    """A browser asking for a page: it accepts HTML and the path is not the API's.
    (The API and scripts answer with the one JSON error shape whatever they accept.)"""
    path = request.url.path
    if path.startswith(("/api/", "/static/", "/voice")) or path == "/api":
        return False
    return "text/html" in request.headers.get("accept", "")


async def _not_found(request: Request, exc: Exception) -> Response:
    """404 for an unknown URL: a page for a browser, the JSON error for everyone else."""
    if wants_html(request):
        return not_found(request, "page")
    detail = getattr(exc, "detail", None)
    message = detail if isinstance(detail, str) and detail != "Not Found" else "not found"
    return JSONResponse(error_body("not_found", message), status_code=404,
                        headers=getattr(exc, "headers", None))


def install(app: FastAPI, runtime: Runtime) -> None:
    # A status handler is consulted before the class handlers of web/errors.py.
    app.add_exception_handler(404, _not_found)
    app.include_router(router)
    app.include_router(pages_login.build_router(render))
    # The versioned path first: the plain /static mount would otherwise take it.
    app.mount(STATIC, VersionedStaticFiles(directory=STATIC_DIR, immutable=True),
              name="static-release")
    app.mount("/static", VersionedStaticFiles(directory=STATIC_DIR, immutable=False),
              name="static")


async def on_startup(app: FastAPI, runtime: Runtime) -> None:
    return None


async def on_shutdown(app: FastAPI, runtime: Runtime) -> None:
    return None
