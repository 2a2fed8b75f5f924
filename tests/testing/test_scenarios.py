"""The scenario table: keys select behaviours, and masks hide keys like OpenAI does."""

from __future__ import annotations

import pytest

from vivavoce.testing.scenarios import (
    SCENARIOS,
    Scenario,
    openai_masked_key,
    scenario_for_key,
    scenario_key,
)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_key_selects_its_scenario(name: str) -> None:
    key = scenario_key(name)
    assert key.startswith(f"sk-test-{name}-")
    assert scenario_for_key(key) is Scenario(name)


def test_keys_are_deterministic_and_suffix_makes_them_distinct() -> None:
    assert scenario_key("revoked") == scenario_key("revoked")
    assert scenario_key("revoked", "a") != scenario_key("revoked", "b")
    assert scenario_for_key(scenario_key("revoked", "a")) is Scenario.REVOKED


def test_unknown_scenario_name_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fake OpenAI scenario 'nope'"):
        scenario_key("nope")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("sk-test-ok-123", Scenario.OK),
        ("sk-test-whatever-123", Scenario.OK),
        ("sk-test-revoked", Scenario.REVOKED),
        ("sk-test-revokedx-1", Scenario.OK),
        ("sk-proj-test-revoked-1", Scenario.OK),
        ("sk-admin-abc", Scenario.ADMIN),
        ("", Scenario.OK),
        (None, Scenario.OK),
    ],
)
def test_keys_outside_the_table_work(key: str | None, expected: Scenario) -> None:
    assert scenario_for_key(key) is expected


def test_force_wins_over_the_key() -> None:
    assert scenario_for_key(scenario_key("ok"), force="outage") is Scenario.OUTAGE
    with pytest.raises(ValueError):
        scenario_for_key("sk-test-ok-1", force="bogus")


@pytest.mark.parametrize(
    ("key", "masked"),
    [
        ("sk-test-revoked-abcd1234wxyz", "sk-test-****************wxyz"),
        ("sk-proj-0123456789abcdefWXYZ", "sk-proj-****************WXYZ"),
        ("sk-short", "sk******"),
    ],
)
def test_openai_style_mask_keeps_length_and_ends(key: str, masked: str) -> None:
    assert openai_masked_key(key) == masked
    assert len(openai_masked_key(key)) == len(key)
