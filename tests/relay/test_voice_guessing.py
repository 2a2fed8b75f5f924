"""Over real sockets: guessed interview links on /voice count against the address like
guessed /i/{token} pages (web/auth_guard.py, in the database). Past the free failures
the address waits, in the one refusal shape, before any token is looked at."""

from __future__ import annotations

from collections.abc import Callable

from tests.fixtures.app_server import RunningApp
from tests.relay.stored import link_interview
from tests.relay.voice_client import voice_client
from vivavoce.testing.scenarios import scenario_key

MakeApp = Callable[..., RunningApp]


async def _refusal(app: RunningApp, token: str) -> tuple[dict[str, object], int | None]:
    async with voice_client(app.voice_url(token), refused=True) as client:
        message = await client.until("error")
        return message, await client.until_closed()


async def test_guessed_links_on_voice_make_the_address_wait(make_app_server: MakeApp) -> None:
    app = make_app_server(api_key=scenario_key("ok", "guess"), VIVAVOCE_AUTH_FREE_FAILURES="2")
    _, token = await link_interview(app)
    forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")

    # The free failures are answered as before: not one of our links.
    for _ in range(2):
        error, code = await _refusal(app, forged)
        assert (error["code"], code) == ("token_invalid", 1008)
    # The next guess is counted past the free ones: the address must wait from now on.
    await _refusal(app, forged)
    error, code = await _refusal(app, forged)
    assert error["code"] == "too_many_attempts" and code == 1013
    assert error["fatal"] is True and error["retryable"] is True
    assert isinstance(error["retry_after_s"], int) and error["retry_after_s"] >= 1
    # While it waits, even a right link from that address is not looked at.
    error, code = await _refusal(app, token)
    assert error["code"] == "too_many_attempts" and code == 1013
    assert token not in str(error)


async def test_a_replaced_link_on_voice_is_not_a_guess(make_app_server: MakeApp) -> None:
    # The operator re-issued the link: the old one is signed by us (not guessed), and a
    # candidate trying it again must not make their classroom's address wait.
    import httpx

    from tests.web.security_helpers import ADMIN, rows

    app = make_app_server(api_key=scenario_key("ok", "replaced"), VIVAVOCE_AUTH_FREE_FAILURES="2")
    async with httpx.AsyncClient(base_url=app.server.http_url, headers=ADMIN) as api:
        made = (await api.post("/api/interviews", json={"candidate": {"name": "Ada"}})).json()
        reissued = await api.post(f"/api/interviews/{made['id']}/reissue")
        assert reissued.status_code == 200, reissued.text
    for _ in range(4):
        error, code = await _refusal(app, made["token"])
        assert error["code"] != "too_many_attempts" and code == 1008, error
    assert await rows(app, "SELECT subject FROM rate_counters WHERE kind = 'link'") == []
