"""vivavoce.heap: a serving process freezes its start-up objects out of the collector's
scans once its app has started; tests and embedders (the default) do not."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from vivavoce.config import load_settings
from vivavoce.heap import FULL_COLLECTION_AFTER
from vivavoce.web.app import build_runtime, create_app


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()  # the rest of this test process is collected as ever
    gc.set_threshold(*thresholds)


def _scanned(obj: object) -> bool:
    """Whether the collector's generations (not the permanent one) hold ``obj``."""
    return any(o is obj for o in gc.get_objects())


@pytest.mark.parametrize("serving", [True, False])
def test_a_serving_app_freezes_what_exists_after_start_up(
    serving: bool, unfrozen: None, tmp_path: Path
) -> None:
    settings = load_settings({"VIVAVOCE_DATA_DIR": str(tmp_path)}, env_file=None)
    runtime = build_runtime(settings)
    runtime.options.settle_heap = serving
    app = create_app(runtime=runtime)
    assert gc.get_freeze_count() == 0 and _scanned(app)
    with TestClient(app):
        if serving:
            # The app and everything else alive after start-up is frozen.
            assert gc.get_freeze_count() > 10_000
            assert not _scanned(app) and not _scanned(runtime)
            # What is made afterwards (an interview's objects) is scanned as ever.
            later: list[object] = []
            assert _scanned(later)
            # Full collections ten times further apart than CPython's default.
            assert gc.get_threshold()[2] == FULL_COLLECTION_AFTER == 100
        else:
            assert gc.get_freeze_count() == 0 and _scanned(app)
            assert gc.get_threshold()[2] == 10
