"""The server-rendered pages: what they contain, who may open them, and their headers."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import ADMIN_TOKEN, SAME_ORIGIN, TEST_KEY, MakeClient, log_in
from vivavoce.runtime import Runtime
from vivavoce.tokens import issue_interview_token
from vivavoce.web.assets import asset_version
from vivavoce.web.pages import STATIC, STATIC_DIR


class PageScan(HTMLParser):
    """Collects what matters for CSP and structure: scripts, inline handlers, styles."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_script_text = False
        self.style_attrs: list[str] = []
        self.handlers: list[str] = []
        self.stylesheets: list[str] = []
        self.ids: set[str] = set()
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "id" in a and a["id"]:
            self.ids.add(a["id"])
        for name, _ in attrs:
            if name.startswith("on"):
                self.handlers.append(f"{tag}[{name}]")
            if name == "style":
                self.style_attrs.append(tag)
        if tag == "script":
            self.scripts.append(a)
            self._in_script = True
        if tag == "style":
            self.style_attrs.append("<style>")
        if tag == "link" and a.get("rel") == "stylesheet" and a.get("href"):
            self.stylesheets.append(a["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script_text = True


def scan(html: str) -> PageScan:
    parser = PageScan()
    parser.feed(html)
    return parser


def runtime_of(client: TestClient) -> Runtime:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


def login(client: TestClient) -> None:
    log_in(client)


def candidate_pages(client: TestClient) -> list[str]:
    token = issue_interview_token(runtime_of(client).secret_key, "iv-1")
    return ["/", f"/i/{token}", f"/interview/iv-1?token={token}", f"/results/iv-1?token={token}"]


OPERATOR_PAGES = ["/admin/interviews", "/admin/setup", "/admin/usage", "/admin/webhooks",
                  "/admin/login"]


def test_every_page_is_csp_clean_and_its_scripts_and_styles_exist(client: TestClient) -> None:
    login(client)
    for path in [*candidate_pages(client), *OPERATOR_PAGES]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp, path
        assert "connect-src 'self' ws://testserver wss://testserver" in csp
        page = scan(response.text)
        assert not page.inline_script_text, path
        assert page.handlers == [] and page.style_attrs == [], path
        for script in page.scripts:
            src = script.get("src") or ""
            assert script.get("type") == "module" and src.startswith(f"{STATIC}/js/"), path
            asset = client.get(src)
            assert asset.status_code == 200 and "javascript" in asset.headers["content-type"]
        for href in page.stylesheets:
            assert client.get(href).status_code == 200
        assert "main" in page.ids


def test_each_module_import_resolves_to_a_served_file(client: TestClient) -> None:
    # No build step: a typo in an import path would only show up in a browser otherwise.
    from vivavoce.web.pages import STATIC_DIR

    modules = sorted((STATIC_DIR / "js").glob("*.js"))
    assert len(modules) >= 8
    pattern = re.compile(r"""(?:import|from)\s*(?:[^"';]*?from\s*)?["'](\.[^"']+)["']""")
    for module in modules:
        for spec in pattern.findall(module.read_text(encoding="utf-8")):
            target = (module.parent / spec).resolve()
            assert target.is_file(), f"{module.name} imports missing {spec}"
            rel = target.relative_to(STATIC_DIR.resolve()).as_posix()
            assert client.get(f"{STATIC}/{rel}").status_code == 200


def test_every_script_and_sheet_is_versioned_by_release(client: TestClient) -> None:
    # Pages name their files under the release's path; modules and worklets resolve
    # relative to it (import "./x.js", new URL("./w.js", import.meta.url)), so the whole
    # graph changes URL with a release and may be cached for good.
    login(client)
    assert re.fullmatch(r"/static/v/[0-9A-Za-z.+-]+-[0-9a-f]{12}", STATIC)
    for path in [*candidate_pages(client), *OPERATOR_PAGES]:
        page = scan(client.get(path).text)
        for url in [*(s.get("src") or "" for s in page.scripts), *page.stylesheets]:
            assert url.startswith(f"{STATIC}/") and "?" not in url, (path, url)
            response = client.get(url)
            assert response.status_code == 200
            assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    # /docs starts Swagger UI from our own script: under the release's path too.
    docs = client.get("/docs").text
    assert f'<script src="{STATIC}/js/api-docs.js">' in docs
    assert client.get(f"{STATIC}/js/api-docs.js").status_code == 200
    # No module names a file by an absolute /static path, which would skip the version.
    for module in (STATIC_DIR / "js").glob("*.js"):
        assert '"/static/' not in module.read_text(encoding="utf-8"), module.name
    # Another release's path is not served today's file; the unversioned path is
    # revalidated on every use.
    other = client.get("/static/v/0.0.0-000000000000/js/room.js")
    assert other.status_code == 404
    plain = client.get("/static/js/room.js")
    assert plain.status_code == 200 and plain.headers["cache-control"] == "no-cache"


def test_the_asset_version_follows_the_files(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "a.js").write_text("export const a = 1;\n")
    first = asset_version(tmp_path, "1.0")
    assert first == asset_version(tmp_path, "1.0")  # stable across restarts
    (tmp_path / "js" / "a.js").write_text("export const a = 2;\n")
    assert asset_version(tmp_path, "1.0") != first
    assert asset_version(tmp_path, "1.1").startswith("1.1-")


def test_simulator_mode_is_announced_on_every_page(client: TestClient) -> None:
    assert runtime_of(client).settings.use_simulator
    login(client)
    for path in [*candidate_pages(client), *OPERATOR_PAGES]:
        body = client.get(path).text
        assert 'id="mode-banner"' in body and "SIMULATOR MODE" in body, path
    assert "Mode: SIMULATOR" in client.get("/admin/setup").text


def test_real_mode_shows_no_banner_to_candidates_but_tells_the_operator(
    make_client: MakeClient,
) -> None:
    client = make_client(OPENAI_API_KEY=TEST_KEY, VIVAVOCE_SIMULATOR="false")
    for path in candidate_pages(client):
        assert "mode-banner" not in client.get(path).text, path
    login(client)
    setup = client.get("/admin/setup").text
    assert "Mode: real OpenAI" in setup and "LIVE" in setup


def test_the_key_never_reaches_a_page(make_client: MakeClient) -> None:
    client = make_client(OPENAI_API_KEY=TEST_KEY, VIVAVOCE_SIMULATOR="false")
    login(client)
    for path in [*candidate_pages(client), *OPERATOR_PAGES, "/i/not-a-token"]:
        body = client.get(path).text
        assert TEST_KEY not in body and TEST_KEY[-20:] not in body, path


def test_operator_pages_send_a_stranger_to_login(client: TestClient) -> None:
    for path in ["/admin/interviews", "/admin/setup?x=1"]:
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/admin/login?next=%2Fadmin%2F")
    assert client.get("/admin").headers["location"] == "/admin/interviews"
    client.cookies.set("vivavoce_session", "wrong")
    assert client.get("/admin/setup").status_code == 303
    # The old cookie that held the admin token itself opens nothing any more.
    client.cookies.set("vivavoce_admin", ADMIN_TOKEN)
    assert client.get("/admin/setup").status_code == 303


def test_login_sets_a_strict_httponly_cookie_and_goes_back(client: TestClient) -> None:
    response = client.post(
        "/admin/login",
        data={"token": f"  {ADMIN_TOKEN} ", "next": "/admin/setup"},
        headers=SAME_ORIGIN,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/setup"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("vivavoce_session=") and ADMIN_TOKEN not in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http in tests; https gets Secure (below)
    page = client.get("/admin/setup")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert csrf is not None

    out = client.post(
        "/admin/logout", data={"csrf_token": csrf.group(1)}, headers=SAME_ORIGIN
    )
    assert out.status_code == 303 and 'vivavoce_session=""' in out.headers["set-cookie"]


def test_login_behind_a_tls_proxy_marks_the_cookie_secure(client: TestClient) -> None:
    response = client.post(
        "/admin/login",
        data={"token": ADMIN_TOKEN},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "Secure" in response.headers["set-cookie"]


@pytest.mark.parametrize("given", ["", "nope", ADMIN_TOKEN + "x", ADMIN_TOKEN[:-1]])
def test_a_wrong_token_is_refused_with_a_clear_message(client: TestClient, given: str) -> None:
    response = client.post("/admin/login", data={"token": given, "next": "/admin/setup"})
    assert response.status_code == 401
    assert "set-cookie" not in response.headers
    assert "not the admin token" in response.text
    assert 'name="next" value="/admin/setup"' in response.text


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "javascript:alert(1)", "/\\evil", "admin"],
)
def test_login_never_redirects_off_site(client: TestClient, target: str) -> None:
    response = client.post("/admin/login", data={"token": ADMIN_TOKEN, "next": target})
    assert response.headers["location"] == "/admin/interviews"


def test_candidate_link_opens_the_room_for_its_interview(client: TestClient) -> None:
    token = issue_interview_token(runtime_of(client).secret_key, "interview-42")
    body = client.get(f"/i/{token}").text
    assert 'data-interview-id="interview-42"' in body
    assert f'data-token="{token}"' in body
    assert 'id="begin-button"' in body and 'aria-live="polite"' in body


@pytest.mark.parametrize(
    "path_template",
    ["/i/{bad}", "/interview/iv-1?token={bad}", "/results/iv-1?token={bad}"],
)
def test_a_forged_or_foreign_token_gets_a_plain_explanation(
    client: TestClient, path_template: str
) -> None:
    secret = runtime_of(client).secret_key
    other = issue_interview_token(secret, "someone-else")
    forged = issue_interview_token("another-secret-key", "iv-1")
    for bad in [forged, "garbage", "a" * 600, "%3Cscript%3E"]:
        response = client.get(path_template.format(bad=bad))
        assert response.status_code == 404, bad
        assert "not valid" in response.text
        assert "<script>" not in response.text
    if not path_template.startswith("/i/"):
        response = client.get(path_template.format(bad=other))
        assert response.status_code == 404


def test_an_expired_link_says_so(client: TestClient) -> None:
    token = issue_interview_token(
        runtime_of(client).secret_key, "iv-1", max_age_s=10, now=1_000_000.0
    )
    response = client.get(f"/i/{token}")
    assert response.status_code == 410
    assert "expired" in response.text


def test_results_need_a_token_unless_operator_and_the_room_always(client: TestClient) -> None:
    assert client.get("/results/iv-1").status_code == 404
    assert client.get("/interview/iv-1").status_code == 404
    login(client)
    assert client.get("/results/iv-1").status_code == 200
    assert client.get("/interview/iv-1").status_code == 404


def test_favicon_is_served(client: TestClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")


@pytest.mark.parametrize("transport", [None, "relay", "webrtc", "auto"])
def test_the_room_is_told_the_transport_setting(
    make_client: MakeClient, transport: str | None
) -> None:
    client = make_client(**({"VIVAVOCE_TRANSPORT": transport} if transport else {}))
    token = issue_interview_token(runtime_of(client).secret_key, "interview-42")
    body = client.get(f"/i/{token}").text
    assert f'data-transport="{transport or "auto"}"' in body
