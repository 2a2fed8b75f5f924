"""The interview as a state machine with no I/O.

Inputs are plain values: a browser message (text or audio bytes), a Realtime server
event (a dict, as parsed from the socket), the outcome of the adapter's work (interview
prepared, upstream opened or failed, a socket closed) and a clock tick. Every input
takes ``now`` (Unix seconds) and returns a list of :mod:`~vivavoce.interview.actions`
for the adapter to carry out in order. Nothing here awaits, sleeps or reads a clock.

Phases: ``idle`` (socket open, waiting for ``start_interview``) → ``connecting``
(interview prepared, Realtime socket opening) → ``configuring`` (``session.update``
sent, waiting for ``session.updated``) → ``live`` → ``ending`` (spoken wrap-up at the
time limit) → ``ended``. Candidate audio is never forwarded before ``live``; audio that
arrives while starting is kept (bounded) and sent once the session is configured.

A link's interview (``resumable``) outlives its connection: a browser drop leaves it as
it is in the store, and so does a failure with a cause in ``errors.RETRYABLE_CAUSES`` —
one the operator fixes in the configuration (the key, its account, the model…) or one
that passes by itself (OpenAI's outage, the network to it, a session not started in
time): the browser is told to come back later with the same link, and the store only
records why (:class:`~vivavoce.interview.actions.AttemptFailed`). Open interviews end
either way.

Events arrive as dicts rather than the SDK's pydantic models: audio deltas are most of
the traffic, and building a model per delta would cost more than the relay itself.
Handlers read only the fields they need, with ``.get`` so an odd event cannot crash an
interview.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from vivavoce.interview.actions import (
    Action,
    AddUsage,
    AppendAudio,
    AttemptFailed,
    ClearBrowserAudio,
    CloseBrowser,
    CloseUpstream,
    ConnectUpstream,
    EndInterview,
    Log,
    MarkLive,
    PersistTurn,
    PrepareInterview,
    SendAudio,
    SendJson,
    SendUpstream,
    TurnRecord,
    UpstreamError,
)
from vivavoce.interview.errors import (
    CANDIDATE_MESSAGES,
    CONFIGURATION_CAUSES,
    RETRYABLE_CAUSES,
    ErrorDescriber,
    ErrorVerdict,
    ProblemPhase,
    UpstreamProblem,
    browser_error,
)
from vivavoce.interview.transcript import Transcript
from vivavoce.pricing import TokenUsage

__all__ = [
    "BYTES_PER_MS",
    "REMOVED_REASON",
    "RESUME_INSTRUCTIONS",
    "SESSION_UPDATE_EVENT_ID",
    "WRAP_UP_INSTRUCTIONS",
    "InterviewSession",
    "Limits",
    "Phase",
]

# PCM16 mono at 24 kHz: 24 samples of 2 bytes per millisecond.
BYTES_PER_MS = 48

SESSION_UPDATE_EVENT_ID = "vivavoce_session_update"
# The interview_ended reason when the operator deleted the interview while it ran.
REMOVED_REASON = "removed_by_operator"
WRAP_UP_EVENT_ID = "vivavoce_wrap_up"

RESUME_INSTRUCTIONS = (
    "The connection dropped for a moment and the candidate has just reconnected. In one "
    "short sentence, welcome them back, then continue the interview where it stopped: "
    "repeat the last question if it was not answered, otherwise ask the next one."
)

WRAP_UP_INSTRUCTIONS = (
    "The time for this interview is up. In two or three short sentences, thank the "
    "candidate warmly by name if you know it, tell them the interview is now over and "
    "that they will receive feedback, and say goodbye. Do not ask another question."
)


class Phase(enum.StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    CONFIGURING = "configuring"
    LIVE = "live"
    ENDING = "ending"
    ENDED = "ended"


_STARTING = (Phase.CONNECTING, Phase.CONFIGURING)


@dataclass(frozen=True)
class Limits:
    """Bounds on one interview. Times in seconds."""

    max_duration_s: float = 1800.0
    idle_timeout_s: float = 300.0
    # From start_interview to session.updated (the upstream connect alone has 10 s).
    start_timeout_s: float = 25.0
    # After the wrap-up is asked for, end at the latest this much later.
    wrap_up_grace_s: float = 45.0
    # Candidate audio kept while the session is being configured (5 s).
    start_buffer_bytes: int = 5000 * BYTES_PER_MS
    # One browser audio frame: 2 s is far above the 4,096 samples the original sent.
    max_frame_bytes: int = 2000 * BYTES_PER_MS


@dataclass(slots=True)
class _Reply:
    """Audio bookkeeping for one interviewer item (barge-in needs every number here)."""

    item_id: str
    response_id: str | None = None
    offset_ms: float = 0.0  # where its audio starts in the stream sent to the browser
    sent_ms: float = 0.0  # audio forwarded to the browser
    received_ms: float = 0.0  # audio received from upstream (after a cut, not forwarded)
    first_at: float | None = None
    final_text: str | None = None
    partial_text: str = ""
    cut_at_ms: int | None = None  # set when the candidate barged in
    done: bool = False

    @property
    def text(self) -> str:
        return self.final_text if self.final_text is not None else self.partial_text


def _as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def spoken_part(text: str, played_ms: float, total_ms: float) -> str:
    """The words of ``text`` heard in ``played_ms`` of ``total_ms`` of speech.

    We only know the transcript of the whole item, so this approximates by proportion of
    audio played and ends at the end of a word. Never raises.
    """
    if total_ms <= 0 or played_ms >= total_ms:
        return text.strip()
    if played_ms <= 0:
        return ""
    cut = round(len(text) * played_ms / total_ms)
    # A word that had begun is counted as heard; one that starts at the cut is not.
    while 0 < cut < len(text) and not text[cut].isspace() and not text[cut - 1].isspace():
        cut += 1
    return text[:cut].strip()


class InterviewSession:
    """One interview's logic. Create one per browser connection.

    No input method raises for anything a peer sends: bad browser messages become
    ``error`` messages, odd upstream events are ignored field by field."""

    def __init__(
        self,
        *,
        model: str,
        describe_error: ErrorDescriber,
        limits: Limits | None = None,
        price: Callable[[TokenUsage], float | None] | None = None,
        browser_backlog_bytes: Callable[[], int] | None = None,
        simulator: bool = False,
        resumable: bool = False,
    ) -> None:
        self.model = model
        self.limits = limits or Limits()
        self._describe = describe_error
        self._price = price or (lambda _usage: None)
        # How much AI audio the adapter still holds for the browser (read at barge-in,
        # when that audio is dropped).
        self._backlog = browser_backlog_bytes or (lambda: 0)
        self.simulator = simulator
        # A token interview whose browser drops stays live in the store, so the candidate
        # can reconnect with the same link and carry on (see ``prepared(history=…)``).
        self.resumable = resumable
        self.resumed = False
        self._history: list[TurnRecord] = []
        self._client_items: set[str] = set()

        self.phase = Phase.IDLE
        self.interview_id: str | None = None
        self.start_requested_at: float | None = None
        self.live_at: float | None = None
        self.end_reason: str | None = None
        self._session_update: dict[str, Any] | None = None
        self._start_buffer: deque[tuple[str, int]] = deque()
        self._start_buffer_bytes = 0
        self.dropped_start_audio_bytes = 0

        self.transcript = Transcript()
        self._replies: dict[str, _Reply] = {}
        self._speech_started: dict[str, float] = {}
        self._active_response: str | None = None
        self._last_activity = 0.0

        # The stream of AI audio sent to the browser, in ms, and the estimated play head
        # in it: a player that plays in real time whenever it has audio.
        self._stream_ms = 0.0
        self._play_ms = 0.0
        self._play_at = 0.0
        self._browser_cursor_ms: float | None = None
        self._playing: _Reply | None = None

        self.usage = TokenUsage()
        self.cost_usd: float | None = None

        self._wrap_requested_at: float | None = None
        self._wrap_response: str | None = None
        self._end_at: float | None = None

        self._upstream_handlers: dict[str, Callable[[dict[str, Any], float], list[Action]]] = {
            "session.updated": self._on_session_updated,
            "error": self._on_error,
            "input_audio_buffer.speech_started": self._on_speech_started,
            "input_audio_buffer.speech_stopped": self._on_speech_stopped,
            "input_audio_buffer.committed": self._on_committed,
            "conversation.item.added": self._on_item_added,
            "conversation.item.created": self._on_item_added,
            "conversation.item.input_audio_transcription.delta": self._on_input_delta,
            "conversation.item.input_audio_transcription.completed": self._on_input_done,
            "conversation.item.input_audio_transcription.failed": self._on_input_failed,
            "response.created": self._on_response_created,
            "response.output_item.added": self._on_output_item_added,
            "response.output_audio.delta": self._on_audio_delta,
            "response.output_audio_transcript.delta": self._on_transcript_delta,
            "response.output_audio_transcript.done": self._on_transcript_done,
            "response.done": self._on_response_done,
        }

    # ------------------------------------------------------------------ browser input
    def connected(self, now: float) -> list[Action]:
        """The browser socket is open."""
        text = "Connected to vivavoce."
        if self.simulator:
            text += " This server runs the built-in simulator: the interviewer is not an AI."
        return [SendJson({"type": "connected", "message": text, "simulator": self.simulator})]

    def browser_text(self, text: str, now: float) -> list[Action]:
        """One JSON text message from the browser."""
        if self.phase is Phase.ENDED:
            return []
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            return [self._bad_message("The message is not valid JSON.")]
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return [self._bad_message('Each message must be a JSON object with a "type".')]
        kind = message["type"]
        if kind == "audio_chunk":
            return self._audio_chunk(message.get("audio"), now)
        if kind == "start_interview":
            return self._start(message.get("candidateContext"), now)
        if kind == "end_interview":
            return self._finish(
                "ended", "candidate_ended", None, now, message="The interview has ended. Thank you!"
            )
        if kind == "playback_position":
            return self._playback_position(message.get("ms"))
        if kind == "ping":
            return [SendJson({"type": "pong"})]
        return [self._bad_message(f"Unknown message type {kind[:40]!r}.", code="unknown_message")]

    def browser_audio(self, pcm: bytes, now: float) -> list[Action]:
        """One binary frame of candidate audio (PCM16 24 kHz mono)."""
        if self.phase in (Phase.IDLE, Phase.ENDING, Phase.ENDED) or not pcm:
            return []  # before the start or during the goodbye, audio has no listener
        if len(pcm) > self.limits.max_frame_bytes:
            return [self._frame_too_large(len(pcm))]
        if len(pcm) % 2:
            return [self._odd_audio(len(pcm))]
        return self._candidate_audio(base64.b64encode(pcm).decode("ascii"), len(pcm))

    def browser_closed(self, now: float) -> list[Action]:
        """The browser went away (closed, dropped, or was disconnected)."""
        if self.phase is Phase.ENDED:
            return []
        was_live = self.phase in (Phase.LIVE, Phase.ENDING)
        reason = "browser_disconnected" if was_live else "browser_disconnected_before_start"
        # A link's interview is not ended by a drop (unless it was saying goodbye): it
        # stays as it is in the store (created, or live) so the same link can start or
        # resume it.
        keep_live = self.resumable and self.phase is not Phase.ENDING
        return self._finish("ended", reason, None, now, notify=False, store_end=not keep_live)

    def local_failure(
        self, code: str, message: str, hint: str | None, now: float
    ) -> list[Action]:
        """Something on our side ends the interview (the browser cannot keep up, an
        internal error). ``message`` is for the candidate, ``hint`` for the operator."""
        if self.phase is Phase.ENDED:
            return []
        verdict = ErrorVerdict(code, None, True, message, hint)
        return self._fail(verdict, UpstreamProblem(phase="session", code=code), now)

    def removed(self, now: float) -> list[Action]:
        """The interview's record was deleted (by the operator) while this connection
        served it: end it, tell the browser, close upstream, and store nothing more (the
        adapter drops any store action from here on; none is asked for)."""
        if self.phase is Phase.ENDED:
            return []
        actions = self._finish(
            "ended", REMOVED_REASON, None, now, store_end=False,
            message="The organiser has removed this interview, so it has ended.")
        return [a for a in actions if not isinstance(a, PersistTurn)]

    # ------------------------------------------------------------- adapter outcomes
    def prepared(
        self,
        interview_id: str,
        session_update: dict[str, Any],
        now: float,
        *,
        history: list[TurnRecord] | None = None,
    ) -> list[Action]:
        """The interview exists and its ``session.update`` event is built. ``history``:
        the turns already stored when an interview resumes; they are given to the new
        Realtime session as conversation items and numbering continues after them."""
        if self.phase is not Phase.CONNECTING:
            return []
        self.interview_id = interview_id
        if history:
            self.resumed = True
            self._history = sorted(history, key=lambda t: t.sequence)
            self.transcript = Transcript(first_sequence=self._history[-1].sequence + 1)
        event = dict(session_update)
        event.setdefault("type", "session.update")
        event["event_id"] = SESSION_UPDATE_EVENT_ID
        self._session_update = event
        return [
            ConnectUpstream(),
            Log("info", "interview prepared; connecting to the Realtime API",
                {"model": self.model}),
        ]

    def prepare_failed(self, code: str, message: str, now: float, *, fatal: bool) -> list[Action]:
        """The interview could not be prepared (bad candidate context, not allowed…).
        Not fatal: back to ``idle`` so the client can send a corrected start."""
        if self.phase is not Phase.CONNECTING:
            return []
        error = {"type": "error", "code": code, "message": message, "hint": None,
                 "fatal": fatal, "cause": None, "details": None}
        if not fatal:
            self.phase = Phase.IDLE
            self.start_requested_at = None
            self._start_buffer.clear()
            self._start_buffer_bytes = 0
            return [SendJson(error)]
        return [SendJson(error), *self._finish("failed", code, code, now, message=message)]

    def upstream_opened(self, now: float) -> list[Action]:
        """The Realtime socket is open: configure the session."""
        if self.phase is not Phase.CONNECTING or self._session_update is None:
            return []
        self.phase = Phase.CONFIGURING
        return [SendUpstream(self._session_update)]

    def upstream_connect_failed(self, problem: UpstreamProblem, now: float) -> list[Action]:
        """The Realtime socket could not be opened (refused, timed out, HTTP error)."""
        if self.phase is not Phase.CONNECTING:
            return []
        verdict = self._describe(problem)
        return [self._upstream_error(problem, verdict), *self._fail(verdict, problem, now)]

    def upstream_closed(self, code: int | None, reason: str | None, now: float) -> list[Action]:
        """The Realtime socket closed (by the server, or under us)."""
        if self.phase is Phase.ENDED:
            return []
        if self.phase is Phase.ENDING:
            return self._finish("ended", "time_limit", None, now,
                                message="The interview time is up. Thank you!")
        if code == 1000:
            return self._finish("ended", "upstream_closed", None, now,
                                message="The interviewer ended the session. Thank you!")
        if code == 1001 and reason and "maximum duration" in reason:
            return self._finish("ended", "upstream_session_limit", None, now,
                                message="The interview reached its maximum length. Thank you!")
        phase: ProblemPhase = "session" if self.phase in (Phase.LIVE, Phase.ENDING) else "configure"
        problem = UpstreamProblem(phase=phase, close_code=code, close_reason=reason)
        if code == 3000 and reason and "." in reason:
            # The reason is always "<type>.<code>" for in-band failures.
            error_type, _, error_code = reason.partition(".")
            problem = UpstreamProblem(phase=phase, close_code=code, close_reason=reason,
                                      error_type=error_type, code=error_code)
        verdict = self._describe(problem)
        if not verdict.fatal:
            # A close is the end whatever the cause: keep the cause's words and code.
            verdict = ErrorVerdict(verdict.code, verdict.cause, True,
                                   CANDIDATE_MESSAGES["connection_lost"], verdict.hint)
        return [self._upstream_error(problem, verdict), *self._fail(verdict, problem, now)]

    def upstream_event(self, event: dict[str, Any], now: float) -> list[Action]:
        """One server event from the Realtime API."""
        if self.phase is Phase.ENDED or self.phase is Phase.IDLE:
            return []
        kind = event.get("type")
        handler = self._upstream_handlers.get(kind) if isinstance(kind, str) else None
        return handler(event, now) if handler is not None else []

    def tick(self, now: float) -> list[Action]:
        """Time passed: start timeout, duration limit and wrap-up, idle limit."""
        if self.phase in _STARTING:
            started = self.start_requested_at or now
            if now - started >= self.limits.start_timeout_s:
                return self._start_timed_out(now)
            return []
        if self.phase is Phase.LIVE and self.live_at is not None:
            if now - self.live_at >= self.limits.max_duration_s:
                return self._wrap_up(now)
            if self._ai_playing(now):
                self._last_activity = now
            elif now - self._last_activity >= self.limits.idle_timeout_s:
                return self._finish(
                    "ended", "idle_timeout", None, now,
                    message="The interview ended because nobody spoke for a while.",
                )
            return []
        if self.phase is Phase.ENDING:
            deadline = (self._wrap_requested_at or now) + self.limits.wrap_up_grace_s
            if (self._end_at is not None and now >= self._end_at) or now >= deadline:
                return self._finish("ended", "time_limit", None, now,
                                    message="The interview time is up. Thank you!")
        return []

    def _start_timed_out(self, now: float) -> list[Action]:
        """No ``session.updated`` within the start timeout. Named by the catalogue's cause
        (what the doctor calls it, and what a link's retry keys on): a Realtime socket
        that never opened is the network path to OpenAI, as a connect that times out; a
        socket OpenAI opened but did not configure is OpenAI's own trouble."""
        limit = f"{self.limits.start_timeout_s:.0f} s"
        if self.phase is Phase.CONNECTING:
            problem = UpstreamProblem(phase="connect", code="timeout")
            cause = "network_unreachable"
            hint = (f"The Realtime API did not answer within {limit}; check the network "
                    "path to OpenAI (vivavoce doctor).")
        else:
            problem = UpstreamProblem(phase="configure", code="timeout")
            cause = "openai_unavailable"
            hint = (f"OpenAI opened the Realtime session but did not configure it within "
                    f"{limit}; OpenAI may be having trouble (https://status.openai.com/).")
        verdict = ErrorVerdict("upstream_timeout", cause, True,
                               CANDIDATE_MESSAGES["timeout"], hint)
        return self._fail(verdict, problem, now)

    # --------------------------------------------------------------- browser helpers
    def _bad_message(self, text: str, *, code: str = "bad_message") -> SendJson:
        return SendJson({"type": "error", "code": code, "message": text, "hint": None,
                         "fatal": False, "cause": None, "details": None})

    def _frame_too_large(self, size: int) -> SendJson:
        return self._bad_message(
            f"Audio frames must be at most {self.limits.max_frame_bytes} bytes; "
            f"this one had {size}.", code="audio_frame_too_large")

    def _odd_audio(self, size: int) -> SendJson:
        # OpenAI joins appended audio byte by byte: half a sample would shift every later
        # sample by one byte and turn the rest of the candidate's speech into noise.
        return self._bad_message(
            f"Audio must be PCM16 (two bytes a sample); this frame had {size} bytes.",
            code="bad_audio")

    def _audio_chunk(self, audio: Any, now: float) -> list[Action]:
        if self.phase in (Phase.IDLE, Phase.ENDING, Phase.ENDED):
            return []
        if not isinstance(audio, str) or not audio:
            return [self._bad_message('"audio_chunk" needs "audio": base64 PCM16.',
                                      code="bad_audio")]
        # Decoded only to check it and count its length: the text itself goes upstream
        # as it came (the Realtime API wants base64 too).
        if len(audio) > (self.limits.max_frame_bytes * 4) // 3 + 4:
            return [self._frame_too_large(len(audio) * 3 // 4)]
        try:
            size = len(binascii.a2b_base64(audio, strict_mode=True))
        except (binascii.Error, ValueError):
            return [self._bad_message('"audio" is not valid base64.', code="bad_audio")]
        if size % 2:
            return [self._odd_audio(size)]
        return self._candidate_audio(audio, size)

    def _candidate_audio(self, audio_b64: str, size: int) -> list[Action]:
        if self.phase is Phase.LIVE:
            return [AppendAudio(audio_b64)]
        # Starting: keep the newest audio, bounded; the oldest goes first.
        self._start_buffer.append((audio_b64, size))
        self._start_buffer_bytes += size
        while self._start_buffer_bytes > self.limits.start_buffer_bytes and self._start_buffer:
            _, dropped = self._start_buffer.popleft()
            self._start_buffer_bytes -= dropped
            self.dropped_start_audio_bytes += dropped
        return []

    def _playback_position(self, ms: Any) -> list[Action]:
        if isinstance(ms, bool) or not isinstance(ms, int | float) or ms < 0 or ms != ms:
            return [self._bad_message('"playback_position" needs "ms": a number >= 0.')]
        # The play head cannot be past what was sent.
        self._browser_cursor_ms = min(float(ms), self._stream_ms)
        return []

    def _start(self, context: Any, now: float) -> list[Action]:
        if self.phase is not Phase.IDLE:
            return [self._bad_message("The interview has already started.",
                                      code="already_started")]
        if context is not None and not isinstance(context, dict):
            return [self._bad_message('"candidateContext" must be an object.',
                                      code="invalid_candidate_context")]
        self.phase = Phase.CONNECTING
        self.start_requested_at = now
        return [
            SendJson({"type": "interview_starting",
                      "message": "Starting the interview: connecting to the interviewer…"}),
            PrepareInterview(context),
        ]

    # ----------------------------------------------------------- upstream handlers
    def _on_session_updated(self, event: dict[str, Any], now: float) -> list[Action]:
        if self.phase is not Phase.CONFIGURING:
            return []  # later updates (none are sent today) change nothing here
        self.phase = Phase.LIVE
        self.live_at = now
        self._last_activity = now
        actions: list[Action] = self._seed_history()
        # The AI speaks first; the audio the candidate sent meanwhile follows it.
        if self.resumed:
            actions.append(SendUpstream({"type": "response.create",
                                         "response": {"instructions": RESUME_INSTRUCTIONS}}))
        else:
            actions.append(SendUpstream({"type": "response.create"}))
        actions.extend(AppendAudio(chunk) for chunk, _ in self._start_buffer)
        self._start_buffer.clear()
        self._start_buffer_bytes = 0
        message = "The interview has started."
        if self.simulator:
            message += " (Simulator: the interviewer is not an AI.)"
        actions += [
            MarkLive(now),
            SendJson({"type": "interview_started", "message": message,
                      "interview_id": self.interview_id, "simulator": self.simulator,
                      "resumed": self.resumed}),
            Log("info", "interview live", {"model": self.model}),
        ]
        return actions

    def _seed_history(self) -> list[Action]:
        """The stored turns as conversation items, in order, with ids of our own (their
        echoes, ``conversation.item.added``, are then recognised and not taken for new
        turns)."""
        actions: list[Action] = []
        previous = "root"
        for turn in self._history:
            item_id = f"vvhist_{turn.sequence}"  # unique within the new Realtime session
            self._client_items.add(item_id)
            user = turn.speaker == "candidate"
            part = {"type": "input_text" if user else "output_text", "text": turn.text}
            actions.append(SendUpstream({
                "type": "conversation.item.create",
                "previous_item_id": previous,
                "item": {"id": item_id, "type": "message",
                         "role": "user" if user else "assistant", "content": [part]},
            }))
            previous = item_id
        return actions

    def _on_error(self, event: dict[str, Any], now: float) -> list[Action]:
        error = event.get("error")
        error = error if isinstance(error, dict) else {}
        phase: ProblemPhase = "configure" if self.phase in _STARTING else "session"
        problem = UpstreamProblem(
            phase=phase,
            error_type=_as_str(error.get("type")),
            code=_as_str(error.get("code")),
            message=_as_str(error.get("message")),
            event_id=_as_str(event.get("event_id")),
        )
        verdict = self._describe(problem)
        if not verdict.fatal and error.get("event_id") == SESSION_UPDATE_EVENT_ID:
            # Our session configuration was refused: the interview cannot start right.
            verdict = ErrorVerdict(verdict.code, verdict.cause, True,
                                   CANDIDATE_MESSAGES["service_unavailable"],
                                   verdict.hint or "OpenAI refused the session configuration "
                                   "(model, voice or transcription model); see the log line.")
        if verdict.fatal:
            return [self._upstream_error(problem, verdict), *self._fail(verdict, problem, now)]
        return [
            self._upstream_error(problem, verdict),
            SendJson(browser_error(verdict)),
            Log("warning", "recoverable Realtime error",
                {"code": verdict.code, "cause": verdict.cause, "upstream_event_id":
                 problem.event_id, "client_event_id": _as_str(error.get("event_id")),
                 "detail": problem.message}),
        ]

    def _on_speech_started(self, event: dict[str, Any], now: float) -> list[Action]:
        if self.phase is not Phase.LIVE:
            return []
        self._last_activity = now
        item_id = _as_str(event.get("item_id"))
        if item_id is not None:
            self._speech_started[item_id] = now
        actions: list[Action] = [SendJson({"type": "student_speech_started"})]
        actions += self._barge_in(now)
        return actions

    def _on_speech_stopped(self, event: dict[str, Any], now: float) -> list[Action]:
        self._last_activity = now
        return []

    def _on_committed(self, event: dict[str, Any], now: float) -> list[Action]:
        item_id = _as_str(event.get("item_id"))
        if item_id is None:
            return []
        item = self.transcript.add(item_id, "candidate", _as_str(event.get("previous_item_id")))
        item.started_at = self._speech_started.pop(item_id, item.started_at or now)
        item.ended_at = now
        return []

    def _on_item_added(self, event: dict[str, Any], now: float) -> list[Action]:
        item = event.get("item")
        if not isinstance(item, dict) or item.get("type", "message") != "message":
            return []
        item_id = _as_str(item.get("id"))
        if item_id is None or item_id in self._client_items:
            return []  # the echo of an item we created (resumed history) is no new turn
        role = item.get("role")
        previous = _as_str(event.get("previous_item_id"))
        if role == "user":
            self.transcript.add(item_id, "candidate", previous)
        elif role == "assistant":
            self.transcript.add(item_id, "interviewer", previous)
            self._reply(item_id)
        return []

    def _on_input_delta(self, event: dict[str, Any], now: float) -> list[Action]:
        item_id = _as_str(event.get("item_id"))
        delta = event.get("delta")
        if item_id is None or not isinstance(delta, str) or not delta:
            return []
        item = self.transcript.add(item_id, "candidate")
        item.text += delta
        return [SendJson({"type": "student_transcription_delta", "item_id": item_id,
                          "text": delta})]

    def _on_input_done(self, event: dict[str, Any], now: float) -> list[Action]:
        item_id = _as_str(event.get("item_id"))
        if item_id is None:
            return []
        text = event.get("transcript")
        text = text.strip() if isinstance(text, str) else ""
        self.transcript.add(item_id, "candidate")
        self.transcript.resolve(item_id, text=text, ended_at=None)
        actions: list[Action] = []
        if text:  # an empty transcript is the server's idle nudge, not the candidate
            self._last_activity = now
            actions.append(SendJson({"type": "student_transcription", "text": text,
                                     "is_final": True, "item_id": item_id}))
        actions.extend(PersistTurn(t) for t in self.transcript.release())
        return actions

    def _on_input_failed(self, event: dict[str, Any], now: float) -> list[Action]:
        item_id = _as_str(event.get("item_id"))
        if item_id is None:
            return []
        item = self.transcript.add(item_id, "candidate")
        if item.text.strip():
            self.transcript.resolve(item_id, text=item.text, state="partial")
        else:
            self.transcript.skip(item_id)
        error = event.get("error")
        detail = error.get("message") if isinstance(error, dict) else None
        actions: list[Action] = [Log("warning", "candidate transcription failed",
                                     {"item_id": item_id, "detail": detail})]
        actions.extend(PersistTurn(t) for t in self.transcript.release())
        return actions

    def _on_response_created(self, event: dict[str, Any], now: float) -> list[Action]:
        response = event.get("response")
        response_id = _as_str(response.get("id")) if isinstance(response, dict) else None
        self._active_response = response_id
        if self._wrap_requested_at is not None and self._wrap_response is None:
            self._wrap_response = response_id
        return []

    def _on_output_item_added(self, event: dict[str, Any], now: float) -> list[Action]:
        item = event.get("item")
        if not isinstance(item, dict) or item.get("type", "message") != "message":
            return []
        item_id = _as_str(item.get("id"))
        if item_id is None or item.get("role", "assistant") != "assistant":
            return []
        self.transcript.add(item_id, "interviewer")
        reply = self._reply(item_id)
        reply.response_id = _as_str(event.get("response_id")) or reply.response_id
        return []

    def _reply(self, item_id: str) -> _Reply:
        reply = self._replies.get(item_id)
        if reply is None:
            reply = self._replies[item_id] = _Reply(item_id)
            self.transcript.add(item_id, "interviewer")
        return reply

    def _on_audio_delta(self, event: dict[str, Any], now: float) -> list[Action]:
        # The hot path: one call per audio chunk. No logging, no copies beyond the decode.
        item_id = event.get("item_id")
        delta = event.get("delta")
        if not isinstance(item_id, str) or not isinstance(delta, str):
            return []
        reply = self._replies.get(item_id) or self._reply(item_id)
        try:
            pcm = binascii.a2b_base64(delta)
        except binascii.Error:
            return []
        ms = len(pcm) / BYTES_PER_MS
        reply.received_ms += ms
        if reply.cut_at_ms is not None or self.phase is Phase.ENDED:
            return []  # cut short by the candidate: the rest was never to be heard
        if reply.first_at is None:
            reply.first_at = now
            reply.offset_ms = self._stream_ms
            item = self.transcript.get(item_id)
            if item is not None and item.started_at is None:
                item.started_at = now
        self._advance_play_head(now)
        reply.sent_ms += ms
        self._stream_ms += ms
        self._playing = reply
        return [SendAudio(pcm)]

    def _on_transcript_delta(self, event: dict[str, Any], now: float) -> list[Action]:
        item_id = _as_str(event.get("item_id"))
        delta = event.get("delta")
        if item_id is None or not isinstance(delta, str) or not delta:
            return []
        reply = self._reply(item_id)
        reply.partial_text += delta
        item = self.transcript.get(item_id)
        if item is not None and not item.resolved:
            item.text = reply.partial_text
        if reply.cut_at_ms is not None:
            return []  # words after the cut were not spoken
        return [SendJson({"type": "ai_transcription", "text": delta, "is_final": False,
                          "item_id": item_id})]

    def _on_transcript_done(self, event: dict[str, Any], now: float) -> list[Action]:
        item_id = _as_str(event.get("item_id"))
        transcript = event.get("transcript")
        if item_id is None or not isinstance(transcript, str):
            return []
        reply = self._reply(item_id)
        reply.final_text = transcript
        text = transcript
        if reply.cut_at_ms is not None:
            text = spoken_part(transcript, reply.cut_at_ms, reply.received_ms)
        return [SendJson({"type": "ai_transcription", "text": text, "is_final": True,
                          "item_id": item_id})]

    def _on_response_done(self, event: dict[str, Any], now: float) -> list[Action]:
        response = event.get("response")
        response = response if isinstance(response, dict) else {}
        response_id = _as_str(response.get("id"))
        if response_id is not None and response_id == self._active_response:
            self._active_response = None
        actions: list[Action] = []

        usage = TokenUsage.from_response_usage(response.get("usage"))
        if usage.total:
            cost = self._price(usage)
            self.usage = self.usage + usage
            if cost is not None:
                self.cost_usd = (self.cost_usd or 0.0) + cost
            actions.append(AddUsage(usage, cost))
            actions.append(SendJson(self._usage_message()))

        # Per-item finals come from the transcript events; response.done repeats them,
        # so its copy is used only for an item that never got its own final.
        output = response.get("output")
        for out_item in output if isinstance(output, list) else []:
            if not isinstance(out_item, dict) or out_item.get("type", "message") != "message":
                continue
            item_id = _as_str(out_item.get("id"))
            if item_id is None or out_item.get("role", "assistant") != "assistant":
                continue
            reply = self._reply(item_id)
            reply.response_id = reply.response_id or response_id
            if reply.final_text is None:
                repeated = _transcript_of(out_item)
                if repeated is not None:
                    reply.final_text = repeated
        for reply in self._replies.values():
            if not reply.done and (reply.response_id == response_id or response_id is None
                                   or reply.response_id is None):
                reply.done = True
                self._resolve_reply(reply, now)
        actions.extend(PersistTurn(t) for t in self.transcript.release())

        status = response.get("status")
        if status == "failed":
            actions += self._response_failed(response, now)
        if response_id is not None and response_id == self._wrap_response:
            self._advance_play_head(now)
            remaining_ms = max(0.0, self._stream_ms - self._play_ms)
            self._end_at = now + remaining_ms / 1000 + 0.5
        self._last_activity = now
        return actions

    def _response_failed(self, response: dict[str, Any], now: float) -> list[Action]:
        # Quota and similar problems arrive as a failed response, not an error event.
        details = response.get("status_details")
        error = details.get("error") if isinstance(details, dict) else None
        if not isinstance(error, dict):
            return []
        problem = UpstreamProblem(phase="session", error_type=_as_str(error.get("type")),
                                  code=_as_str(error.get("code")),
                                  message=_as_str(error.get("message")))
        verdict = self._describe(problem)
        if verdict.fatal:
            return [self._upstream_error(problem, verdict), *self._fail(verdict, problem, now)]
        return [self._upstream_error(problem, verdict), SendJson(browser_error(verdict)),
                Log("warning", "a Realtime response failed",
                    {"code": verdict.code, "cause": verdict.cause, "detail": problem.message})]

    def _resolve_reply(self, reply: _Reply, now: float) -> None:
        if reply.cut_at_ms is not None:
            text = spoken_part(reply.text, reply.cut_at_ms, reply.received_ms)
            self.transcript.resolve(reply.item_id, text=text, state="interrupted",
                                    ended_at=now, audio_ms=reply.cut_at_ms,
                                    full_text=reply.text)
        else:
            self.transcript.resolve(reply.item_id, text=reply.text, state="complete",
                                    ended_at=now, audio_ms=round(reply.sent_ms))

    def _usage_message(self) -> dict[str, Any]:
        u = self.usage
        return {
            "type": "usage",
            "input_text_tokens": u.input_text,
            "input_audio_tokens": u.input_audio,
            "input_cached_tokens": u.input_cached,
            "output_text_tokens": u.output_text,
            "output_audio_tokens": u.output_audio,
            "total_tokens": u.total,
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
        }

    # ------------------------------------------------------------------- barge-in
    def _advance_play_head(self, now: float) -> None:
        if self._play_at:
            self._play_ms = min(self._stream_ms, self._play_ms + (now - self._play_at) * 1000)
        self._play_at = now

    def _ai_playing(self, now: float) -> bool:
        self._advance_play_head(now)
        return self._active_response is not None or self._play_ms < self._stream_ms

    def _barge_in(self, now: float) -> list[Action]:
        """The candidate started speaking: stop the browser's playback and cut the
        interviewer's item at what was actually heard."""
        self._advance_play_head(now)
        backlog_ms = max(0, self._backlog()) / BYTES_PER_MS
        # Audio still queued in the adapter is dropped, so it never reached the browser.
        delivered_ms = max(0.0, self._stream_ms - backlog_ms)
        heard_ms = self._play_ms if self._browser_cursor_ms is None else self._browser_cursor_ms
        heard_ms = min(heard_ms, delivered_ms)
        actions: list[Action] = [ClearBrowserAudio(),
                                 SendJson({"type": "ai_audio_clear"})]
        reply = self._playing
        if reply is not None and reply.cut_at_ms is None and reply.first_at is not None:
            in_item = heard_ms - reply.offset_ms
            # Never past the audio we sent (or the item's length): the bug that makes the
            # model believe it said words the candidate never heard.
            cut = int(max(0.0, min(in_item, reply.sent_ms, reply.received_ms)))
            fully_heard = reply.done and in_item >= reply.sent_ms
            if not fully_heard:
                reply.cut_at_ms = cut
                actions.append(SendUpstream({
                    "type": "conversation.item.truncate",
                    "item_id": reply.item_id,
                    "content_index": 0,
                    "audio_end_ms": cut,
                }))
                if reply.done:
                    text = spoken_part(reply.text, cut, reply.received_ms)
                    record = self.transcript.amend(reply.item_id, text=text,
                                                   state="interrupted", audio_ms=cut,
                                                   full_text=reply.text)
                    if record is not None:
                        actions.append(PersistTurn(record))
        # The browser's stream now ends at what it received; its play head jumps there.
        self._stream_ms = delivered_ms
        self._play_ms = delivered_ms
        self._browser_cursor_ms = None
        return actions

    # ------------------------------------------------------------- limits and end
    def _wrap_up(self, now: float) -> list[Action]:
        self.phase = Phase.ENDING
        self._wrap_requested_at = now
        actions: list[Action] = []
        if self._active_response is not None:
            actions.append(SendUpstream({"type": "response.cancel"}))
        actions += [
            SendUpstream({"type": "input_audio_buffer.clear"}),
            SendUpstream({"type": "response.create", "event_id": WRAP_UP_EVENT_ID,
                          "response": {"instructions": WRAP_UP_INSTRUCTIONS}}),
            Log("info", "time limit reached; the interviewer is wrapping up",
                {"max_duration_s": self.limits.max_duration_s}),
        ]
        return actions

    @staticmethod
    def _upstream_error(problem: UpstreamProblem, verdict: ErrorVerdict) -> UpstreamError:
        # OpenAI's own code when it gave one (metrics group by it), else the verdict's.
        return UpstreamError(problem.code or verdict.code, verdict.cause, verdict.fatal)

    def _retryable(self, verdict: ErrorVerdict) -> bool:
        """Whether this failure leaves a link's interview for the same link to try again:
        its cause is in ``RETRYABLE_CAUSES`` (the operator fixes it, or it passes by
        itself). A real end, the goodbye at the time limit included, failures without a
        catalogue cause, and open interviews are not retried."""
        return (self.resumable and verdict.cause in RETRYABLE_CAUSES
                and self.phase in (Phase.CONNECTING, Phase.CONFIGURING, Phase.LIVE))

    def _fail(self, verdict: ErrorVerdict, problem: UpstreamProblem, now: float) -> list[Action]:
        retry = self._retryable(verdict)
        # A retry continues the interview when there is something to go on from (it was
        # live, or this attempt was a resumption); otherwise it starts it.
        went_live = self.phase is Phase.LIVE or self.resumed
        configuration = verdict.cause in CONFIGURATION_CAUSES
        link: str | None = None
        if retry:
            link = "kept, " + ("resumable" if went_live else "can start") + (
                " once the configuration is fixed" if configuration else " on a later try")
        log = Log("error", "the interview cannot go on", {
            "code": verdict.code, "cause": verdict.cause, "phase": problem.phase,
            "status": problem.status, "close_code": problem.close_code,
            "close_reason": problem.close_reason, "upstream_event_id": problem.event_id,
            "request_id": problem.request_id, "detail": problem.message,
            "link": link,
        })
        if not retry:
            actions: list[Action] = [SendJson(browser_error(verdict)), log]
            actions += self._finish("failed", verdict.cause or verdict.code, verdict.code,
                                    now, message="The interview has ended because of a "
                                                 "problem on our side.")
            return actions
        if configuration:
            words = CANDIDATE_MESSAGES["retry_resume" if went_live else "retry_later"]
        else:
            words = CANDIDATE_MESSAGES["retry_soon_resume" if went_live else "retry_soon"]
        verdict = ErrorVerdict(verdict.code, verdict.cause, verdict.fatal, words, verdict.hint)
        actions = [SendJson(browser_error(verdict, retryable=True)), log]
        actions += self._finish("failed", verdict.cause or verdict.code, verdict.code, now,
                                message="The interview has stopped because of a problem "
                                        "on our side. Your link stays valid: try it again "
                                        "later.", store_end=False, retryable=True)
        return actions

    def _finish(
        self,
        status: Literal["ended", "failed"],
        reason: str,
        error_code: str | None,
        now: float,
        *,
        message: str = "The interview has ended.",
        notify: bool = True,
        store_end: bool = True,
        retryable: bool = False,
    ) -> list[Action]:
        """End this connection's interview. ``store_end`` False: the store keeps it as it
        is (a link's drop); ``retryable``: the store records why this attempt failed but
        does not end it, and the browser is told the same link works again later."""
        if self.phase is Phase.ENDED:
            return []
        self.phase = Phase.ENDED
        self.end_reason = reason
        # Interviewer replies still streaming keep what was said so far.
        for reply in self._replies.values():
            if not reply.done:
                reply.done = True
                item = self.transcript.get(reply.item_id)
                if item is not None and not item.resolved:
                    text = reply.text if reply.cut_at_ms is None else spoken_part(
                        reply.text, reply.cut_at_ms, reply.received_ms)
                    audio = reply.cut_at_ms if reply.cut_at_ms is not None else round(
                        reply.sent_ms)
                    self.transcript.resolve(reply.item_id, text=text, state="partial",
                                            ended_at=now, audio_ms=audio)
        actions: list[Action] = [PersistTurn(t) for t in self.transcript.release_all()]
        if self.interview_id is not None and retryable:
            actions.append(AttemptFailed(reason, error_code, now))
        elif self.interview_id is not None and store_end:
            actions.append(EndInterview(status, reason, error_code, now))
        if notify:
            ended: dict[str, Any] = {"type": "interview_ended", "message": message,
                                     "reason": reason, "interview_id": self.interview_id}
            if retryable:
                ended["retryable"] = True
            actions.append(SendJson(ended))
        actions += [CloseUpstream(), CloseBrowser(1000, reason[:100])]
        return actions


def _transcript_of(item: dict[str, Any]) -> str | None:
    content = item.get("content")
    if not isinstance(content, list):
        return None
    parts = [c.get("transcript") for c in content if isinstance(c, dict)]
    texts = [p for p in parts if isinstance(p, str)]
    return "".join(texts) if texts else None
