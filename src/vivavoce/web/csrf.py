"""Cross-site request forgery: is a cookie-authenticated change coming from our own pages?

``SameSite=Strict`` keeps other *sites* from using the operator's cookie, but a page on
another port or subdomain of the same site is the same site. So every state-changing
request that the cookie authenticates must also name one of the service's own origins in
``Origin`` (or, without one, ``Referer``):

- ``VIVAVOCE_PUBLIC_URL``'s origin and every ``VIVAVOCE_ALLOWED_ORIGINS`` entry, when set;
- otherwise the request's own host (``Host``) — the address the browser used.

Forms carry a CSRF token as well (``csrf_token``, an HMAC of the session, see
web/sessions.py). A request with ``Authorization: Bearer`` is not cookie-authenticated
and is not checked: a browser never adds that header on its own.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from vivavoce.config import Settings

__all__ = ["SAFE_METHODS", "own_origins", "request_origin", "same_origin"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lower-case, default ports dropped."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def own_origins(settings: Settings) -> set[str]:
    """The configured origins of this service (empty: none configured)."""
    found = {_origin_of(o) for o in settings.allowed_origins if o.strip() != "*"}
    if settings.public_url:
        found.add(_origin_of(settings.public_url))
    return {o for o in found if o}


def request_origin(connection: HTTPConnection) -> str | None:
    """Where the request says it comes from: ``Origin``, else ``Referer``'s origin. A
    ``null`` Origin (sandboxed frames, some redirects) counts as none."""
    origin = connection.headers.get("origin", "").strip()
    if origin and origin != "null":
        return _origin_of(origin)
    referer = connection.headers.get("referer", "").strip()
    return _origin_of(referer) if referer else None


def same_origin(connection: HTTPConnection, settings: Settings) -> bool:
    """Whether the request comes from one of the service's own origins."""
    origin = request_origin(connection)
    if origin is None:
        return False
    configured = own_origins(settings)
    if configured:
        return origin in configured
    # Nothing configured (development): the browser's own address for this request.
    # Only the host and port are compared: behind a proxy that is not trusted for
    # X-Forwarded-Proto the scheme the app sees may differ from the browser's.
    host = connection.headers.get("host", "").strip().lower()
    return bool(host) and urlsplit(origin).netloc == host
