"""Production refuses to start on an unsafe configuration, with causes and fixes."""

from __future__ import annotations

import pytest

from tests.fixtures.settings import MakeSettings
from vivavoce.startup import check_can_start, production_problems

# A well-formed project key for the checks (never sent anywhere).
GOOD_KEY = "sk-test-startup-" + "a1B2c3D4" * 6
GOOD = {
    "VIVAVOCE_ENV": "production",
    "OPENAI_API_KEY": GOOD_KEY,
    "VIVAVOCE_SECRET_KEY": "startup-secret-key-0123456789abcdefXYZ",
    "VIVAVOCE_ADMIN_TOKEN": "startup-admin-token-0123456789ABCDEF",
    "VIVAVOCE_ALLOWED_ORIGINS": "https://interviews.example.com",
}


def ids(make_settings: MakeSettings, **env: str) -> list[str]:
    merged = {k: v for k, v in {**GOOD, **env}.items() if v != "<unset>"}
    return [p.id for p in production_problems(make_settings(**merged))]


def test_complete_production_settings_start(make_settings: MakeSettings) -> None:
    assert check_can_start(make_settings(**GOOD)) is None


def test_development_starts_with_nothing_configured(make_settings: MakeSettings) -> None:
    assert check_can_start(make_settings()) is None
    assert check_can_start(make_settings(VIVAVOCE_SIMULATOR="1")) is None


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OPENAI_API_KEY": "<unset>"}, ["key_missing"]),
        ({"OPENAI_API_KEY": "  "}, ["key_missing"]),
        ({"OPENAI_API_KEY": "sk-proj-abc def"}, ["key_malformed"]),
        ({"OPENAI_API_KEY": "sk-proj-****abcd"}, ["key_malformed"]),
        ({"OPENAI_API_KEY": "your-api-key-here"}, ["key_malformed"]),
        ({"OPENAI_API_KEY": "sk-admin-" + "x1" * 40}, ["key_wrong_type"]),
        ({"OPENAI_API_KEY": "org-abcdefghijklmnop"}, ["key_wrong_type"]),
        ({"VIVAVOCE_SECRET_KEY": "<unset>"}, ["secret_key_missing"]),
        ({"VIVAVOCE_SECRET_KEY": "short"}, ["secret_key_missing"]),
        ({"VIVAVOCE_ADMIN_TOKEN": "<unset>"}, ["admin_token_missing"]),
        ({"VIVAVOCE_ADMIN_TOKEN": "   "}, ["admin_token_missing"]),
        ({"VIVAVOCE_ALLOWED_ORIGINS": "<unset>"}, ["origins_missing"]),
        ({"VIVAVOCE_ALLOWED_ORIGINS": "*"}, ["origins_wildcard"]),
        ({"VIVAVOCE_ALLOWED_ORIGINS": "https://ok.example,example.com/path"}, ["origins_invalid"]),
        ({"VIVAVOCE_SIMULATOR": "1"}, ["simulator_in_production"]),
        (
            {"OPENAI_API_KEY": "<unset>", "VIVAVOCE_SECRET_KEY": "<unset>", "VIVAVOCE_SIMULATOR": "true"},
            ["simulator_in_production", "key_missing", "secret_key_missing"],
        ),
    ],
)
def test_each_problem_is_named(
    make_settings: MakeSettings, env: dict[str, str], expected: list[str]
) -> None:
    assert ids(make_settings, **env) == expected


def test_surrounding_whitespace_is_not_a_reason_to_refuse(make_settings: MakeSettings) -> None:
    # inspect_key fixes it safely (and the doctor warns); production may start.
    assert ids(make_settings, OPENAI_API_KEY=f'  "{GOOD_KEY}"\n') == []


def test_message_gives_cause_and_fix_for_the_platform_without_the_key(
    make_settings: MakeSettings,
) -> None:
    secret_part = "Zq9" * 20
    bad_key = f"sk-proj-{secret_part[:30]} {secret_part[30:]}"
    message = check_can_start(
        make_settings(
            **{**GOOD, "OPENAI_API_KEY": bad_key, "RAILWAY_ENVIRONMENT": "production"},
        )
    )
    assert message is not None
    assert "The key is not well formed [key_malformed]" in message
    assert "whitespace inside the key at character 39" in message
    assert "service → Variables" in message  # Railway's fix, not the .env one
    assert "Traceback" not in message
    assert secret_part[:8] not in message and secret_part[30:38] not in message


def test_railway_variables_alone_mean_production(make_settings: MakeSettings) -> None:
    settings = make_settings(RAILWAY_PROJECT_ID="p-123")
    message = check_can_start(settings)
    assert message is not None
    assert "on Railway" in message and "Railway's variables are present" in message
    for problem in ("key_missing", "secret_key_missing", "admin_token_missing", "origins_missing"):
        assert f"[{problem}]" in message
    # An explicit VIVAVOCE_ENV wins over Railway's variables.
    assert check_can_start(make_settings(RAILWAY_PROJECT_ID="p", VIVAVOCE_ENV="development")) is None


def test_every_problem_has_fix_steps(make_settings: MakeSettings) -> None:
    problems = production_problems(
        make_settings(VIVAVOCE_ENV="production", VIVAVOCE_SIMULATOR="1")
    )
    assert len(problems) == 5
    for problem in problems:
        assert problem.title and problem.explanation and problem.fix
