"""The interview core: a state machine with no I/O.

Inputs are plain values (a browser message, a Realtime server event as a dict with the AI
audio still queued for the browser as a number, the outcome of the adapter's work, a
clock tick), each with ``now`` (Unix seconds); each returns the
:mod:`~vivavoce.interview.actions` for the adapter to carry out in order. Phases and
their transitions: :mod:`~vivavoce.interview.phase` (an input in a phase that does not
take it gets one ``Log``). This class owns the phase; every rule lives in a collaborator
(docs/architecture.md). Events are dicts, not the SDK's pydantic models (too slow per
audio delta), read with ``.get``; outgoing ones are the SDK's ``*Param`` TypedDicts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

from openai.types.realtime import SessionUpdateEventParam

from vivavoce.interview import browser_input, browser_messages
from vivavoce.interview import failure_policy as fp
from vivavoce.interview.actions import (
    Action,
    AppendAudio,
    AttemptFailed,
    Log,
    PersistTurn,
    PrepareInterview,
    SendJson,
    SendUpstream,
    TurnRecord,
)
from vivavoce.interview.browser_input import Audio, Rejected
from vivavoce.interview.conversation import RESUME_INSTRUCTIONS, Conversation, as_str
from vivavoce.interview.ending import ending
from vivavoce.interview.errors import ErrorDescriber, ErrorVerdict, ProblemPhase, UpstreamProblem
from vivavoce.interview.media import Media, Step
from vivavoce.interview.missed_turns import read_seen_item_ids
from vivavoce.interview.opening import SESSION_UPDATE_EVENT_ID, Opening
from vivavoce.interview.phase import ACCEPTS, Phase, check_transition
from vivavoce.interview.playback import BYTES_PER_MS, Playback, spoken_part
from vivavoce.interview.recovery import Recovery, RecoveryBudget, recoverable_close
from vivavoce.interview.shutdown import SHUTDOWN_REASON, shutdown_end
from vivavoce.interview.spend import Spend
from vivavoce.interview.time_limits import (
    WRAP_UP_INSTRUCTIONS,
    Due,
    Limits,
    TimeLimits,
    wrap_up_end,
)
from vivavoce.pricing import TokenUsage

__all__ = [
    "BYTES_PER_MS", "REMOVED_REASON", "RESUME_INSTRUCTIONS", "SESSION_UPDATE_EVENT_ID",
    "WRAP_UP_INSTRUCTIONS", "InterviewSession", "Limits", "Phase", "spoken_part",
]

# The interview_ended reason when the operator deleted the interview while it ran.
REMOVED_REASON = "removed_by_operator"

_STARTING = (Phase.CONNECTING, Phase.CONFIGURING)
Handler = Callable[[dict[str, Any], float], list[Action]]


class InterviewSession:
    """One interview's logic. Create one per browser connection.

    No input method raises for anything a peer sends: bad browser messages become
    ``error`` messages, odd upstream events are ignored field by field. ``resumable``:
    a link's interview, which a drop or a retryable failure leaves for the same link."""

    def __init__(self, *, model: str, describe_error: ErrorDescriber,
                 limits: Limits | None = None,
                 price: Callable[[TokenUsage], float | None] | None = None,
                 simulator: bool = False, resumable: bool = False,
                 media: Media | None = None) -> None:
        self._model = model
        self._describe = describe_error
        self.spend = Spend(price)  # tokens and cost so far (the metrics read it)
        self.simulator = simulator
        self._policy = fp.FailurePolicy(resumable=resumable)
        self._time = TimeLimits(limits or Limits())
        self._play = Playback()
        self._media = (media or Media()).bind(self._time)  # relay or WebRTC (media.py)
        self.phase = Phase.IDLE
        self.interview_id: str | None = None
        self.end_reason: str | None = None
        self._opening = Opening(self.limits.start_buffer_bytes)
        self._conv = Conversation(self._play, self._time.activity)
        self._recovery = Recovery(RecoveryBudget(self.limits.recovery_attempts,
                                                 self.limits.recovery_window_s,
                                                 self.limits.recovery_backoff_s))
        # speech_started is dispatched by upstream_event itself (it takes the backlog).
        self._upstream_handlers: dict[str, Handler] = self._media.guard.wrap({
            **self._conv.handlers(), **self._media.handlers(),
            "session.updated": self._on_session_updated, "error": self._on_error,
            "response.created": self._on_response_created, "response.done": self._on_response_done},
            ours=self._conv.created_here, end=lambda reason, message, now: self._finish(
                "failed", reason, reason, now, message=message))

    # Read-only views for the adapter and the metrics.
    @property
    def model(self) -> str:
        return self._model

    @property
    def limits(self) -> Limits:
        return self._time.limits

    @property
    def dropped_start_audio_bytes(self) -> int:
        return self._opening.buffer.dropped_bytes

    @property
    def start_requested_at(self) -> float | None:
        return self._time.start_requested_at

    @property
    def live_at(self) -> float | None:
        return self._time.live_at

    @property
    def answer_pending(self) -> bool:
        """Live, with an answer OpenAI has not transcribed yet: a browser that leaves now
        is not told anything more, but the relay waits (bounded) for that transcript."""
        return self.phase is Phase.LIVE and self._conv.answer_pending

    # -------------------------------------------------------------------- the phase
    def _go(self, target: Phase) -> None:
        self.phase = check_transition(self.phase, target)

    def _ignored(self, name: str) -> list[Action] | None:
        """None when the current phase takes input ``name``, else the one Log line that
        says it was ignored (an event after the end, a late outcome…)."""
        if self.phase in ACCEPTS[name]:
            return None
        return [Log("debug", "input ignored in this phase",
                    {"input": name, "phase": self.phase.value})]

    # ------------------------------------------------------------------ browser input
    def connected(self, now: float) -> list[Action]:
        """The browser socket is open."""
        return [SendJson(browser_messages.connected(simulator=self.simulator))]

    def browser_text(self, text: str, now: float) -> list[Action]:
        """One JSON text message from the browser."""
        if (ignored := self._ignored("browser_text")) is not None:
            return ignored
        message = browser_input.parse_text(text)
        if isinstance(message, Rejected):
            return [SendJson(message.error)]
        kind = message["type"]
        if kind == "audio_chunk":
            if (ignored := self._ignored("browser_audio")) is not None:
                return ignored
            return self._candidate_audio(browser_input.check_audio_chunk(
                message.get("audio"), self.limits.max_frame_bytes))
        if kind == "start_interview":
            # A room coming back by itself names what it has shown (missed_turns.py).
            self._opening.seen_item_ids = read_seen_item_ids(message.get("seen_item_ids"))
            return self._start(message.get("candidateContext"), now, message.get("webrtc"))
        if kind == "webrtc_state":
            return self._stepped(self._media.browser_state(message.get("state"), now), now)
        if kind == "end_interview":
            return self._finish("ended", "candidate_ended", None, now,
                                message="The interview has ended. Thank you!")
        if kind == "playback_position":
            return self._conv.play_head(message.get("ms"))
        if kind == "ping":
            return [SendJson(browser_messages.pong())]
        return [SendJson(browser_input.unknown_message(kind).error)]

    def browser_audio(self, pcm: bytes, now: float) -> list[Action]:
        """One binary frame of candidate audio (PCM16 24 kHz mono)."""
        if not pcm:
            return []  # an empty frame carries nothing to act on, in any phase
        if (ignored := self._ignored("browser_audio")) is not None:
            return ignored
        return self._candidate_audio(browser_input.check_pcm(pcm, self.limits.max_frame_bytes))

    def browser_closed(self, now: float) -> list[Action]:
        """The browser went away (closed, dropped, or was disconnected)."""
        if (ignored := self._ignored("browser_closed")) is not None:
            return ignored
        if self.phase is Phase.ENDING and self._time.wrap_reason == "budget_exhausted":
            return self._wrapped_up(now, notify=False)  # gone during the goodbye: paused all the same
        live = self.phase in (Phase.LIVE, Phase.RECOVERING, Phase.ENDING)
        reason = "browser_disconnected" if live else "browser_disconnected_before_start"
        return self._finish("ended", reason, None, now, notify=False,
                            store_end=not self._policy.keeps_on_drop(self.phase))

    def local_failure(self, code: str, message: str, hint: str | None, now: float) -> list[Action]:
        """Something on our side ends the interview (the browser cannot keep up, an
        internal error). ``message`` is for the candidate, ``hint`` for the operator."""
        if (ignored := self._ignored("local_failure")) is not None:
            return ignored
        verdict = ErrorVerdict(code, None, True, message, hint)
        return self._fail(verdict, UpstreamProblem(phase="session", code=code), now)

    def removed(self, now: float) -> list[Action]:
        """The interview's record was deleted (by the operator) while this connection
        served it: end it, tell the browser, close upstream, and store nothing more."""
        if (ignored := self._ignored("removed")) is not None:
            return ignored
        actions = self._finish("ended", REMOVED_REASON, None, now, store_end=False, message=(
            "The organiser has removed this interview, so it has ended."))
        return [a for a in actions if not isinstance(a, PersistTurn)]

    def server_shutdown(self, now: float) -> list[Action]:
        """The server is stopping (SIGTERM): the ending of interview/shutdown.py."""
        end = shutdown_end(keeps_interview=self._policy.keeps_on_drop(self.phase))
        return self._ignored("server_shutdown") or [*end.before, *self._finish(
            "ended", SHUTDOWN_REASON, None, now, message=end.message,
            store_end=not end.retryable, retryable=end.retryable)]

    def ai_audio_dropped(self, dropped_bytes: int, backlog_bytes: int) -> list[Action]:
        """The adapter dropped the oldest AI audio it held for a browser too slow to take
        it: a barge-in's cut then maps the play head past the gap (playback.py)."""
        self._play.dropped(dropped_bytes / BYTES_PER_MS, backlog_bytes / BYTES_PER_MS)
        return []

    # ------------------------------------------------------------- adapter outcomes
    def prepared(self, interview_id: str, session_update: SessionUpdateEventParam, now: float,
                 *, model: str | None = None, limit_s: float | None = None,
                 started_at: float | None = None,
                 history: list[TurnRecord] | None = None) -> list[Action]:
        """The interview exists and its ``session.update`` event is built. ``model`` and
        ``limit_s``: the interview's own (stored) model and duration; ``started_at``:
        when a resumed interview first went live (its clock kept running); ``history``:
        its stored turns, given to the new Realtime session as conversation items, with
        numbering continuing after them."""
        if (ignored := self._ignored("prepared")) is not None:
            return ignored
        self.interview_id = interview_id
        if model is not None:
            self._model = model
        if limit_s is not None:
            self._time.allow(limit_s, started_at=started_at, now=now)
        if history:
            self._policy.resumed = True
            self._conv.resume(history)
        self._opening.configure(session_update)
        return [*self._media.connect(self._opening.session_update),
                Log("info", "interview prepared; connecting", {"model": self.model})]

    def prepare_failed(self, code: str, message: str, now: float, *, fatal: bool) -> list[Action]:
        """The interview could not be prepared (bad candidate context, not allowed…).
        Not fatal: back to ``idle`` so the client can send a corrected start."""
        if (ignored := self._ignored("prepare_failed")) is not None:
            return ignored
        error = SendJson(browser_messages.error(code, message, fatal=fatal))
        if not fatal:
            self._go(Phase.IDLE)
            self._time.start_withdrawn()
            self._opening.withdrawn()
            return [error]
        return [error, *self._finish("failed", code, code, now, message=message)]

    def call_created(self, answer_sdp: str, now: float) -> list[Action]:
        """OpenAI answered the room's WebRTC offer (``CreateCall``)."""
        return self._ignored("call_created") or self._media.call_created(answer_sdp, now)

    def call_failed(self, problem: UpstreamProblem, now: float) -> list[Action]:
        """``calls.create`` failed: a fatal cause fails as on the relay, else relay."""
        if (ignored := self._ignored("call_failed")) is not None:
            return ignored
        if self._media.fatal_refusal(self._describe(problem).cause):
            return self._upstream_failure(problem, now)
        return self._stepped(self._media.call_refused(problem.code), now)

    def upstream_opened(self, now: float) -> list[Action]:
        """The Realtime socket is open: configure the session."""
        ignored = self._ignored("upstream_opened")
        if ignored is not None or self._opening.session_update is None:
            return ignored or [Log("debug", "upstream opened before the interview was prepared")]
        if self.phase is not Phase.RECOVERING:
            self._go(Phase.CONFIGURING)
        return [SendUpstream(self._opening.session_update)]

    def upstream_connect_failed(self, problem: UpstreamProblem, now: float) -> list[Action]:
        """The Realtime socket could not be opened (refused, timed out, HTTP error)."""
        if (ignored := self._ignored("upstream_connect_failed")) is not None:
            return ignored
        if self.phase is Phase.RECOVERING and self._describe(problem).cause in fp.TRANSIENT_CAUSES:
            return self._recover(problem, now)  # still the network: try again, bounded
        return self._upstream_failure(problem, now)

    def upstream_closed(self, code: int | None, reason: str | None, now: float) -> list[Action]:
        """The Realtime socket closed (by the server, or under us)."""
        if (ignored := self._ignored("upstream_closed")) is not None:
            return ignored
        if self.phase is Phase.ENDING:
            return self._wrapped_up(now)
        live = self.phase in (Phase.LIVE, Phase.RECOVERING)
        if live and (step := self._media.call_ended(code)) is not None:
            return self._stepped(step, now)  # the call ended under us: the relay goes on
        if live and recoverable_close(code):
            return self._recover(UpstreamProblem(phase="session", close_code=code,
                                                 close_reason=reason), now)
        outcome = fp.close_outcome(code, reason, "session" if live else "configure")
        if isinstance(outcome, fp.OrderlyEnd):
            return self._finish("ended", outcome.reason, None, now, message=outcome.message)
        return self._upstream_failure(outcome, now, fp.closed_verdict)

    def upstream_event(
        self, event: dict[str, Any], now: float, *, backlog_bytes: int = 0
    ) -> list[Action]:
        """One server event from the Realtime API. ``backlog_bytes``: AI audio the
        adapter still holds for the browser (at barge-in it is dropped, never heard)."""
        if (ignored := self._ignored("upstream_event")) is not None:
            return ignored
        kind = event.get("type")
        if kind == "input_audio_buffer.speech_started":
            if (ignored := self._ignored("input_audio_buffer.speech_started")) is not None:
                return ignored
            self._time.answer_started(now)  # a spend limit's wrap-up waits for its reply
            return self._conv.barge_in(event, now, backlog_bytes)
        handler = self._upstream_handlers.get(kind) if isinstance(kind, str) else None
        # Types with no handler (rate_limits.updated, …) carry nothing for the interview:
        # that is not an input in the wrong phase, so no Log line either.
        return handler(event, now) if handler is not None else []

    def tick(self, now: float) -> list[Action]:
        """Time passed: start deadline, duration limit and wrap-up, idle limit."""
        playing = self.phase is Phase.LIVE and (self._play.ai_playing(now) or self._media.playing)
        if self.phase in (*_STARTING, Phase.LIVE) and (step := self._media.due(now)):
            return self._stepped(step, now)  # the WebRTC media did not connect, or was lost
        due = self._time.due(self.phase, now, ai_playing=playing,
                             responding=self._play.responding is not None)
        if (self.phase is Phase.RECOVERING
                and self._recovery.overdue(now, self.limits.start_timeout_s)):
            # The new session did not become ready in time: try another (bounded).
            return self._recover(fp.start_timeout(False, self.limits.start_timeout_s)[0], now)
        if due is Due.START_TIMEOUT:
            problem, verdict = fp.start_timeout(self.phase is Phase.CONNECTING,
                                             self.limits.start_timeout_s)
            return self._fail(verdict, problem, now)
        if due is Due.WRAP_UP:
            return self._wrap_up(now)
        if due is Due.IDLE:
            return self._finish("ended", "idle_timeout", None, now, message="The interview "
                                "ended because nobody spoke for a while.")
        if due is Due.TIME_UP:
            return self._wrapped_up(now)
        return []

    def budget_exhausted(self, now: float) -> list[Action]:
        """The service's spend limit is reached: a live interview wraps up (time_limits.py)."""
        self._time.budget_exhausted()
        return self.tick(now)

    # --------------------------------------------------------------- browser helpers
    def _candidate_audio(self, checked: Audio | Rejected) -> list[Action]:
        if (ignored := self._media.relayed_audio()) is not None:
            return ignored  # on WebRTC the microphone goes to OpenAI itself
        if isinstance(checked, Rejected):
            return [SendJson(checked.error)]
        if self.phase is Phase.LIVE:
            return [AppendAudio(checked[0])]
        # Starting or recovering: kept (bounded), sent once the session is configured.
        self._opening.buffer.add(checked)
        return []

    def _start(self, context: Any, now: float, webrtc: Any = None) -> list[Action]:
        if refused := browser_input.start_refusal(self.phase is Phase.IDLE, context):
            return [SendJson(refused.error)]
        self._go(Phase.CONNECTING)
        self._time.start_requested(now)
        return [SendJson(browser_messages.interview_starting()), *self._media.offered(webrtc),
                PrepareInterview(context)]

    # ----------------------------------------------------------- upstream handlers
    def _on_session_updated(self, event: dict[str, Any], now: float) -> list[Action]:
        if (ignored := self._ignored("session.updated")) is not None:
            return ignored  # later updates (none are sent today) change nothing here
        if self.phase is Phase.RECOVERING:
            return self._recovered(now)
        if self._media.session_configured():
            return [Log("info", "session configured; waiting for the WebRTC media")]
        return self._go_live(now)

    def _go_live(self, now: float) -> list[Action]:
        self._go(Phase.LIVE)
        self._time.went_live(now)
        return self._media.guard.sent(self._opening.went_live(
            self._conv, now, interview_id=self.interview_id, simulator=self.simulator,
            resumed=self._policy.resumed, model=self.model, transport=self._media.name))

    def _stepped(self, step: Step, now: float) -> list[Action]:
        """A WebRTC outcome: the relay takes over (connecting again; once live, seeded
        with the conversation as after a drop), or going live."""
        if step.relay and self.phase is Phase.ENDING:
            return self._wrapped_up(now)  # the goodbye can no longer be heard
        if step.relay and self.phase in (Phase.LIVE, Phase.RECOVERING):  # already reconnecting:
            return step.without_connect() + (self._recover(UpstreamProblem(  # no call joined
                phase="session", code=f"webrtc_{step.reason}"), now) if self.phase is Phase.LIVE else [])
        if step.relay and self.phase is Phase.CONFIGURING:
            self._go(Phase.CONNECTING)
        live = step.live and self.phase is Phase.CONFIGURING
        return step.actions + (self._go_live(now) if live else [])

    # ------------------------------------------------------------------ recovery
    def _recover(self, problem: UpstreamProblem, now: float) -> list[Action]:
        """The Realtime connection was lost without a fatal cause: keep the browser and
        reconnect (interview/recovery.py), or, once the budget is spent, end as any lost
        connection does (retryable on a link)."""
        delay = self._recovery.budget.next_delay(now)
        if delay is None:
            return self._upstream_failure(problem, now, fp.closed_verdict)
        cut: list[Action] = []
        if self.phase is Phase.LIVE:  # store what the drop cut short, once
            self._go(Phase.RECOVERING)
            self._policy.resumed = True
            cut = self._recovery.interrupted(*self._conv.interrupt(now))
        return [*cut, *self._recovery.reconnect(problem, now, delay)]

    def _recovered(self, now: float) -> list[Action]:
        self._go(Phase.LIVE)
        # A re-joined call's sideband keeps its conversation: nothing to seed or say.
        events = [] if self._media.on_webrtc else self._conv.opening_events(
            resumed=True, instructions=self._recovery.instructions)
        return self._recovery.recovered(self.interview_id, events, self._opening.buffer.take())

    def _on_error(self, event: dict[str, Any], now: float) -> list[Action]:
        phase: ProblemPhase = "configure" if self.phase in _STARTING else "session"
        return self._reported(fp.error_event(event, phase), now)

    def _reported(self, reported: fp.Reported | None, now: float) -> list[Action]:
        if reported is None:
            return []
        verdict = fp.judge(reported, self._describe)
        if verdict.fatal:
            return self._upstream_failure(reported.problem, now, verdict)
        return fp.recoverable(reported, verdict)

    def _on_response_created(self, event: dict[str, Any], now: float) -> list[Action]:
        response = event.get("response")
        response_id = as_str(response.get("id")) if isinstance(response, dict) else None
        self._play.responding = response_id
        self._time.response_created(response_id)
        return []

    def _on_response_done(self, event: dict[str, Any], now: float) -> list[Action]:
        response = event.get("response")
        response = response if isinstance(response, dict) else {}
        response_id = as_str(response.get("id"))
        if response_id is not None and response_id == self._play.responding:
            self._play.responding = None
        actions = self.spend.response_done(response.get("usage"),
                                           self._conv.response_done(response, response_id, now))
        if response.get("status") == "failed":
            actions += self._reported(fp.failed_response(response), now)
        if self._time.is_goodbye(response_id):
            self._time.goodbye_generated(now, self._media.unplayed_ms(self._play.unplayed_ms(now)))
        self._time.reply_done(now)
        return actions

    # ------------------------------------------------------------- limits and end
    def _wrap_up(self, now: float) -> list[Action]:
        self._go(Phase.ENDING)
        events = self._media.guard.sent_events(
            self._time.wrap_up(now, responding=self._play.responding is not None))
        return [*(SendUpstream(e) for e in events),
                Log("info", "the interviewer is wrapping up", {"reason": self._time.wrap_reason,
                    "max_duration_s": self.limits.max_duration_s})]

    def _wrapped_up(self, now: float, *, notify: bool = True) -> list[Action]:
        """The goodbye was played (or its deadline passed): end, or pause a link's
        interview at the spend limit (its clock stops: AttemptFailed.pauses)."""
        end = wrap_up_end(self._time.wrap_reason, resumable=self._policy.resumable)
        actions = self._finish(end.status, end.reason, end.error_code, now, message=end.message,
                               notify=notify, store_end=not end.pauses, retryable=end.pauses)
        return [replace(a, pauses=True) if isinstance(a, AttemptFailed) else a for a in actions]

    def _upstream_failure(self, problem: UpstreamProblem, now: float, verdict: ErrorVerdict
                          | Callable[[ErrorVerdict], ErrorVerdict] | None = None) -> list[Action]:
        """``verdict``: already decided, or how to adjust the describer's."""
        if not isinstance(verdict, ErrorVerdict):
            described = self._describe(problem)
            verdict = described if verdict is None else verdict(described)
        return [fp.upstream_error(problem, verdict), *self._fail(verdict, problem, now)]

    def _fail(self, verdict: ErrorVerdict, problem: UpstreamProblem, now: float) -> list[Action]:
        failure = self._policy.fail(verdict, problem, self.phase)
        return [SendJson(failure.error), failure.log,
                *self._finish("failed", failure.reason, verdict.code, now,
                              message=failure.message, store_end=not failure.retryable,
                              retryable=failure.retryable)]

    def _finish(self, status: Literal["ended", "failed"], reason: str, error_code: str | None,
                now: float, *, message: str = "The interview has ended.", notify: bool = True,
                store_end: bool = True, retryable: bool = False) -> list[Action]:
        """End this connection's interview (what is stored and said: interview/ending.py)."""
        self._go(Phase.ENDED)
        self.end_reason = reason
        return ending(self._conv, self.interview_id, status, reason, error_code, now,
                      message=message, notify=notify, store_end=store_end, retryable=retryable)

