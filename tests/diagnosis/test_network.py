"""The doctor's DNS/TCP/TLS checks, directly."""

from __future__ import annotations

import socket

import pytest

from vivavoce.diagnosis.network import check_network, parse_api_host


def test_parse_api_host() -> None:
    api = parse_api_host("https://api.openai.com/v1")
    assert (api.scheme, api.host, api.port, api.secure) == ("https", "api.openai.com", 443, True)
    assert parse_api_host("http://127.0.0.1:8080/v1").port == 8080
    with pytest.raises(ValueError, match="not an http"):
        parse_api_host("api.openai.com/v1")
    with pytest.raises(ValueError, match="invalid port"):
        parse_api_host("https://api.openai.com:http/v1")
    with pytest.raises(ValueError, match="invalid port"):
        parse_api_host("http://127.0.0.1:99999/v1")
    # Port 0 is not "no port": it must not be probed as the scheme's default (80/443).
    with pytest.raises(ValueError, match="invalid port"):
        parse_api_host("http://127.0.0.1:0/v1")


async def test_proxy_means_no_direct_probe_and_no_credentials_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://user:proxy-password@proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    checks = await check_network("https://api.openai.com/v1")
    assert [(c.name, c.status) for c in checks] == [("dns", "skip"), ("tcp", "skip"), ("tls", "skip")]
    assert "proxy.internal:3128" in checks[0].detail
    assert "proxy-password" not in checks[0].detail and "user" not in checks[0].detail


async def test_unresolvable_host(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    checks = await check_network("https://no-such-host.invalid/v1")
    assert checks[0].name == "dns" and checks[0].status == "fail"
    assert checks[0].cause == "network_unreachable"
    assert [c.status for c in checks[1:]] == ["skip", "skip"]


async def test_closed_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    checks = await check_network(f"http://127.0.0.1:{port}/v1")
    assert [(c.name, c.status) for c in checks] == [("dns", "pass"), ("tcp", "fail"), ("tls", "skip")]
    assert "OPENAI_BASE_URL" in checks[1].detail
