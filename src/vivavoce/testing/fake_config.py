"""What the fake OpenAI server does: scenarios, pacing, quirks and injected faults.

A :class:`FakeConfig` is held by the running fake and read on every request and
event, so a test can flip a field mid-session (e.g. start an outage).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vivavoce.testing.fake_records import RealtimeSessionRecord
from vivavoce.testing.realtime_items import ConversationView
from vivavoce.testing.scenarios import SCENARIOS

__all__ = ["FakeConfig", "SessionFaults"]


@dataclass(frozen=True)
class SessionFaults:
    """The faults of one Realtime session (:attr:`FakeConfig.session_faults`), counted in
    the session's server events (``session.created`` is the first): a soak gives each
    session its own, where the config's fields apply to every session at once."""

    drop_after_events: int | None = None
    """Abort the TCP connection, with no close frame, after this many server events."""
    stall_after_events: int | None = None
    """Stall (read, process and send nothing) for ``stall_s`` after this many events."""
    stall_s: float = 1.0
    error_after_events: int | None = None
    """Send one transient ``error`` event (``error_type``/``error_code``/``error_message``,
    OpenAI's server error by default) after this many events; the session goes on."""
    error_type: str = "server_error"
    error_code: str | None = "server_error"
    error_message: str = "The server had an error while processing your request."



@dataclass
class FakeConfig:
    """Behaviour of one fake OpenAI server. Every field may be changed at runtime."""

    # --- scenarios -------------------------------------------------------------------
    force_scenario: str | None = None
    """Play this scenario (see ``vivavoce.testing.scenarios``) whatever the key."""
    slow_delay_s: float = 2.0
    """Delay of every response in the ``slow`` scenario."""
    retry_after: str = "0.05"
    """``retry-after`` sent with 429 and 503 (small so SDK retries stay fast in tests)."""

    # --- the conversation ------------------------------------------------------------
    responder: Callable[[ConversationView], str] | None = None
    """What the assistant says next; default: a deterministic interviewer line."""
    transcripts: list[str] = field(default_factory=list)
    """Transcripts of the candidate's turns, used in order; then deterministic text."""
    audio_pace: float = 0.1
    """Reply audio is sent at this multiple of real time (0: no pacing; 1: real time)."""
    speech_ms_per_char: int = 60
    """How long the synthetic voice takes per character of the reply."""
    echo: bool = False
    """Every appended input chunk comes straight back as ``response.output_audio.delta``."""
    transcriber: Callable[[ConversationView], str] | None = None
    """What the candidate said in a turn with speech (called once per such turn, with the
    session's view before the turn); default: ``transcripts`` in order, then
    deterministic lines. A soak makes every answer unique with it."""
    wire_json: Callable[[dict[str, Any]], str] | None = None
    """How the session's server events are written on the socket; default: compact JSON
    in the fields' order, as OpenAI writes them. Tests pass other valid JSON (another key
    order, escapes, spacing) to check the client reads what any JSON writer produces."""
    late_transcription: bool = False
    """Quirk: the candidate's transcript completes after the reply's first audio."""
    idle_nudges: bool = True
    """Honour ``turn_detection.idle_timeout_ms``: commit an empty user item, then reply."""
    empty_previous_item_id_on_done: bool = False
    """Quirk: the assistant's ``conversation.item.done`` carries ``previous_item_id: ""``."""

    # --- WebRTC calls (POST /v1/realtime/calls) ----------------------------------------
    media_free_calls: bool = False
    """Answer calls without media (benchmarks): a valid SDP answer but no peer, no ICE;
    reply audio "plays" by the clock and a scripted candidate answers each reply."""
    candidate_pause_s: float = 2.0
    """Media-free mode: the scripted candidate's pause after a reply before answering."""

    # --- faults ----------------------------------------------------------------------
    close_after_events: int | None = None
    """Close the Realtime socket after this many server events."""
    close_after_s: float | None = None
    """Close the Realtime socket this many seconds after it opened."""
    close_code: int = 1011
    close_reason: str = "Internal server error"
    session_created_delay_s: float = 0.0
    """Extra delay before ``session.created``."""
    session_updated_delay_s: float = 0.0
    """Extra delay before each ``session.updated``."""
    error_after_events: int | None = None
    """Send one recoverable ``error`` event after this many server events."""
    injected_error_code: str = "server_error"
    injected_error_type: str = "server_error"
    injected_error_message: str = "The server had an error while processing your request."
    max_session_s: float = 3600.0
    """Sessions end with 1001 "Your session hit the maximum duration of 60 minutes.\""""

    # --- network faults (the socket itself; see testing/realtime_faults.py) ----------
    handshake_delay_s: float = 0.0
    """Answer every Realtime upgrade this late, whatever the key (``slow`` also delays
    REST); read live, so lowering it ends a delay under way."""
    drop_after_events: int | None = None
    """Abort the TCP connection, with no close frame, after this many server events."""
    drop_after_s: float | None = None
    """Abort the TCP connection this many seconds after it opened."""
    drops_left: int | None = None
    """How many more drops (either trigger) happen, counted down across sessions; None:
    every session drops. A recovery test drops once, then lets the new session live."""
    stall_after_events: int | None = None
    """Stall (read, process and send nothing) for ``stall_s`` after this many server events."""
    stall_after_s: float | None = None
    """Stall for ``stall_s`` this many seconds after the socket opened."""
    stall_s: float = 7.0
    """How long one stall lasts (once per session; lowering it ends a stall under way);
    the socket then carries on."""

    session_faults: Callable[[RealtimeSessionRecord], SessionFaults | None] | None = None
    """Faults of one session, on top of the fields above: called once per plain Realtime
    session when its first ``session.update`` arrives (the record then holds the
    session's configuration, e.g. its instructions, to tell interviews apart)."""

    def __setattr__(self, name: str, value: object) -> None:
        # Checked on every assignment (tests flip fields at runtime), so a typo fails
        # in the test that made it rather than as a 500 inside the fake.
        if name == "force_scenario" and value is not None and value not in SCENARIOS:
            raise ValueError(f"unknown fake OpenAI scenario {value!r}; known: {', '.join(SCENARIOS)}")
        if name == "audio_pace" and (not isinstance(value, int | float) or value < 0):
            raise ValueError(f"audio_pace must be a number >= 0, not {value!r}")
        super().__setattr__(name, value)
