"""What one evaluation call cost, from the token usage and the rubric's price table.

The relay's price table covers Realtime models only, so the text models used for the
evaluation are priced from the ``prices`` section of the rubric file (editable, dated).
"""

from __future__ import annotations

import logging

from vivavoce.evaluation.rubric import TextPriceTable
from vivavoce.model_names import family_entry

__all__ = ["evaluation_cost"]

log = logging.getLogger("vivavoce.evaluation")
_warned: set[str] = set()


def evaluation_cost(
    model: str, *, input_tokens: int, cached_tokens: int, output_tokens: int, prices: TextPriceTable
) -> float | None:
    """USD for one call, or None when the table has no price for ``model`` (logged once)."""
    key = family_entry(model, prices.models)
    if key is None:
        if model not in _warned:
            _warned.add(model)
            log.warning(
                "no price for evaluation model %r in the rubric's price table; its cost is "
                "recorded as 0 (add it under prices.models)", model
            )
        return None
    price = prices.models[key]
    cached = min(max(cached_tokens, 0), max(input_tokens, 0))
    uncached = max(input_tokens, 0) - cached
    usd = (
        uncached * price.input
        + cached * price.cached_input
        + max(output_tokens, 0) * price.output
    ) / 1_000_000
    return round(usd, 6)
