"""Unknown URLs: a page for a browser, the one JSON error for the API and for clients
that do not ask for HTML."""

from __future__ import annotations

from fastapi.testclient import TestClient

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_browser_gets_a_page_for_an_unknown_url(client: TestClient) -> None:
    response = client.get("/no/such/page", headers=BROWSER)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "We could not find that page" in response.text
    assert 'href="/"' in response.text
    # A page like the others: same headers (CSP), same banner and stylesheet.
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert 'id="mode-banner"' in response.text


def test_the_api_and_other_clients_get_the_json_error(client: TestClient) -> None:
    for path, headers in [
        ("/api/no-such-thing", BROWSER),  # the API answers JSON even to a browser
        ("/api/interviews/x/nothing", BROWSER),
        ("/no/such/page", {"Accept": "application/json"}),
        ("/no/such/page", {}),
        ("/static/js/missing.js", BROWSER),
    ]:
        response = client.get(path, headers=headers)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/json"), path
        body = response.json()
        assert body["error"]["code"] == "not_found", path
        assert set(body["error"]) == {"code", "message", "details"}

