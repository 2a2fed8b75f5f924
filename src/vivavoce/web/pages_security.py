"""Security headers for the server-rendered pages: a strict Content-Security-Policy.

The pages load only same-origin files (no inline script or style, no CDN), so the policy
can forbid everything else. It is built per request because ``connect-src`` must name the
WebSocket origin explicitly: CSP's ``'self'`` does not cover ``ws:``/``wss:`` in every
browser.
"""

from __future__ import annotations

import re

from starlette.requests import Request

__all__ = ["content_security_policy", "page_headers"]

# Host[:port] as it may appear in a Host header; anything else is left out of the policy
# (a forged Host header must not be able to inject directives).
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def content_security_policy(request: Request) -> str:
    """The policy for one page response. Never raises."""
    host = request.headers.get("host", "")
    sockets = f" ws://{host} wss://{host}" if _HOST.match(host) else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "media-src 'self' blob:",
            f"connect-src 'self'{sockets}",
            "worker-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def page_headers(request: Request) -> dict[str, str]:
    """Headers every HTML page carries. Never raises."""
    return {
        "Content-Security-Policy": content_security_policy(request),
        "X-Content-Type-Options": "nosniff",
        # Candidate links carry their token in the URL, so no other site may see it; our
        # own origin may (browsers then send a real Origin on same-origin POSTs, which the
        # CSRF check needs — under no-referrer they send "Origin: null").
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
        "Cache-Control": "no-store",
    }
