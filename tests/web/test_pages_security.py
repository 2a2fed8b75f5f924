"""Unit tests of the page security helpers."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from vivavoce.web.pages_login import safe_next
from vivavoce.web.pages_security import content_security_policy, page_headers


def request_with_host(host: str) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"host", host.encode("latin-1"))],
    }
    return Request(scope)


@pytest.mark.parametrize("host", ["example.com", "127.0.0.1:8000", "[::1]:8080", "a-b.c.d"])
def test_websocket_origin_is_named(host: str) -> None:
    policy = content_security_policy(request_with_host(host))
    assert f"connect-src 'self' ws://{host} wss://{host}" in policy


@pytest.mark.parametrize(
    "host", ["evil.com; script-src *", "x y", "a.com'", "", "host:99999999"]
)
def test_a_strange_host_header_cannot_inject_directives(host: str) -> None:
    policy = content_security_policy(request_with_host(host))
    assert "connect-src 'self';" in policy
    assert "script-src 'self';" in policy and "*" not in policy


def test_page_headers_forbid_framing_and_referrers() -> None:
    headers = page_headers(request_with_host("example.com"))
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "/admin/interviews"),
        ("/admin/setup", "/admin/setup"),
        ("/admin/setup?refresh=1", "/admin/setup?refresh=1"),
        ("//evil.example", "/admin/interviews"),
        ("https://evil.example", "/admin/interviews"),
        ("/\\evil.example", "/admin/interviews"),
        ("/ok\r\nSet-Cookie: x", "/admin/interviews"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected
