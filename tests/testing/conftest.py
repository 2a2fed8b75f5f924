"""Fixtures for the fake OpenAI server's own tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from openai import AsyncOpenAI

from tests.fixtures.fake_openai import RunningFake
from tests.testing.realtime_helpers import client_for

SdkFactory = Callable[..., AsyncOpenAI]


@pytest.fixture
async def sdk(fake_openai: RunningFake) -> AsyncIterator[SdkFactory]:
    """``sdk(key, **kwargs)``: an SDK client on the fake, closed after the test."""
    made: list[AsyncOpenAI] = []

    def make(key: str, **kwargs: Any) -> AsyncOpenAI:
        client = client_for(fake_openai.base_url, key, **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()
