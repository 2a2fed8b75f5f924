"""Usage reading (no double counting) and the editable, dated price table."""

from __future__ import annotations

from pathlib import Path

import pytest

from vivavoce.pricing import (
    PriceFileError,
    TokenUsage,
    default_price_table,
    load_price_table,
)


def test_cached_is_part_of_input_and_reasoning_is_billed_once() -> None:
    usage = TokenUsage.from_response_usage({
        "total_tokens": 999, "input_tokens": 300, "output_tokens": 150,
        "input_token_details": {"text_tokens": 100, "audio_tokens": 200, "cached_tokens": 60},
        "output_token_details": {"text_tokens": 50, "audio_tokens": 100, "reasoning_tokens": 7},
    })
    # Without a cached split, the cached part is taken from text first.
    assert (usage.input_text, usage.input_audio, usage.input_cached_text,
            usage.input_cached_audio) == (100, 200, 60, 0)
    assert (usage.output_text, usage.output_audio) == (57, 100)
    assert usage.total == 457


@pytest.mark.parametrize("raw", [None, {}, {"input_tokens": "x"}, {"input_token_details": 3}])
def test_odd_usage_is_zero_not_a_crash(raw: object) -> None:
    assert TokenUsage.from_response_usage(raw).total == 0  # type: ignore[arg-type]


def test_no_breakdown_counts_totals_as_text() -> None:
    usage = TokenUsage.from_response_usage({"input_tokens": 10, "output_tokens": 5})
    assert (usage.input_text, usage.output_text) == (10, 5)


def test_shipped_table_is_dated_and_matches_model_families() -> None:
    table = default_price_table()
    assert table.as_of and table.currency == "USD"
    mini = table.prices_for("gpt-realtime-2.1-mini-2026-09-01")
    assert mini is not None and mini.audio_output == 20
    assert table.prices_for("gpt-realtime-2.1") is not None
    assert table.prices_for("gpt-realtime-2.1").text_output == 24  # type: ignore[union-attr]
    assert table.prices_for("whisper-1") is None
    assert table.cost("whisper-1", TokenUsage(input_text=5)) is None
    cost = table.cost("gpt-realtime", TokenUsage(output_audio=1_000_000))
    assert cost == pytest.approx(64.0)


def test_override_file_and_its_errors(tmp_path: Path) -> None:
    good = tmp_path / "prices.yaml"
    good.write_text(
        "as_of: '2027-01-01'\nmodels:\n  my-model:\n    text_input: 1\n    "
        "text_cached_input: 0.1\n    text_output: 2\n    audio_input: 3\n    "
        "audio_cached_input: 0.3\n    audio_output: 4\n", encoding="utf-8")
    table = load_price_table(good)
    assert table.as_of == "2027-01-01"
    assert table.cost("my-model", TokenUsage(input_audio=1_000_000)) == pytest.approx(3)

    with pytest.raises(PriceFileError, match="cannot read"):
        load_price_table(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("as_of: '2027'\nmodels:\n  m:\n    text_input: -1\n", encoding="utf-8")
    with pytest.raises(PriceFileError) as caught:
        load_price_table(bad)
    # The file, the line of the value at fault and the field.
    assert f"{bad} line 4: models.m.text_input: Input should be greater than or equal to 0" in str(caught.value)
    assert f"{bad} line 4: models.m.audio_output: Field required" in str(caught.value)
    broken = tmp_path / "broken.yaml"
    broken.write_text("models: [", encoding="utf-8")
    with pytest.raises(PriceFileError, match="not valid YAML"):
        load_price_table(broken)
