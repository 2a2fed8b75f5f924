"""The metric functions count what they say, in Prometheus' exposition format."""

from __future__ import annotations

import subprocess
import sys

import pytest
from prometheus_client.parser import text_string_to_metric_families

from vivavoce import metrics


def value(name: str, **labels: str) -> float:
    """The sample's current value (0 when it does not exist yet)."""
    found = metrics.REGISTRY.get_sample_value(name, labels)
    return 0.0 if found is None else found


def test_interview_lifecycle_moves_counters_and_live_gauge() -> None:
    started = value("vivavoce_interviews_started_total")
    live = value("vivavoce_live_interviews")
    ended = value("vivavoce_interviews_ended_total", reason="time_limit")
    metrics.interview_started()
    metrics.interview_started()
    assert value("vivavoce_live_interviews") == live + 2
    metrics.interview_ended("time_limit")
    assert value("vivavoce_live_interviews") == live + 1
    metrics.interview_ended("completed")
    assert value("vivavoce_interviews_started_total") == started + 2
    assert value("vivavoce_interviews_ended_total", reason="time_limit") == ended + 1
    assert value("vivavoce_live_interviews") == live


def test_live_gauge_never_goes_negative() -> None:
    while value("vivavoce_live_interviews") > 0:
        metrics.interview_ended("cleanup")
    metrics.interview_ended("completed")  # an end without a start
    assert value("vivavoce_live_interviews") == 0


def test_histograms_and_labelled_counters() -> None:
    count = value("vivavoce_time_to_interview_started_seconds_count")
    total = value("vivavoce_time_to_interview_started_seconds_sum")
    metrics.time_to_start(1.2)
    assert value("vivavoce_time_to_interview_started_seconds_count") == count + 1
    assert value("vivavoce_time_to_interview_started_seconds_sum") == pytest.approx(total + 1.2)

    failed = value("vivavoce_evaluations_total", outcome="failed")
    ok_count = value("vivavoce_evaluation_duration_seconds_count", outcome="ok")
    metrics.evaluation_finished(4.0, ok=False)
    metrics.evaluation_finished(2.5, ok=True)
    assert value("vivavoce_evaluations_total", outcome="failed") == failed + 1
    assert value("vivavoce_evaluation_duration_seconds_count", outcome="ok") == ok_count + 1

    errors = value("vivavoce_upstream_errors_total", code="rate_limit_exceeded")
    metrics.upstream_error("rate_limit_exceeded")
    assert value("vivavoce_upstream_errors_total", code="rate_limit_exceeded") == errors + 1
    unknown = value("vivavoce_upstream_errors_total", code="unknown")
    metrics.upstream_error(None)
    assert value("vivavoce_upstream_errors_total", code="unknown") == unknown + 1

    to_openai = value("vivavoce_frames_relayed_total", direction="to_openai")
    metrics.frames_relayed("to_openai", 3)
    metrics.frames_relayed("to_openai")
    metrics.frames_relayed("to_openai", 0)
    assert value("vivavoce_frames_relayed_total", direction="to_openai") == to_openai + 4

    dropped = value("vivavoce_ai_audio_dropped_seconds_total")
    metrics.ai_audio_dropped(1.5)
    metrics.ai_audio_dropped(0)
    assert value("vivavoce_ai_audio_dropped_seconds_total") == dropped + 1.5


def test_usage_by_model_and_kind() -> None:
    model = "gpt-realtime-metrics-test"
    metrics.usage_recorded(model, input_audio=100, output_audio=250, input_cached=7, cost_usd=0.02)
    metrics.tokens_used(model, "output_text", 5)
    metrics.cost_added(model, 0.01)
    assert value("vivavoce_tokens_total", model=model, kind="input_audio") == 100
    assert value("vivavoce_tokens_total", model=model, kind="output_audio") == 250
    assert value("vivavoce_tokens_total", model=model, kind="input_cached") == 7
    assert value("vivavoce_tokens_total", model=model, kind="output_text") == 5
    # Zero amounts do not create series.
    assert metrics.REGISTRY.get_sample_value(
        "vivavoce_tokens_total", {"model": model, "kind": "input_text"}
    ) is None
    assert value("vivavoce_cost_usd_total", model=model) == pytest.approx(0.03)


@pytest.mark.parametrize(
    "call",
    [
        lambda: metrics.frames_relayed("sideways", 1),  # type: ignore[arg-type]
        lambda: metrics.frames_relayed("to_browser", -1),
        lambda: metrics.ai_audio_dropped(-0.5),
        lambda: metrics.tokens_used("m", "audio", 1),  # type: ignore[arg-type]
        lambda: metrics.tokens_used("m", "input_text", -5),
        lambda: metrics.cost_added("m", -0.1),
        lambda: metrics.time_to_start(-1),
        lambda: metrics.evaluation_finished(-2, ok=True),
        lambda: metrics.usage_recorded("m", input_text=10, output_audio=-1),
    ],
)
def test_programming_errors_raise_value_error(call: object) -> None:
    with pytest.raises(ValueError):
        call()  # type: ignore[operator]


def test_negative_usage_counts_nothing() -> None:
    model = "gpt-realtime-atomic-test"
    with pytest.raises(ValueError):
        metrics.usage_recorded(model, input_text=10, output_audio=-1)
    assert value("vivavoce_tokens_total", model=model, kind="input_text") == 0


def test_outside_label_values_are_cleaned() -> None:
    metrics.upstream_error('bad code {"x"}\nnext')
    assert value("vivavoce_upstream_errors_total", code="bad_code___x___next") >= 1
    long_code = "c" * 500
    metrics.upstream_error(long_code)
    assert value("vivavoce_upstream_errors_total", code="c" * 64) >= 1


# The cap is process-wide state, so the flood runs in its own interpreter: in this one it
# would push every later test's reasons into "other".
_FLOOD = """
from prometheus_client.parser import text_string_to_metric_families
from vivavoce import metrics
metrics.interview_ended("completed")
for i in range(metrics.MAX_LABEL_VALUES + 10):
    metrics.interview_ended(f"flood_{i}")
metrics.interview_ended("completed")
for family in text_string_to_metric_families(metrics.render().decode()):
    if family.name == "vivavoce_interviews_ended":
        for sample in family.samples:
            print(sample.labels["reason"], int(sample.value))
"""


def test_a_flood_of_label_values_is_capped() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _FLOOD], capture_output=True, text=True, timeout=60, check=True
    )
    counts = dict(line.split() for line in result.stdout.splitlines())
    assert len(counts) == metrics.MAX_LABEL_VALUES + 1  # the first 50 values + "other"
    assert counts["completed"] == "2"  # values seen before the cap keep counting
    assert counts["other"] == "11"


def test_render_is_prometheus_text_with_every_family() -> None:
    text = metrics.render().decode()
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {
        "vivavoce_build_info",
        "vivavoce_interviews_started",
        "vivavoce_interviews_ended",
        "vivavoce_live_interviews",
        "vivavoce_time_to_interview_started_seconds",
        "vivavoce_upstream_errors",
        "vivavoce_frames_relayed",
        "vivavoce_ai_audio_dropped_seconds",
        "vivavoce_evaluation_duration_seconds",
        "vivavoce_evaluations",
        "vivavoce_tokens",
        "vivavoce_cost_usd",
        "vivavoce_key_reloads",
    } <= names
    assert metrics.CONTENT_TYPE.startswith("text/plain")
