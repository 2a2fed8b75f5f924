"""make_async_client: the settings are the whole truth, and calls reach the fake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.fake_openai import RunningFake, running_fake
from tests.fixtures.settings import MakeSettings
from vivavoce.openai_client import DEFAULT_BASE_URL, MissingKeyError, make_async_client
from vivavoce.testing.scenarios import scenario_key


@pytest.fixture(scope="module")
def fake() -> Iterator[RunningFake]:
    yield from running_fake()


async def test_normalised_key_and_settings(
    make_settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK would read these from the process environment; ours must not.
    monkeypatch.setenv("OPENAI_ORG_ID", "org-from-shell")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_from_shell")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://shell.invalid/v1")
    key = scenario_key("ok", "client")
    client = make_async_client(make_settings(OPENAI_API_KEY=f' "{key}"\n'))
    try:
        assert client.api_key == key
        assert str(client.base_url).rstrip("/") == DEFAULT_BASE_URL
        assert client.organization is None and client.project is None
    finally:
        await client.close()


async def test_base_url_argument_wins(make_settings: MakeSettings) -> None:
    settings = make_settings(OPENAI_API_KEY=scenario_key("ok"), OPENAI_BASE_URL="http://a.invalid/v1/")
    client = make_async_client(settings)
    assert str(client.base_url) == "http://a.invalid/v1/"
    await client.close()
    client = make_async_client(settings, base_url="http://b.invalid/v1", api_key="sk-test-ok-x")
    assert str(client.base_url) == "http://b.invalid/v1/"
    assert client.api_key == "sk-test-ok-x"
    await client.close()


def test_no_key_is_a_clear_error(make_settings: MakeSettings) -> None:
    with pytest.raises(MissingKeyError, match="OPENAI_API_KEY"):
        make_async_client(make_settings())
    with pytest.raises(MissingKeyError):
        make_async_client(make_settings(OPENAI_API_KEY="  \n"))


async def test_calls_reach_the_fake_with_org_and_project(
    make_settings: MakeSettings, fake: RunningFake
) -> None:
    settings = make_settings(
        OPENAI_API_KEY=scenario_key("ok", "headers"),
        OPENAI_BASE_URL=fake.base_url,
        OPENAI_ORG_ID="org-mine",
        OPENAI_PROJECT_ID="proj_mine",
    )
    client = make_async_client(settings, max_retries=0)
    try:
        ids = [m.id async for m in client.models.list()]
    finally:
        await client.close()
    assert "gpt-realtime" in ids
    seen = fake.fake.requests[-1]
    assert (seen.organization, seen.project) == ("org-mine", "proj_mine")
    assert seen.key_fingerprint is not None
