"""Can this server reach the API host at all? DNS, then TCP, then TLS.

A proxy or a firewall is not a key problem: these checks separate "cannot reach OpenAI"
(network_unreachable) from everything OpenAI itself answers. They take the host from
the base URL in use, so the fake server (plain ``http://``) gets DNS and TCP checked and
TLS reported as skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from vivavoce.diagnosis.report import Check

__all__ = ["ApiHost", "check_network", "parse_api_host"]

_STEP_TIMEOUT = 5.0


@dataclass(frozen=True)
class ApiHost:
    scheme: str
    host: str
    port: int

    @property
    def secure(self) -> bool:
        return self.scheme == "https"


def parse_api_host(base_url: str) -> ApiHost:
    """Host and port of a base URL. Raises ValueError when it is not an http(s) URL."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"OPENAI_BASE_URL {base_url!r} is not an http:// or https:// URL with a host."
        )
    try:
        port = parts.port
    except ValueError as exc:  # a port that is not a number
        raise ValueError(f"OPENAI_BASE_URL {base_url!r} has an invalid port.") from exc
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    elif port == 0:  # nothing listens on port 0; "or default" used to probe 80 instead
        raise ValueError(f"OPENAI_BASE_URL {base_url!r} has an invalid port.")
    return ApiHost(parts.scheme, parts.hostname, port)


def _proxy_for(api: ApiHost) -> str | None:
    # httpx (under the SDK) honours these; a direct probe would test the wrong path.
    names = ("HTTPS_PROXY", "https_proxy") if api.secure else ("HTTP_PROXY", "http_proxy")
    for name in (*names, "ALL_PROXY", "all_proxy"):
        value = os.environ.get(name)
        if value:
            no_proxy = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
            if api.host in {h.strip() for h in no_proxy.split(",")}:
                return None
            proxy = urlsplit(value)
            # Never show proxy credentials.
            return f"{proxy.scheme}://{proxy.hostname}:{proxy.port or ''}".rstrip(":")
    return None


def _tls_context() -> ssl.SSLContext:
    # The same trust store the SDK's HTTP client uses (certifi, or SSL_CERT_FILE), so a
    # pass here means the SDK will verify the certificate too.
    try:
        from httpx2 import create_ssl_context
    except ImportError:  # an SDK without httpx2: fall back to Python's default store
        return ssl.create_default_context()
    return create_ssl_context()


def _ms(start: float) -> int:
    return int((time.perf_counter() - start) * 1000)


def _describe_os_error(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {_STEP_TIMEOUT:.0f} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


async def check_network(base_url: str) -> list[Check]:
    """The ``dns``, ``tcp`` and ``tls`` checks, in order; a failure skips the rest.

    Never raises: every failure is a failed check pointing at ``network_unreachable``.
    """
    try:
        api = parse_api_host(base_url)
    except ValueError as exc:
        return [Check("dns", "fail", str(exc), cause="network_unreachable")]
    proxy = _proxy_for(api)
    if proxy is not None:
        skipped = f"requests go through the proxy {proxy}; checked by the API calls below"
        return [Check(name, "skip", skipped) for name in ("dns", "tcp", "tls")]

    checks: list[Check] = []
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(api.host, api.port, type=socket.SOCK_STREAM), _STEP_TIMEOUT
        )
    except (OSError, TimeoutError) as exc:
        checks.append(
            Check(
                "dns",
                "fail",
                f"cannot resolve {api.host}: {_describe_os_error(exc)}",
                _ms(start),
                "network_unreachable",
            )
        )
        checks.append(Check("tcp", "skip", "no address to connect to"))
        checks.append(Check("tls", "skip", "no connection"))
        return checks
    addresses = sorted({str(info[4][0]) for info in infos})
    checks.append(Check("dns", "pass", f"{api.host} → {', '.join(addresses[:4])}", _ms(start)))

    start = time.perf_counter()
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(api.host, api.port), _STEP_TIMEOUT
        )
    except (OSError, TimeoutError) as exc:
        checks.append(
            Check(
                "tcp",
                "fail",
                f"cannot connect to {api.host}:{api.port}: {_describe_os_error(exc)} "
                "(a firewall, a proxy that must be configured, or a wrong OPENAI_BASE_URL)",
                _ms(start),
                "network_unreachable",
            )
        )
        checks.append(Check("tls", "skip", "no connection"))
        return checks
    writer.close()
    await _quiet_wait_closed(writer)
    checks.append(Check("tcp", "pass", f"connected to {api.host}:{api.port}", _ms(start)))

    if not api.secure:
        checks.append(Check("tls", "skip", f"{api.scheme}:// base URL: no TLS to check"))
        return checks
    start = time.perf_counter()
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(
                api.host, api.port, ssl=_tls_context(), server_hostname=api.host
            ),
            _STEP_TIMEOUT,
        )
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        checks.append(
            Check(
                "tls",
                "fail",
                f"TLS with {api.host} failed: {_describe_os_error(exc)} (an intercepting "
                "proxy or a missing CA certificate)",
                _ms(start),
                "network_unreachable",
            )
        )
        return checks
    writer.close()
    await _quiet_wait_closed(writer)
    checks.append(Check("tls", "pass", f"certificate for {api.host} verified", _ms(start)))
    return checks


async def _quiet_wait_closed(writer: asyncio.StreamWriter) -> None:
    # Closing a probe connection: nothing worth reporting can go wrong here.
    with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
        await asyncio.wait_for(writer.wait_closed(), 2.0)
