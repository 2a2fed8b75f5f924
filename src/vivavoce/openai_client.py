"""The one place an ``AsyncOpenAI`` client is built from our settings.

The SDK fills anything not passed from the process environment (``OPENAI_API_KEY``,
``OPENAI_BASE_URL``, ``OPENAI_ORG_ID``, ``OPENAI_PROJECT_ID``). We pass or reset every
one of them so that the settings — with their recorded sources — are the whole truth:
what the doctor inspected is what gets sent. The key is never logged here.
"""

from __future__ import annotations

from openai import AsyncOpenAI

from vivavoce.config import Settings
from vivavoce.keys import inspect_key

__all__ = ["DEFAULT_BASE_URL", "MissingKeyError", "base_url_for", "make_async_client"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"


class MissingKeyError(ValueError):
    """No OpenAI key is configured (or nothing is left of it once normalised)."""


def base_url_for(settings: Settings, base_url: str | None = None) -> str:
    """The REST base URL: the argument, else OPENAI_BASE_URL, else OpenAI's."""
    chosen = base_url or (settings.openai_base_url or "").strip() or DEFAULT_BASE_URL
    return chosen.rstrip("/")


def make_async_client(
    settings: Settings,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float = 30.0,
    max_retries: int = 2,
) -> AsyncOpenAI:
    """An ``AsyncOpenAI`` client for ``settings``.

    ``api_key`` defaults to the configured key, normalised by :func:`inspect_key`
    (surrounding spaces, quotes, ``Bearer `` removed). ``base_url`` wins over
    OPENAI_BASE_URL (the simulator passes its own). Raises :class:`MissingKeyError`
    when there is no key at all.
    """
    if api_key is None:
        raw = (
            settings.openai_api_key.get_secret_value()
            if settings.openai_api_key is not None
            else None
        )
        api_key = inspect_key(raw).normalised
    if not api_key:
        raise MissingKeyError("No OpenAI key is configured (OPENAI_API_KEY).")
    client = AsyncOpenAI(
        api_key=api_key,
        base_url=base_url_for(settings, base_url),
        organization=(settings.openai_org_id or "").strip() or None,
        project=(settings.openai_project_id or "").strip() or None,
        timeout=timeout,
        max_retries=max_retries,
    )
    # None above means "read the environment" to the SDK; what the settings say wins.
    client.organization = (settings.openai_org_id or "").strip() or None
    client.project = (settings.openai_project_id or "").strip() or None
    return client
