"""Prometheus metrics: one registry, and one tiny function per thing worth counting.

The relay and the evaluation call the functions below (``interview_started()``,
``frames_relayed("to_openai", 1)``, …); nothing else in the code base touches
``prometheus_client``. ``/metrics`` (web/ops.py) renders :data:`REGISTRY` with
:func:`render`.

Why a private registry rather than prometheus_client's global one: the global registry
also carries process/platform collectors and anything a library registers, and tests that
build several apps in one process would collide on it. Ours holds only vivavoce's series.

Label values that come from outside (end reasons, upstream error codes, model names) are
cleaned and capped: an unexpected stream of distinct values would otherwise grow the
series without bound, which is the classic way to take a Prometheus server down. Past
:data:`MAX_LABEL_VALUES` distinct values per label, new ones are counted as ``other``.

Several worker processes (``vivavoce serve --workers N``): the parent sets
``PROMETHEUS_MULTIPROC_DIR`` before it starts them, so prometheus_client keeps every
worker's values in files there, and :func:`render` (and the parent's metrics port, through
:func:`multiprocess_registry`) adds them up: counters and histograms summed, the live
gauge summed over the workers alive (``livesum``; the parent removes a dead worker's
file). prometheus_client's ``Info`` does not work in that mode, so the build is a gauge.

All functions are cheap (a lock and an increment), never block and never do I/O, so they
are safe on the relay's hot path. Wrong arguments that can only be a programming error
(unknown direction or token kind, negative amounts) raise ``ValueError``.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Literal, get_args

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from vivavoce import __version__

__all__ = [
    "CONTENT_TYPE",
    "MAX_LABEL_VALUES",
    "REGISTRY",
    "Direction",
    "TokenKind",
    "ai_audio_dropped",
    "auth_failed",
    "connection_refused",
    "cost_added",
    "evaluation_finished",
    "frames_relayed",
    "interview_ended",
    "interview_started",
    "key_reload",
    "live_interviews",
    "multiprocess_registry",
    "port_unusable",
    "rate_limited",
    "render",
    "set_gc_frozen_objects",
    "time_to_start",
    "tokens_used",
    "upstream_error",
    "usage_recorded",
]

Direction = Literal["to_openai", "to_browser"]
TokenKind = Literal["input_text", "input_audio", "input_cached", "output_text", "output_audio"]
_DIRECTIONS: frozenset[str] = frozenset(get_args(Direction))
_TOKEN_KINDS: frozenset[str] = frozenset(get_args(TokenKind))

MAX_LABEL_VALUES = 50
_MAX_LABEL_LENGTH = 64
_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_.:\-]")

CONTENT_TYPE = CONTENT_TYPE_LATEST

# The "<name>_created" series (one timestamp per counter) double the output and nobody
# graphs them; vivavoce is the only user of prometheus_client in the process.
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry(auto_describe=True)

# Read once, as prometheus_client does when it is imported: set (by the parent of a
# worker group) = this process writes its values to files there, and renders everyone's.
_MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None

# Not an Info (it does not work across processes): the same series, as a gauge.
_build = Gauge("vivavoce_build_info", "The running vivavoce version.", ["version"],
               registry=REGISTRY, multiprocess_mode="max")
_build.labels(version=__version__).set(1)

_started = Counter(
    "vivavoce_interviews_started",
    "Interviews whose relay session began (a /voice session was accepted).",
    registry=REGISTRY,
)
_ended = Counter(
    "vivavoce_interviews_ended",
    "Interviews whose relay session ended, by reason (completed, time_limit, idle, "
    "disconnected, upstream_error, …).",
    ["reason"],
    registry=REGISTRY,
)
live_interviews = Gauge(
    "vivavoce_live_interviews",
    "Interviews being relayed by this instance right now (all its workers).",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
_time_to_start = Histogram(
    "vivavoce_time_to_interview_started_seconds",
    "From the browser's /voice connection to the interview_started message.",
    buckets=(0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 30.0, 60.0),
    registry=REGISTRY,
)
_upstream_errors = Counter(
    "vivavoce_upstream_errors",
    "Errors from OpenAI (or the simulator) during interviews, by error code.",
    ["code"],
    registry=REGISTRY,
)
_frames = Counter(
    "vivavoce_frames_relayed",
    "Audio frames relayed, by direction (to_openai, to_browser).",
    ["direction"],
    registry=REGISTRY,
)
_ai_audio_dropped = Counter(
    "vivavoce_ai_audio_dropped_seconds",
    "AI audio dropped for browsers too slow to take it in real time, in seconds.",
    registry=REGISTRY,
)
_evaluation_seconds = Histogram(
    "vivavoce_evaluation_duration_seconds",
    "How long an evaluation took, by outcome (ok, failed).",
    ["outcome"],
    buckets=(1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0),
    registry=REGISTRY,
)
_evaluations = Counter(
    "vivavoce_evaluations",
    "Evaluations finished, by outcome (ok, failed).",
    ["outcome"],
    registry=REGISTRY,
)
_tokens = Counter(
    "vivavoce_tokens",
    "Tokens used, by model and kind (input_text, input_audio, input_cached, output_text, "
    "output_audio).",
    ["model", "kind"],
    registry=REGISTRY,
)
_cost = Counter(
    "vivavoce_cost_usd",
    "Estimated cost in US dollars, by model (from the configured price table).",
    ["model"],
    registry=REGISTRY,
)
_key_reloads = Counter(
    "vivavoce_key_reloads",
    "OpenAI key reloads (SIGHUP or POST /api/admin/reload), by outcome (applied, refused).",
    ["outcome"],
    registry=REGISTRY,
)
_auth_failures = Counter(
    "vivavoce_auth_failures",
    "Failed credentials, by kind (admin: login form or Bearer; link: interview token).",
    ["kind"],
    registry=REGISTRY,
)
_rate_limited = Counter(
    "vivavoce_rate_limited",
    "Requests refused with 429, by what was limited (admin, link, resume_address, "
    "resume_interview).",
    ["limit"],
    registry=REGISTRY,
)
_connections_refused = Counter(
    "vivavoce_voice_connections_refused",
    "/voice connections refused or closed by the connection limits, by reason.",
    ["reason"],
    registry=REGISTRY,
)
_gc_frozen = Gauge(
    "vivavoce_gc_frozen_objects",
    "Start-up objects this process froze out of the garbage collector's scans "
    "(vivavoce.heap; 0: not a serving process).",
    registry=REGISTRY,
    multiprocess_mode="max",
)

_lock = threading.Lock()
_live = 0
_seen: dict[str, set[str]] = {}


# The gauge is set from a clamped count (not inc/dec), so it cannot drift below zero if
# an "ended" arrives without its "started" (e.g. a session torn down twice).
live_interviews.set(0)


def _label(family: str, value: str | None) -> str:
    """A safe, bounded label value for ``family`` (see the module docstring)."""
    cleaned = _LABEL_CHARS.sub("_", (value or "").strip())[:_MAX_LABEL_LENGTH] or "unknown"
    with _lock:
        seen = _seen.setdefault(family, set())
        if cleaned in seen:
            return cleaned
        if len(seen) >= MAX_LABEL_VALUES:
            return "other"
        seen.add(cleaned)
        return cleaned


def _non_negative(name: str, value: float) -> None:
    if value < 0:
        raise ValueError(f"{name} cannot be negative (got {value})")


def interview_started() -> None:
    """A relay session began. Pair every call with exactly one :func:`interview_ended`."""
    global _live
    with _lock:
        _live += 1
        live_interviews.set(_live)
    _started.inc()


def interview_ended(reason: str) -> None:
    """A relay session ended for ``reason`` (e.g. ``completed``, ``time_limit``)."""
    global _live
    with _lock:
        _live = max(0, _live - 1)
        live_interviews.set(_live)
    _ended.labels(reason=_label("reason", reason)).inc()


def time_to_start(seconds: float) -> None:
    """Seconds from the browser's connection to ``interview_started``. Raises ValueError if
    negative."""
    _non_negative("seconds", seconds)
    _time_to_start.observe(seconds)


def upstream_error(code: str | None) -> None:
    """An error event or failure from OpenAI; ``code`` as OpenAI named it (None = no code)."""
    _upstream_errors.labels(code=_label("code", code)).inc()


def frames_relayed(direction: Direction, n: int = 1) -> None:
    """``n`` audio frames passed through. Raises ValueError for an unknown direction or a
    negative ``n``."""
    if direction not in _DIRECTIONS:
        raise ValueError(f"direction must be one of {sorted(_DIRECTIONS)}, not {direction!r}")
    _non_negative("n", n)
    if n:
        _frames.labels(direction=direction).inc(n)


def ai_audio_dropped(seconds: float) -> None:
    """``seconds`` of AI audio were dropped for a browser too slow to take it. Raises
    ValueError for a negative amount."""
    _non_negative("seconds", seconds)
    if seconds:
        _ai_audio_dropped.inc(seconds)


def evaluation_finished(seconds: float, ok: bool) -> None:
    """An evaluation ended (``ok`` False = it failed) after ``seconds``. Raises ValueError
    if ``seconds`` is negative."""
    _non_negative("seconds", seconds)
    outcome = "ok" if ok else "failed"
    _evaluation_seconds.labels(outcome=outcome).observe(seconds)
    _evaluations.labels(outcome=outcome).inc()


def tokens_used(model: str | None, kind: TokenKind, n: int) -> None:
    """``n`` tokens of ``kind`` used with ``model``. Raises ValueError for an unknown kind or
    a negative ``n``."""
    if kind not in _TOKEN_KINDS:
        raise ValueError(f"kind must be one of {sorted(_TOKEN_KINDS)}, not {kind!r}")
    _non_negative("n", n)
    if n:
        _tokens.labels(model=_label("model", model), kind=kind).inc(n)


def cost_added(model: str | None, usd: float) -> None:
    """``usd`` of estimated cost for ``model``. Raises ValueError if negative."""
    _non_negative("usd", usd)
    if usd:
        _cost.labels(model=_label("model", model)).inc(usd)


def usage_recorded(
    model: str | None,
    *,
    input_text: int = 0,
    input_audio: int = 0,
    input_cached: int = 0,
    output_text: int = 0,
    output_audio: int = 0,
    cost_usd: float = 0.0,
) -> None:
    """Everything one ``add_usage`` stores, in one call (same keywords as
    ``vivavoce.store.interviews.add_usage``). Raises ValueError for negative amounts, before
    counting any of them."""
    amounts: dict[TokenKind, int] = {
        "input_text": input_text,
        "input_audio": input_audio,
        "input_cached": input_cached,
        "output_text": output_text,
        "output_audio": output_audio,
    }
    for kind, n in amounts.items():
        _non_negative(kind, n)
    _non_negative("cost_usd", cost_usd)
    for kind, n in amounts.items():
        tokens_used(model, kind, n)
    cost_added(model, cost_usd)


def set_gc_frozen_objects(n: int) -> None:
    """How many start-up objects :func:`vivavoce.heap.settle` froze."""
    _gc_frozen.set(n)


def key_reload(applied: bool) -> None:
    """A key reload was applied (True) or refused (False)."""
    _key_reloads.labels(outcome="applied" if applied else "refused").inc()


def auth_failed(kind: str) -> None:
    """A wrong credential of ``kind`` (``admin`` or ``link``)."""
    _auth_failures.labels(kind=_label("auth_kind", kind)).inc()


def rate_limited(limit: str) -> None:
    """A request refused with 429 by ``limit``."""
    _rate_limited.labels(limit=_label("limit", limit)).inc()


def connection_refused(reason: str) -> None:
    """A /voice connection refused (or closed) by the connection limits for ``reason``."""
    _connections_refused.labels(reason=_label("connection_reason", reason)).inc()

def port_unusable(exc: OSError, host: str, port: int) -> OSError:
    """The error for a ``VIVAVOCE_METRICS_PORT`` that cannot be listened on, saying what
    to do (the service refuses to start rather than run without its metrics)."""
    return OSError(exc.errno, f"VIVAVOCE_METRICS_PORT={port}: cannot listen on {host}:{port} "
                   f"({exc.strerror}); choose a free port or unset it")


def multiprocess_registry(directory: str) -> CollectorRegistry:
    """A registry that adds up, at each collection, the values every process of a worker
    group wrote to ``directory`` (what the parent's metrics port serves)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


def render() -> bytes:
    """The metrics in Prometheus' text exposition format (serve with :data:`CONTENT_TYPE`):
    this process's, or in a worker group every worker's together."""
    if _MULTIPROCESS_DIR is not None:
        return generate_latest(multiprocess_registry(_MULTIPROCESS_DIR))
    return generate_latest(REGISTRY)
