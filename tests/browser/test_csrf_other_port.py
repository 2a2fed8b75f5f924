"""Issue 14, findings 3 and 4, in real Chromium: a page on another port of the same host
is the same *site*, so the browser sends the operator's SameSite=Strict cookie with its
requests; the Origin check must refuse them. And the Log out button ends the session on
the server, so a copied cookie is dead afterwards."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.browser.conftest import BrowserPage, LiveApp, login

pytestmark = pytest.mark.browser

OpenPage = Callable[..., BrowserPage]
StartApp = Callable[..., LiveApp]

ATTACK = """<!doctype html><html><head><title>cat pictures</title></head><body>
<form id="out" method="post" action="{app}/admin/logout"></form>
<script>
(async () => {{
  const sneaky = {{method: "POST", mode: "no-cors", credentials: "include"}};
  await fetch("{app}/api/interviews/{interview}/evaluation", sneaky);
  await fetch("{app}/api/admin/reload", sneaky);
  document.getElementById("out").submit();
}})();
</script></body></html>"""


@contextlib.contextmanager
def attacker_site(page_html: str) -> Iterator[str]:
    """Another web server on another port of the same host, serving ``page_html``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = page_html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_page_on_another_port_cannot_act_with_the_login_and_logout_ends_it(
    open_page: OpenPage, live_app: StartApp
) -> None:
    app = live_app()
    interview = app.create_interview()["id"]
    tab = open_page()
    page = tab.page
    login(page, app.url)
    statuses: dict[str, int] = {}
    page.on("response", lambda r: statuses.__setitem__(r.request.method + " " + r.url, r.status))
    tab.console.allow("403")  # the refused requests, as the browser reports them

    with attacker_site(ATTACK.format(app=app.url, interview=interview)) as elsewhere:
        assert elsewhere.split(":")[-1] != app.url.split(":")[-1]
        page.goto(elsewhere + "/")
        page.wait_for_url(f"{app.url}/admin/logout")
    # The cookie went along (same site), and the check refused each request: the
    # middleware names CSRF only for a request its session cookie authenticated.
    assert "csrf_failed" in page.content()
    assert statuses[f"POST {app.url}/api/interviews/{interview}/evaluation"] == 403
    assert statuses[f"POST {app.url}/api/admin/reload"] == 403
    assert statuses[f"POST {app.url}/admin/logout"] == 403
    assert app.app.state.runtime.reload.last is None  # the reload never ran

    # Still logged in; the service's own page logs out for real.
    page.goto(f"{app.url}/admin/interviews")
    assert page.url == f"{app.url}/admin/interviews"
    [cookie] = [c for c in page.context.cookies() if c["name"] == "vivavoce_session"]
    with httpx.Client(base_url=app.url, timeout=10) as thief:
        thief.cookies.set("vivavoce_session", cookie["value"])
        assert thief.get("/api/interviews").status_code == 200
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(re.compile(r"/admin/login"))
        # The copied cookie is dead: the session is gone from the server.
        assert thief.get("/api/interviews").status_code == 401
