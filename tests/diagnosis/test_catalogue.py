"""The cause catalogue: classification of OpenAI's errors, remedies per platform, hints."""

from __future__ import annotations

from typing import Any

import pytest

from vivavoce.diagnosis.catalogue import (
    CAUSES,
    classify_openai_error,
    fix_steps,
    hint_for,
    is_fatal_cause,
)

STABLE_IDS = {
    "key_missing",
    "key_malformed",
    "key_invalid",
    "key_wrong_type",
    "no_realtime_access",
    "insufficient_permissions",
    "org_project_mismatch",
    "account_deactivated",
    "quota_exhausted",
    "rate_limited",
    "model_unavailable",
    "region_unsupported",
    "network_unreachable",
    "openai_unavailable",
}


def test_ids_are_the_stable_contract() -> None:
    assert set(CAUSES) == STABLE_IDS
    for cause_id, cause in CAUSES.items():
        assert cause.id == cause_id
        assert cause.title and cause.explanation and cause.steps


# Rows of OPENAI-FACTS.md's REST table, then Realtime closes and upgrades.
CLASSIFY: list[tuple[dict[str, Any], str | None]] = [
    ({"status": 401, "error_type": "invalid_request_error", "code": "invalid_api_key",
          "message": "Incorrect API key provided: sk-proj-****abcd."}, "key_invalid"),
    ({"status": 401, "error_type": "invalid_request_error", "code": None,
          "message": "You didn't provide an API key. You need to provide your API key…"}, "key_missing"),
    ({"status": 401, "error_type": "invalid_request_error", "code": "account_deactivated",
          "message": "This key is associated with a deactivated account."}, "account_deactivated"),
    ({"status": 401, "error_type": "invalid_request_error", "code": None,
          "message": "You have insufficient permissions for this operation. Missing scopes: "
                  "model.request."}, "insufficient_permissions"),
    ({"status": 401, "error_type": "invalid_request_error", "code": "mismatched_organization",
          "message": "OpenAI-Organization header should match organization for API key"},
     "org_project_mismatch"),
    ({"status": 401, "error_type": "invalid_request_error", "code": "mismatched_project"},
     "org_project_mismatch"),
    ({"status": 429, "error_type": "insufficient_quota", "code": "insufficient_quota",
          "message": "You exceeded your current quota, please check your plan and billing details."},
     "quota_exhausted"),
    ({"status": 429, "error_type": "tokens", "code": "rate_limit_exceeded",
          "message": "Rate limit reached for gpt-realtime in organization org-x on tokens per min"},
     "rate_limited"),
    ({"status": 404, "error_type": "invalid_request_error", "code": "model_not_found",
          "message": "The model `gpt-4o-realtime-preview` does not exist or you do not have access to it."},
     "model_unavailable"),
    ({"status": 403, "error_type": "request_forbidden", "code": "unsupported_country_region_territory",
          "message": "Country, region, or territory not supported"}, "region_unsupported"),
    ({"status": 500, "error_type": "server_error"}, "openai_unavailable"),
    ({"status": 503}, "openai_unavailable"),
    ({"status": 401}, "key_invalid"),
    ({"status": 429}, "rate_limited"),
    # Realtime: the reason is "<type>.<code>".
    ({"close_code": 3000, "close_reason": "invalid_request_error.invalid_api_key", "phase": "realtime"},
     "key_invalid"),
    ({"close_code": 3000, "close_reason": "insufficient_quota.insufficient_quota", "phase": "realtime"},
     "quota_exhausted"),
    ({"close_code": 3000, "close_reason": "invalid_request_error.account_deactivated",
          "phase": "realtime"}, "account_deactivated"),
    ({"close_code": 1011, "close_reason": "Internal server error", "phase": "realtime"},
     "openai_unavailable"),
    ({"status": 403, "phase": "realtime_upgrade"}, "no_realtime_access"),
    ({"error_type": "invalid_request_error", "code": "model_not_available", "phase": "realtime",
      "message": "You do not have access to the Realtime API with model gpt-realtime."},
     "no_realtime_access"),
    ({"status": 403, "phase": "realtime_upgrade", "code": "unsupported_country_region_territory"},
     "region_unsupported"),
    ({"error_type": "invalid_request_error", "code": "permission_denied", "phase": "realtime"},
     "no_realtime_access"),
    ({"error_type": "invalid_request_error", "code": "model_not_found", "phase": "realtime"},
     "model_unavailable"),
    # Not an operator problem: our own request was wrong, or it was a normal close.
    ({"error_type": "invalid_request_error", "code": "beta_api_shape_disabled", "phase": "realtime"},
     None),
    ({"close_code": 1001, "close_reason": "Your session hit the maximum duration of 60 minutes.",
          "phase": "realtime"}, None),
    ({"status": 400, "error_type": "invalid_request_error", "code": "unknown_parameter"}, None),
    ({}, None),
]


@pytest.mark.parametrize(("fields", "expected"), CLASSIFY)
def test_classify_openai_error(fields: dict[str, Any], expected: str | None) -> None:
    assert classify_openai_error(**fields) == expected


@pytest.mark.parametrize("cause_id", sorted(STABLE_IDS))
def test_fix_steps_for_every_platform(cause_id: str) -> None:
    for platform in ("railway", "docker", "local"):
        steps = fix_steps(cause_id, platform)
        assert steps and all("{" not in step for step in steps)
        assert steps[-1] == "Run `vivavoce doctor` again to confirm."


def test_key_remedies_name_the_place_to_edit() -> None:
    railway = " ".join(fix_steps("key_invalid", "railway"))
    assert "Railway" in railway and "Variables" in railway and "redeploys" in railway
    docker = " ".join(fix_steps("key_invalid", "docker"))
    assert "recreate the container" in docker
    local = " ".join(fix_steps("key_invalid", "local"))
    assert ".env" in local and "restart" in local
    ids = " ".join(fix_steps("org_project_mismatch", "railway"))
    assert "OPENAI_ORG_ID" in ids and "Railway" in ids


def test_unavailable_points_at_status_page_not_the_key() -> None:
    steps = " ".join(fix_steps("openai_unavailable", "local"))
    assert "status.openai.com" in steps
    assert "OPENAI_API_KEY" not in steps


def test_hints_are_one_line() -> None:
    for cause_id in STABLE_IDS:
        for platform in ("railway", "docker", "local"):
            hint = hint_for(cause_id, platform)
            assert hint and "\n" not in hint and len(hint) < 200
    assert "Railway" in hint_for("key_invalid", "railway")
    with pytest.raises(KeyError):
        hint_for("no_such_cause", "local")


def test_fatal_causes() -> None:
    assert is_fatal_cause("key_invalid") and is_fatal_cause("quota_exhausted")
    assert not is_fatal_cause("rate_limited")
    assert not is_fatal_cause("openai_unavailable")
    assert is_fatal_cause("something_new")
