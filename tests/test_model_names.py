"""vivavoce.model_names: the one rule both price tables use to price a model name."""

from __future__ import annotations

import pytest

from vivavoce.model_names import family_entry

ENTRIES = ["gpt-realtime", "gpt-realtime-2", "gpt-realtime-2.1", "gpt-realtime-2.1-mini", "gpt-4o"]


@pytest.mark.parametrize(
    ("model", "entry"),
    [
        ("gpt-realtime-2.1", "gpt-realtime-2.1"),  # exact
        ("gpt-realtime-2.1-mini-2026-09-01", "gpt-realtime-2.1-mini"),  # longest family
        ("gpt-realtime-2025-08-28", "gpt-realtime"),  # a dated snapshot
        ("gpt-realtime-2.5", "gpt-realtime"),  # "2" is not a family of "2.5"
        ("gpt-4o1", None),  # a family ends at a dash
        ("gpt-4o-mini", "gpt-4o"),
        ("whisper-1", None),
        ("", None),
    ],
)
def test_a_model_is_priced_by_its_own_entry_or_its_longest_family(
    model: str, entry: str | None
) -> None:
    assert family_entry(model, ENTRIES) == entry
    assert family_entry(model, reversed(ENTRIES)) == entry  # order does not matter
