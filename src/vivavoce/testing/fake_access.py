"""Who may do what on the fake: the key, the scenario it selects, headers sent.

Pure decisions (no I/O): REST handlers and the Realtime socket handler ask here which
error, if any, OpenAI would answer for this key, endpoint and headers.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vivavoce.testing import fake_errors as errors
from vivavoce.testing.fake_config import FakeConfig
from vivavoce.testing.fake_errors import FakeError
from vivavoce.testing.scenarios import Scenario, scenario_for_key

__all__ = [
    "Endpoint",
    "IssuedSecret",
    "RealtimeAccess",
    "bearer_key",
    "realtime_access",
    "rest_access_error",
    "resolve_scenario",
]


class Endpoint(enum.StrEnum):
    """Kinds of REST endpoint, which scenarios treat differently."""

    MODELS = "models"  # listing/reading models: needs no credit
    GENERATE = "generate"  # anything that spends tokens (responses, client secrets)


@dataclass
class IssuedSecret:
    """An ``ek_…`` secret minted by ``POST /v1/realtime/client_secrets``."""

    scenario: Scenario
    expires_at: float
    session: dict[str, Any] = field(default_factory=dict)


def bearer_key(headers: Mapping[str, str]) -> str | None:
    """The token of ``Authorization: Bearer …``; None when none was sent."""
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def resolve_scenario(
    key: str, config: FakeConfig, secrets: Mapping[str, IssuedSecret], *, now: float | None = None
) -> Scenario | FakeError:
    """The scenario ``key`` plays, or the error for an unknown/expired ``ek_`` secret."""
    if key.startswith("ek_"):
        issued = secrets.get(key)
        if issued is None or issued.expires_at < (time.time() if now is None else now):
            return errors.invalid_api_key(key)
        return Scenario(config.force_scenario) if config.force_scenario else issued.scenario
    return scenario_for_key(key, force=config.force_scenario)


def _identity_error(scenario: Scenario, key: str, headers: Mapping[str, str]) -> FakeError | None:
    """Errors about the key itself, the same on every endpoint."""
    if scenario in (Scenario.INVALID, Scenario.REVOKED):
        return errors.invalid_api_key(key)
    if scenario is Scenario.DEACTIVATED:
        return errors.account_deactivated()
    if scenario is Scenario.RESTRICTED:
        return errors.restricted_key()
    if scenario is Scenario.ADMIN:
        return errors.admin_key_on_model_endpoint()
    if scenario is Scenario.ORGMISMATCH and headers.get("openai-organization"):
        return errors.mismatched_organization()
    if scenario is Scenario.PROJMISMATCH and headers.get("openai-project"):
        return errors.mismatched_project()
    if scenario is Scenario.REGION:
        return errors.unsupported_region()
    return None


def rest_access_error(
    key: str | None,
    headers: Mapping[str, str],
    endpoint: Endpoint,
    config: FakeConfig,
    secrets: Mapping[str, IssuedSecret],
    *,
    model: str = "gpt-realtime",
) -> FakeError | None:
    """The error OpenAI would answer this REST request with, or None to serve it."""
    if key is None:
        return errors.missing_api_key()
    scenario = resolve_scenario(key, config, secrets)
    if isinstance(scenario, FakeError):
        return scenario
    if key.startswith("ek_"):
        # Ephemeral secrets are only good for opening a Realtime session.
        return errors.invalid_api_key(key)
    found = _identity_error(scenario, key, headers)
    if found is not None:
        return found
    if scenario is Scenario.OUTAGE:
        return errors.server_error(config.retry_after)
    if scenario is Scenario.RATELIMITED:
        return errors.rate_limit_exceeded(model, config.retry_after)
    if endpoint is Endpoint.GENERATE and scenario is Scenario.NOQUOTA:
        return errors.insufficient_quota()
    return None


@dataclass(frozen=True)
class RealtimeAccess:
    """How the fake treats one Realtime connection attempt.

    Exactly one of: reject the upgrade (``reject``), accept and send an in-band error
    then close 3000 (``in_band``), accept then close 1011 (``outage``), or serve it.
    """

    scenario: Scenario | None
    reject: FakeError | None = None
    in_band: FakeError | None = None
    outage: bool = False


def realtime_access(
    key: str | None,
    headers: Mapping[str, str],
    model: str | None,
    config: FakeConfig,
    secrets: Mapping[str, IssuedSecret],
    known_model: bool,
) -> RealtimeAccess:
    """Decide how a Realtime upgrade with this key, headers and model goes."""
    if key is None:
        return RealtimeAccess(None, in_band=errors.missing_api_key())
    scenario = resolve_scenario(key, config, secrets)
    if isinstance(scenario, FakeError):
        return RealtimeAccess(None, in_band=scenario)
    found = _identity_error(scenario, key, headers)
    if found is not None:
        return RealtimeAccess(scenario, in_band=found)
    if scenario is Scenario.NOREALTIME:
        return RealtimeAccess(scenario, reject=errors.no_realtime_access(model or "gpt-realtime"))
    if scenario is Scenario.OUTAGE:
        return RealtimeAccess(scenario, outage=True)
    if scenario is Scenario.NOQUOTA:
        return RealtimeAccess(scenario, in_band=errors.insufficient_quota())
    if headers.get("openai-beta", "").lower().startswith("realtime"):
        return RealtimeAccess(scenario, in_band=errors.beta_api_shape_disabled())
    if not model:
        return RealtimeAccess(
            scenario,
            in_band=errors.invalid_request(
                "Missing required parameter: 'model'.", code="missing_required_parameter", param="model"
            ),
        )
    if scenario is Scenario.NOMODEL or not known_model:
        return RealtimeAccess(scenario, in_band=errors.model_not_found(model))
    return RealtimeAccess(scenario)
