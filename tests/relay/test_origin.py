"""Who may open /voice from a browser (exact origins; never wildcards)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from vivavoce.config import Settings
from vivavoce.web.voice import origin_allowed


@pytest.mark.parametrize(
    ("env", "origin", "host", "allowed"),
    [
        ({}, None, "app.local", True),  # not a browser
        ({}, "http://anything.example", "app.local", True),  # development, no list
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
