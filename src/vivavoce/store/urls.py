"""Make libpq-style PostgreSQL URLs work with asyncpg.

Hosting platforms hand out URLs written for libpq (``?sslmode=require``,
``&channel_binding=require``, ``connect_timeout=10``). asyncpg takes other keyword names
and rejects unknown ones with a TypeError at the first connection, so the service would
fail to start on a URL that is perfectly valid for ``psql``.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.engine import URL

__all__ = ["asyncpg_url_and_options"]

log = logging.getLogger("vivavoce.store")

# libpq parameters asyncpg has no equivalent for; dropped (with a log line) rather than
# fatal, since the connection works without them.
_IGNORED = {"channel_binding", "target_session_attrs", "gssencmode", "keepalives",
            "keepalives_idle", "keepalives_interval", "keepalives_count"}


def asyncpg_url_and_options(url: URL) -> tuple[URL, dict[str, Any]]:
    """Move libpq query parameters into asyncpg ``connect_args``; returns the URL without
    them and the arguments. Raises ValueError for an unusable ``connect_timeout``."""
    query = dict(url.query)
    connect_args: dict[str, Any] = {}
    sslmode = query.pop("sslmode", None)
    if sslmode is not None and "ssl" not in query:
        # asyncpg accepts the libpq mode names for its ``ssl`` argument.
        connect_args["ssl"] = sslmode if isinstance(sslmode, str) else sslmode[-1]
    timeout = query.pop("connect_timeout", None)
    if timeout is not None:
        value = timeout if isinstance(timeout, str) else timeout[-1]
        try:
            connect_args["timeout"] = float(value)
        except ValueError:
            raise ValueError(f"connect_timeout must be a number of seconds, not {value!r}") from None
    application = query.pop("application_name", None)
    if application is not None:
        name = application if isinstance(application, str) else application[-1]
        connect_args["server_settings"] = {"application_name": name}
    dropped = sorted(k for k in query if k in _IGNORED)
    for key in dropped:
        query.pop(key)
    if dropped:
        log.info("DATABASE_URL: ignoring %s (not supported by asyncpg)", ", ".join(dropped))
    return url.set(query=query), connect_args
