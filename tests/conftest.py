"""Shared test set-up. Fixtures live in tests/fixtures/, one module per area."""

pytest_plugins = [
    "tests.fixtures.settings",
    "tests.fixtures.database",
    "tests.fixtures.fake_openai",
    "tests.fixtures.app_server",
]


def pytest_collection_modifyitems(config: object, items: list[object]) -> None:
    """Run the real-browser tests last.

    Playwright's sync API keeps an event loop marked as running on the main thread while
    the browser is open; asyncio-based tests collected after it would then fail to start
    their own loop. Keeping the browser tests at the end avoids that cross-talk.
    """
    import pytest

    def is_browser(item: object) -> bool:
        return isinstance(item, pytest.Item) and "tests/browser/" in item.nodeid

    items.sort(key=is_browser)
