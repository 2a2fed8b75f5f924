"""Which failure the fake OpenAI server plays, chosen by the API key itself.

A test (or the doctor's end-to-end checks) picks a behaviour by building a key with
:func:`scenario_key`; the fake reads it back with :func:`scenario_for_key`. Keys are
always ``sk-test-…`` so nothing here ever looks like a real secret.

| scenario | REST (``/v1/models`` …) | Realtime WebSocket |
| --- | --- | --- |
| ``ok`` (and any unknown key) | works | works |
| ``invalid``, ``revoked`` | 401 ``invalid_api_key`` | opens, error event, close 3000 |
| ``deactivated`` | 401 ``account_deactivated`` | opens, error event, close 3000 |
| ``restricted`` | 401, code null, "insufficient permissions … model.request" | opens, error event, close 3000 |
| ``norealtime`` | works (client secrets: 403) | upgrade rejected: HTTP 403, JSON body |
| ``noquota`` | models work; generation 429 ``insufficient_quota`` | opens, error event, close 3000 |
| ``ratelimited`` | 429 ``rate_limit_exceeded`` + ``retry-after`` | works; ``response.create`` gets an error event |
| ``region`` | 403 ``unsupported_country_region_territory`` | opens, error event, close 3000 |
| ``orgmismatch`` | 401 ``mismatched_organization`` if ``OpenAI-Organization`` sent | same, in-band + 3000 |
| ``projmismatch`` | 401 ``mismatched_project`` if ``OpenAI-Project`` sent | same, in-band + 3000 |
| ``nomodel`` | models list has no realtime model; ``GET /v1/models/<realtime>`` 404 | error ``model_not_found``, close 3000 |
| ``outage`` | 503 ``server_error`` | accepted, then closed 1011 |
| ``slow`` | works after ``FakeConfig.slow_delay_s`` | works after the same delay |

Keys that are not ``sk-test-<scenario>-…`` behave as ``ok`` except ``sk-admin-…`` keys
(401 insufficient permissions on model endpoints, like OpenAI's admin keys) and
``ek_…`` secrets the fake did not issue (401 ``invalid_api_key``).
"""

from __future__ import annotations

import enum
import hashlib
import re

__all__ = [
    "SCENARIOS",
    "Scenario",
    "openai_masked_key",
    "scenario_for_key",
    "scenario_key",
]


class Scenario(enum.StrEnum):
    """Behaviours the fake can play; the value is the name used in keys."""

    OK = "ok"
    INVALID = "invalid"
    REVOKED = "revoked"
    DEACTIVATED = "deactivated"
    RESTRICTED = "restricted"
    NOREALTIME = "norealtime"
    NOQUOTA = "noquota"
    RATELIMITED = "ratelimited"
    REGION = "region"
    ORGMISMATCH = "orgmismatch"
    PROJMISMATCH = "projmismatch"
    NOMODEL = "nomodel"
    OUTAGE = "outage"
    SLOW = "slow"
    # Not selectable by a test key: what an ``sk-admin-`` key gets.
    ADMIN = "admin"


SCENARIOS: tuple[str, ...] = tuple(s.value for s in Scenario if s is not Scenario.ADMIN)

_KEY_RE = re.compile(r"^sk-test-([a-z]+)(?:-|$)")
# Long enough to look like a project key's tail, short enough to read in a test failure.
_PADDING_LENGTH = 40


def scenario_key(name: str, suffix: str = "") -> str:
    """Return a deterministic test key that selects scenario ``name``.

    ``suffix`` makes distinct keys for the same scenario (e.g. two environments).
    Raises ValueError for an unknown scenario name.
    """
    if name not in SCENARIOS:
        raise ValueError(f"unknown fake OpenAI scenario {name!r}; known: {', '.join(SCENARIOS)}")
    # Hex padding so the key is long, deterministic and still plainly a test key.
    padding = hashlib.sha256(f"{name}:{suffix}".encode()).hexdigest()[:_PADDING_LENGTH]
    return f"sk-test-{name}-{padding}"


def scenario_for_key(key: str | None, *, force: str | None = None) -> Scenario:
    """Map an API key (as sent in ``Authorization``) to the scenario it selects.

    ``force`` (from ``FakeConfig.force_scenario``) wins over the key. Raises ValueError
    if ``force`` names no scenario.
    """
    if force:
        return Scenario(force)
    if not key:
        return Scenario.OK
    if key.startswith("sk-admin-"):
        return Scenario.ADMIN
    match = _KEY_RE.match(key)
    if match and match.group(1) in SCENARIOS:
        return Scenario(match.group(1))
    return Scenario.OK


def openai_masked_key(key: str) -> str:
    """Mask ``key`` the way OpenAI's 401 message does: first 8, asterisks, last 4.

    The length is kept, as in the real message.
    """
    if len(key) <= 12:
        return key[:2] + "*" * max(len(key) - 2, 0)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]
