"""Shared test set-up. Fixtures live in tests/fixtures/, one module per area."""

pytest_plugins = [
    "tests.fixtures.settings",
    "tests.fixtures.database",
    "tests.fixtures.fake_openai",
    "tests.fixtures.app_server",
]
