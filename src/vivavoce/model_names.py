"""Which price entry a model name falls under (the Realtime and the evaluation tables).

Dated snapshots and variants are priced like their family: ``gpt-5-mini-2025-08-07`` is
``gpt-5-mini``. An entry matches a name equal to it or starting with it followed by ``-``
(so ``gpt-4o`` does not price ``gpt-4o1``); of several, the longest wins
(``gpt-realtime-mini-…`` is ``gpt-realtime-mini``, not ``gpt-realtime``).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["family_entry"]


def family_entry(model: str, entries: Iterable[str]) -> str | None:
    """The entry of ``entries`` that prices ``model``, or None when none does."""
    names = list(entries)
    if model in names:
        return model
    families = [name for name in names if model.startswith(name + "-")]
    return max(families, key=len) if families else None
