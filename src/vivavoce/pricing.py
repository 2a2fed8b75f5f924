"""Token usage of Realtime responses and what it costs.

:class:`TokenUsage` reads the ``usage`` object of a ``response.done`` event. Two traps
(see OPENAI-FACTS.md): ``cached_tokens`` is a *part* of the input text/audio tokens, not
an extra amount, and ``reasoning_tokens`` is *not* part of ``output_tokens`` (text +
audio). Summing every detail field therefore counts tokens twice; we read each detail
once and bill reasoning tokens at the text-output price (OpenAI bills reasoning as
output text).

:class:`PriceTable` is the editable price list (``src/vivavoce/data/prices.yaml``, dated;
``VIVAVOCE_PRICES_FILE`` points at a replacement). Dated variants are priced like their
family (:func:`vivavoce.model_names.family_entry`, shared with the evaluation's prices).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from vivavoce.model_names import family_entry
from vivavoce.yaml_models import YamlFileError, load_yaml_model, read_yaml_text

__all__ = [
    "ModelPrices",
    "PriceFileError",
    "PriceTable",
    "TokenUsage",
    "default_price_table",
    "load_price_table",
]


def _int(value: Any) -> int:
    # Usage fields are ints in real sessions; anything else (None, missing, a string from
    # a proxy) counts as zero rather than failing the interview over bookkeeping.
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Tokens of one or more responses, split the way they are priced."""

    input_text: int = 0
    input_audio: int = 0
    input_cached_text: int = 0
    input_cached_audio: int = 0
    output_text: int = 0
    output_audio: int = 0

    @property
    def input_cached(self) -> int:
        return self.input_cached_text + self.input_cached_audio

    @property
    def total(self) -> int:
        return self.input_text + self.input_audio + self.output_text + self.output_audio

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input_text + other.input_text,
            self.input_audio + other.input_audio,
            self.input_cached_text + other.input_cached_text,
            self.input_cached_audio + other.input_cached_audio,
            self.output_text + other.output_text,
            self.output_audio + other.output_audio,
        )

    @classmethod
    def from_response_usage(cls, usage: Mapping[str, Any] | None) -> TokenUsage:
        """Read ``response.done``'s ``response.usage``. Never raises: a missing or odd
        field counts as zero."""
        if not isinstance(usage, Mapping):
            return cls()
        inp = usage.get("input_token_details")
        out = usage.get("output_token_details")
        inp = inp if isinstance(inp, Mapping) else {}
        out = out if isinstance(out, Mapping) else {}
        input_text = _int(inp.get("text_tokens"))
        input_audio = _int(inp.get("audio_tokens"))
        if not inp:
            # No breakdown at all (not seen from OpenAI, but proxies strip fields):
            # count the total as text rather than losing it.
            input_text = _int(usage.get("input_tokens"))
        cached = _int(inp.get("cached_tokens"))
        cached_details = inp.get("cached_tokens_details")
        if isinstance(cached_details, Mapping):
            cached_text = min(_int(cached_details.get("text_tokens")), input_text)
            cached_audio = min(_int(cached_details.get("audio_tokens")), input_audio)
        else:
            # Without the split, attribute the cached part to text first.
            cached_text = min(cached, input_text)
            cached_audio = min(cached - cached_text, input_audio)
        output_text = _int(out.get("text_tokens")) + _int(out.get("reasoning_tokens"))
        output_audio = _int(out.get("audio_tokens"))
        if not out:
            output_text = _int(usage.get("output_tokens"))
        return cls(input_text, input_audio, cached_text, cached_audio, output_text, output_audio)


class ModelPrices(BaseModel):
    """USD per ``per_tokens`` tokens for one model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text_input: float = Field(ge=0)
    text_cached_input: float = Field(ge=0)
    text_output: float = Field(ge=0)
    audio_input: float = Field(ge=0)
    audio_cached_input: float = Field(ge=0)
    audio_output: float = Field(ge=0)


class _PriceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: str = Field(min_length=4)
    currency: str = "USD"
    per_tokens: int = Field(default=1_000_000, gt=0)
    models: dict[str, ModelPrices] = Field(min_length=1)


class PriceFileError(YamlFileError):
    """The price file cannot be read or is not a valid price table (message says where:
    file, line, field)."""


@dataclass(frozen=True)
class PriceTable:
    as_of: str
    currency: str
    per_tokens: int
    models: Mapping[str, ModelPrices]
    source: str

    def prices_for(self, model: str) -> ModelPrices | None:
        """The entry for ``model``: exact, else its family's (see ``model_names``)."""
        entry = family_entry(model, self.models)
        return self.models[entry] if entry is not None else None

    def cost(self, model: str, usage: TokenUsage) -> float | None:
        """Cost in ``currency`` of ``usage`` on ``model`` (None when the model is unknown)."""
        prices = self.prices_for(model)
        if prices is None:
            return None
        amount = (
            (usage.input_text - usage.input_cached_text) * prices.text_input
            + usage.input_cached_text * prices.text_cached_input
            + (usage.input_audio - usage.input_cached_audio) * prices.audio_input
            + usage.input_cached_audio * prices.audio_cached_input
            + usage.output_text * prices.text_output
            + usage.output_audio * prices.audio_output
        )
        return amount / self.per_tokens


def _parse(text: str, source: str) -> PriceTable:
    parsed = load_yaml_model(_PriceFile, text, source=source, error=PriceFileError)
    return PriceTable(parsed.as_of, parsed.currency, parsed.per_tokens, parsed.models, source)


def load_price_table(path: Path | None = None) -> PriceTable:
    """The price table from ``path``, or the one shipped with vivavoce.

    Raises :class:`PriceFileError` when the file is missing, unreadable or invalid.
    """
    if path is None:
        return default_price_table()
    text = read_yaml_text(Path(path), what="price file", error=PriceFileError)
    return _parse(text, str(path))


@functools.cache
def default_price_table() -> PriceTable:
    """The table shipped in the package (read once)."""
    text = resources.files("vivavoce.data").joinpath("prices.yaml").read_text(encoding="utf-8")
    return _parse(text, "vivavoce/data/prices.yaml")
