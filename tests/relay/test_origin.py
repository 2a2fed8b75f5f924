"""Who may open /voice from a browser (exact origins; never wildcards)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vivavoce.config import Settings
from vivavoce.web.voice import origin_allowed

PRODUCTION = {"VIVAVOCE_ENV": "production"}
LISTED = {"VIVAVOCE_ALLOWED_ORIGINS": "https://a.example"}
PUBLIC = {"VIVAVOCE_ENV": "production", "VIVAVOCE_PUBLIC_URL": "https://jobs.example/app"}
INSECURE = {"VIVAVOCE_HOST": "0.0.0.0", "VIVAVOCE_ALLOW_INSECURE": "1"}


@pytest.mark.parametrize(
    ("env", "origin", "host"),
    [
        # Another host that merely starts or ends like an allowed one.
        (PRODUCTION, "https://app.example.evil.com", "app.example"),
        (PRODUCTION, "https://evilapp.example", "app.example"),
        (LISTED, "https://a.example.evil.com", "x"),
        (LISTED, "https://xa.example", "x"),
        (LISTED, "https://a.example.", "x"),
        (LISTED, "https://a.example@evil.com", "x"),
        (PUBLIC, "https://jobs.example.evil.com", "internal:8000"),
        # Same host, another port.
        (PRODUCTION, "https://app.example:8443", "app.example"),
        (LISTED, "https://a.example:8443", "x"),
        (PUBLIC, "https://jobs.example:444", "internal:8000"),
        # Same host, another scheme.
        (LISTED, "http://a.example", "x"),
        (LISTED, "wss://a.example", "x"),
        (PUBLIC, "http://jobs.example", "internal:8000"),
        (PRODUCTION, "http://app.example", "app.example"),  # the page's host, over http
        # Opaque origins (sandboxed frames, file: pages, some redirects).
        (PRODUCTION, "null", "app.example"),
        (LISTED, "null", "x"),
        (PUBLIC, "null", "internal:8000"),
    ],
)
def test_origin_look_alikes_are_refused(
    make_settings: Callable[..., Settings], env: dict[str, str], origin: str, host: str,
) -> None:
    assert origin_allowed(origin, host, make_settings(**env)) is False


@pytest.mark.parametrize(
    ("env", "origin", "host", "allowed"),
    [
        ({}, None, "app.local", True),  # not a browser
        # Development, no list: pages on this machine, not any website the developer
        # visits (a WebSocket has no CORS: it would start interviews on their key).
        ({}, "http://anything.example", "127.0.0.1:8000", False),
        ({}, "http://localhost:3000", "127.0.0.1:8000", True),
        ({}, "http://127.0.0.1:5173", "127.0.0.1:8000", True),
        ({}, "http://[::1]:8080", "[::1]:8000", True),
        ({}, "http://127.0.0.1:8000", "127.0.0.1:8000", True),  # its own page
        # Listening on loopback, a foreign name as the Host is a DNS-rebinding page.
        ({}, "http://rebound.example:8000", "rebound.example:8000", False),
        # Development reachable from elsewhere (VIVAVOCE_ALLOW_INSECURE): its own host too.
        (INSECURE, "http://192.0.2.5:8000", "192.0.2.5:8000", True),
        (INSECURE, "http://anything.example", "192.0.2.5:8000", False),
        (LISTED, "http://app.local:8000", "app.local:8000", True),  # development, own host
        ({"VIVAVOCE_ENV": "production"}, "https://evil.example", "app.example", False),
        ({"VIVAVOCE_ENV": "production"}, "https://app.example", "app.example", True),
        ({"VIVAVOCE_ALLOWED_ORIGINS": "https://a.example"}, "https://A.example/", "x", True),
        ({"VIVAVOCE_ALLOWED_ORIGINS": "https://a.example"}, "https://b.example", "x", False),
        ({"VIVAVOCE_ALLOWED_ORIGINS": "https://*.vercel.app"}, "https://x.vercel.app", "y",
         False),
        ({"VIVAVOCE_ENV": "production", "VIVAVOCE_PUBLIC_URL": "https://jobs.example/app"},
         "https://jobs.example", "internal:8000", True),
    ],
)
def test_origin_rules(
    make_settings: Callable[..., Settings], env: dict[str, str], origin: str | None,
    host: str, allowed: bool,
) -> None:
    assert origin_allowed(origin, host, make_settings(**env)) is allowed
