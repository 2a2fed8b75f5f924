"""The relay driver: sockets, tasks, queues and the database around one interview.

:class:`VoiceRelay` feeds :class:`~vivavoce.interview.session.InterviewSession` with
what arrives (browser messages, Realtime events, a one-second tick) and carries out the
actions it returns. It owns:

* two :class:`~vivavoce.realtime.outbox.Outbox` writers — to the browser (audio bounded:
  for a browser that cannot keep up the oldest AI audio is dropped, counted and logged
  once, and the interview goes on; one that does not even read control messages is told
  and disconnected) and to OpenAI (the browser reader pauses while it is full, so TCP
  pushes back on the browser);
* one database writer task, so no relay path waits on the database (and nothing is
  written per audio frame: turns, usage and status only);
* the end: the browser gets ``interview_ended`` before its socket closes, the upstream
  socket is closed within a second of the browser leaving, every task is cancelled and
  awaited, and pending database writes are finished.

The browser side is an abstract :class:`BrowserSocket` so the same driver serves
Starlette's WebSocket and tests' fakes alike; one that also has a synchronous
``send_bytes_now`` (``web/voice_adapters.py``) gets AI audio written without its writer
task when nothing is queued (as the upstream's ``append_audio_now``; realtime/outbox.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from vivavoce.interview import browser_messages
from vivavoce.interview.actions import (
    Action,
    AddUsage,
    AppendAudio,
    AttemptFailed,
    ClearBrowserAudio,
    CloseBrowser,
    CloseUpstream,
    ConnectUpstream,
    CreateCall,
    EndInterview,
    HangUpCall,
    Log,
    MarkLive,
    PersistTurn,
    PrepareInterview,
    ReconnectUpstream,
    SendAudio,
    SendJson,
    SendUpstream,
    UpstreamError,
)
from vivavoce.interview.session import BYTES_PER_MS, InterviewSession
from vivavoce.metrics_relay import RelayMeter
from vivavoce.realtime.call import CallHooks
from vivavoce.realtime.lightsync import Flag, Mailbox
from vivavoce.realtime.outbox import Outbox
from vivavoce.realtime.relay_limits import RelayLimits
from vivavoce.realtime.upstream import Upstream, UpstreamConnectError
from vivavoce.redact import redact

__all__ = ["BrowserGone", "BrowserSocket", "InterviewGone", "RelayHooks", "RelayLimits",
           "VoiceRelay"]

log = logging.getLogger("vivavoce.relay")


class BrowserGone(Exception):
    """The browser socket closed."""


class InterviewGone(Exception):
    """Raised by :meth:`RelayHooks.persist`: the interview's record no longer exists (the
    operator deleted it, on this instance or another), so nothing can be stored for it."""


class BrowserSocket(Protocol):
    """What the relay needs of the browser's WebSocket."""

    async def receive(self) -> str | bytes:
        """The next message; raises :class:`BrowserGone` when the socket closed."""
        ...

    async def send_text(self, text: str) -> None:
        """Send text; raises :class:`BrowserGone` when the socket closed."""
        ...

    async def send_bytes(self, data: bytes) -> None:
        """Send bytes; raises :class:`BrowserGone` when the socket closed."""
        ...

    async def close(self, code: int, reason: str) -> None: ...


class RelayHooks(CallHooks, Protocol):
    """What the relay needs from the service around it (database, OpenAI client)."""

    async def prepare(
        self, relay: VoiceRelay, candidate_context: dict[str, Any] | None
    ) -> None:
        """Find or create the interview and call ``relay.session.prepared`` (through
        :meth:`VoiceRelay.feed`) or ``prepare_failed``."""
        ...

    async def connect(self, relay: VoiceRelay) -> Upstream:
        """Open the Realtime session, or join ``relay.call_id``'s sideband. Raises
        UpstreamConnectError."""
        ...

    async def persist(self, relay: VoiceRelay, action: Action) -> None:
        """Carry out one database action (MarkLive, PersistTurn, AddUsage, EndInterview,
        AttemptFailed). Raises InterviewGone when the interview's record was deleted."""
        ...

    def log_fields(self, relay: VoiceRelay) -> dict[str, Any]:
        """Fields every operator log line of this interview carries (masked key…)."""
        ...


_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}


@dataclass
class _Counters:
    window_start: float = 0.0
    messages: int = 0


@dataclass
class VoiceRelay:
    """One browser connection relayed to one Realtime session."""

    browser: BrowserSocket
    session: InterviewSession
    hooks: RelayHooks
    limits: RelayLimits = field(default_factory=RelayLimits)
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.upstream: Upstream | None = None
        # The WebRTC call whose sideband is (or becomes) the upstream; the epoch moves
        self.call_id: str | None = None  # when the relay takes over (a late one is void)
        self._epoch = 0
        self.to_browser: Outbox[bytes] = Outbox(
            self.browser.send_text, self.browser.send_bytes,
            audio_high_bytes=self.limits.browser_audio_shed_bytes,
            control_limit=self.limits.browser_control_limit,
            write_audio_now=getattr(self.browser, "send_bytes_now", None))
        self._shed_logged = False
        self.to_upstream: Outbox[str] | None = None
        # Flags and a Mailbox: asyncio's Events and Queues cost a deque each (lightsync.py).
        self._db_queue: Mailbox[Action | None] = Mailbox()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._finished = Flag()
        # Set once run() has returned: sockets closed, every database write done.
        self.done = Flag()
        self._close_code = 1000
        self._close_reason = ""
        self._counters = _Counters()
        self.ended_at: float | None = None
        # Every metric of this connection goes through its meter (frames are counted
        # there per frame and published once a tick).
        self.meter = RelayMeter()
        # Set when the interview's record was deleted: nothing more is written for it.
        self.record_gone = False
        self._browser_left = False
        # Set each time an upstream event was fed (what _browser_gone waits on).
        self._upstream_fed = Flag()

    # ------------------------------------------------------------------ public
    async def run(self) -> None:
        """Serve the connection until the interview ends or the browser leaves.
        Never raises for anything the peers do."""
        self.meter.connected(self.clock())
        self._spawn(self._write_browser(), "browser-writer")
        self._spawn(self._db_writer(), "db-writer")
        self._spawn(self._read_browser(), "browser-reader")
        self._spawn(self._ticker(), "ticker")
        self.feed(self.session.connected(self.clock()))
        try:
            await self._finished.wait()
        finally:
            await self._shutdown()
            self.done.set()
            self.meter.ended(self.session)

    def feed(self, actions: list[Action]) -> None:
        """Carry out the state machine's actions, in order. Never awaits: anything slow
        (connect, database) runs in its own task or queue."""
        for action in actions:
            self._do(action)

    def replace(self) -> None:
        """The same interview was opened on a newer connection (the candidate's network
        dropped and the server had not noticed yet): tell this browser, then stop as if
        it had left, which keeps a resumable interview live for the newcomer."""
        self.to_browser.put_control(json.dumps(browser_messages.error(
            "replaced", "This interview continues in another window or tab.", fatal=True)))
        self._spawn(self._replaced(), "replaced")

    async def _replaced(self) -> None:
        # A newcomer after a drop mid-answer: that answer is stored first.
        await self._answer_heard()
        self.feed(self.session.browser_closed(self.clock()))
        self._finished.set()

    def budget_exhausted(self) -> None:
        """The service's spend limit is reached (web/budget_watch.py): the interview wraps
        up once nothing is being said (the core's rule)."""
        if not self.done.is_set():
            self.feed(self.session.budget_exhausted(self.clock()))

    def remove(self) -> None:
        """The operator is deleting this interview: stop writing to the store at once
        (pending writes are dropped, nothing more is attempted), tell the browser the
        interview was removed, and stop; the upstream socket is closed on the way out.
        The deletion waits for :attr:`done` before it takes the rows away."""
        if self.done.is_set():
            return
        self._stop_writing()
        self.feed(self.session.removed(self.clock()))
        self._finished.set()

    def drain(self) -> None:
        """The server is stopping (SIGTERM): end this connection the way a restart does
        (a link's interview is kept, with a retryable ending; an open one ends
        ``server_shutdown``), then stop as usual — the browser gets its last messages,
        the upstream socket closes and every pending turn is written before :attr:`done`."""
        if self._finished.is_set():
            return
        self.feed(self.session.server_shutdown(self.clock()))
        self._finished.set()

    # ------------------------------------------------------------------ actions
    def _do(self, action: Action) -> None:
        if isinstance(action, SendAudio):
            self.meter.frames_to_browser += 1
            if not self.to_browser.put_audio(action.pcm) and not self.to_browser.closed:
                self._shed_browser_audio()
        elif isinstance(action, AppendAudio):
            if self.to_upstream is not None:
                self.meter.frames_to_openai += 1
                self.to_upstream.put_audio(action.audio_b64)
        elif isinstance(action, SendJson):
            text = json.dumps(action.message, separators=(",", ":"))
            if not self.to_browser.put_control(text) and not self.to_browser.closed:
                self._browser_too_slow()
        elif isinstance(action, SendUpstream):
            if self.to_upstream is not None:
                self.to_upstream.put_control(json.dumps(action.event, separators=(",", ":")))
        elif isinstance(action, ClearBrowserAudio):
            self.to_browser.clear_audio()
        elif isinstance(action, MarkLive | PersistTurn | AddUsage | EndInterview
                        | AttemptFailed):
            if not self.record_gone:
                self._db_queue.put_nowait(action)
            if isinstance(action, MarkLive):
                self.meter.live(self.session, self.clock())
        elif isinstance(action, PrepareInterview):
            self._spawn(self._prepare(action.candidate_context), "prepare")
        elif isinstance(action, ConnectUpstream):
            self._spawn(self._connect(), "connect")
        elif isinstance(action, CreateCall):
            self._spawn(self._create_call(action), "create-call")
        elif isinstance(action, HangUpCall):
            self._drop_call()
        elif isinstance(action, ReconnectUpstream):
            self._spawn(self._reconnect(action.delay_s), "reconnect")
        elif isinstance(action, CloseUpstream):
            if self.to_upstream is not None:
                self.to_upstream.close()
        elif isinstance(action, CloseBrowser):
            self._close_code = action.code
            self._close_reason = action.reason
            self.ended_at = self.clock()
            self._finished.set()
        elif isinstance(action, UpstreamError):
            self.meter.upstream_error(action.code)
        elif isinstance(action, Log):
            self._log(action)

    def _shed_browser_audio(self) -> None:
        """The browser's audio backlog passed its bound: drop the oldest AI audio (never a
        control message), tell the core so the barge-in cut stays right, count it, and
        log it once per interview. The interview goes on; the transcript has the words."""
        dropped = self.to_browser.shed_audio(self.limits.browser_audio_shed_bytes)
        if not dropped:
            return
        self.feed(self.session.ai_audio_dropped(dropped, self.to_browser.audio_bytes))
        self.meter.ai_audio_dropped_ms += dropped / BYTES_PER_MS
        if not self._shed_logged:
            self._shed_logged = True
            self._log(Log("warning", "the browser cannot take the interviewer's audio in "
                          "real time; the oldest queued audio is being dropped (logged once)",
                          {"backlog_s": self.limits.browser_audio_shed_bytes
                           // BYTES_PER_MS // 1000}))

    def _browser_too_slow(self) -> None:
        # Only the control lane overflowing gets here (audio is shed instead): the error
        # cannot be queued, so the socket simply closes after the interview ends.
        self.feed(self.session.local_failure(
            "client_too_slow",
            "Your connection is too slow to play the interviewer's voice, so the "
            "interview has stopped. Please try again on a faster connection.",
            "The browser did not read even the control messages "
            f"({self.to_browser.control_limit} queued); it was disconnected.",
            self.clock()))

    def _log(self, action: Log) -> None:
        level = _LEVELS[action.level]
        if not log.isEnabledFor(level):
            return  # e.g. the core's "ignored in this phase" lines, at debug
        fields = self.hooks.log_fields(self)
        fields.update((k, v) for k, v in action.fields.items() if v is not None)
        rendered = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        log.log(level, "%s", redact(f"{action.message} {rendered}".strip()),
                extra={"interview_id": self.session.interview_id})

    # ------------------------------------------------------------------ tasks
    def _spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(f"relay-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None and not self._finished.is_set():
            log.error("relay task %s failed: %s", task.get_name(), redact(repr(exc)),
                      extra={"interview_id": self.session.interview_id})
            self.feed(self.session.local_failure(
                "internal_error", "Something went wrong on our side, so the interview has "
                "stopped. What you said so far has been saved.",
                "An internal error ended the interview; the log line before this has it.",
                self.clock()))
            self._finished.set()

    async def _write_browser(self) -> None:
        try:
            await self.to_browser.run()
        except BrowserGone:
            # Noticed while sending: the same as the reader seeing the socket close.
            await self._browser_gone()

    async def _browser_gone(self) -> None:
        """The browser's socket closed: store the answer being transcribed, then end."""
        if self._browser_left:
            return
        self._browser_left = True
        if not self._finished.is_set():
            self.to_browser.close()  # nobody reads any more: nothing is queued for them
        await self._answer_heard()
        self.feed(self.session.browser_closed(self.clock()))
        self._finished.set()

    async def _answer_heard(self) -> None:
        """Wait (at most ``answer_grace_s``) while OpenAI transcribes an answer begun."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.answer_grace_s
        while self.session.answer_pending and not self._finished.is_set():
            self._upstream_fed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(deadline):
                    await self._upstream_fed.wait()
            if loop.time() >= deadline:
                break

    async def _read_browser(self) -> None:
        try:
            while True:
                message = await self.browser.receive()
                now = self.clock()
                if not self._within_rate(now):
                    self.feed(self.session.local_failure(
                        "too_many_messages", "Too many messages were sent; the interview "
                        "has stopped.", "A browser sent more than "
                        f"{self.limits.max_messages_per_s} messages a second.", now))
                    return
                if isinstance(message, bytes):
                    self.feed(self.session.browser_audio(message, now))
                elif len(message) > self.limits.max_text_chars:
                    self.to_browser.put_control(json.dumps(browser_messages.error(
                        "message_too_large", "Messages must be at most "
                        f"{self.limits.max_text_chars} characters.", fatal=False)))
                else:
                    if self.session.answer_pending and _ends_interview(message):
                        # "End" pressed right after an answer: let it be transcribed.
                        await self._answer_heard()
                        now = self.clock()
                    self.feed(self.session.browser_text(message, now))
                del message  # not held while the next one is awaited
                if self.to_upstream is not None:
                    # Backpressure: stop reading while OpenAI is behind.
                    await self.to_upstream.wait_for_room()
        except BrowserGone:
            pass
        await self._browser_gone()

    def _within_rate(self, now: float) -> bool:
        counters = self._counters
        if now - counters.window_start >= 1.0:
            counters.window_start = now
            counters.messages = 0
        counters.messages += 1
        return counters.messages <= self.limits.max_messages_per_s

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.limits.tick_s)
            self.meter.flush()
            self.feed(self.session.tick(self.clock()))

    async def _prepare(self, context: dict[str, Any] | None) -> None:
        await self.hooks.prepare(self, context)

    async def _create_call(self, action: CreateCall) -> None:
        try:
            call_id, answer = await self.hooks.create_call(self, action.offer_sdp, action.session)
        except UpstreamConnectError as exc:
            self.feed(self.session.call_failed(exc.problem, self.clock()))
            return
        self.call_id = call_id
        if self._finished.is_set():
            await self._hang_up()
            return
        self.feed(self.session.call_created(answer, self.clock()))

    def _drop_call(self) -> None:
        """The relay takes over: leave the sideband, hang the call up in the background."""
        self._epoch += 1
        old, self.upstream = self.upstream, None
        if self.to_upstream is not None:
            self.to_upstream.close()
            self.to_upstream = None
        if old is not None:
            self._spawn(old.close(), "sideband-close")
        self._spawn(self._hang_up(), "hang-up")

    async def _hang_up(self) -> None:
        call_id, self.call_id = self.call_id, None
        if call_id is not None:
            await self.hooks.hang_up(self, call_id)

    async def _connect(self) -> None:
        epoch = self._epoch
        try:
            upstream = await self.hooks.connect(self)
        except UpstreamConnectError as exc:
            if epoch == self._epoch:
                self.feed(self.session.upstream_connect_failed(exc.problem, self.clock()))
            return
        if self._finished.is_set() or epoch != self._epoch:
            await upstream.close()
            return
        self.upstream = upstream
        self.to_upstream = Outbox(upstream.send_text, upstream.append_audio,
                                  audio_high_bytes=self.limits.upstream_audio_high_chars,
                                  write_audio_now=upstream.append_audio_now)
        self._spawn(self._write_upstream(self.to_upstream), "upstream-writer")
        self._spawn(self._read_upstream(upstream), "upstream-reader")
        self.feed(self.session.upstream_opened(self.clock()))

    async def _reconnect(self, delay_s: float) -> None:
        """Upstream recovery: drop what is left of the lost session (its writer ends
        with its outbox; the core keeps candidate audio meanwhile), wait, open anew."""
        old, self.upstream = self.upstream, None
        if self.to_upstream is not None:
            self.to_upstream.close()
            self.to_upstream = None
        if old is not None:
            await old.close()
        await asyncio.sleep(delay_s)
        if not self._finished.is_set():
            await self._connect()

    async def _write_upstream(self, outbox: Outbox[str]) -> None:
        # A send on a socket the server closed fails; the reader reports the close.
        with contextlib.suppress(Exception):
            await outbox.run()

    async def _read_upstream(self, upstream: Upstream) -> None:
        def take(event: dict[str, Any]) -> None:  # called from the socket's read callback
            if upstream is not self.upstream:
                return  # replaced while recovering: its late events are no input
            # The AI audio still queued for the browser goes in as a value: at a barge-in
            # it is dropped, so the state machine must not count it as heard.
            self.feed(self.session.upstream_event(
                event, self.clock(), backlog_bytes=self.to_browser.audio_bytes))
            self._upstream_fed.set()

        await upstream.run(take)
        if upstream is not self.upstream:
            return
        if self.to_upstream is not None:
            self.to_upstream.close()
        self.feed(self.session.upstream_closed(upstream.close_code, upstream.close_reason,
                                               self.clock()))
        self._upstream_fed.set()

    def _stop_writing(self) -> None:
        """No more database writes for this interview: drop the queued ones (keeping the
        shutdown's end marker, if it is already there)."""
        self.record_gone = True
        stop = False
        while not self._db_queue.empty():
            stop = stop or self._db_queue.get_nowait() is None
        if stop:
            self._db_queue.put_nowait(None)

    async def _db_writer(self) -> None:
        while True:
            action = await self._db_queue.get()
            if action is None:
                return
            if self.record_gone:
                continue
            try:
                await self.hooks.persist(self, action)
            except InterviewGone:
                # Deleted under us (by the operator on another instance, or before this
                # instance could stop the relay): one line, and the interview ends here.
                self._stop_writing()
                log.warning("interview %s no longer exists in the database (deleted by "
                            "the operator); it has been ended and nothing more is stored",
                            self.session.interview_id,
                            extra={"interview_id": self.session.interview_id})
                if not self._finished.is_set():
                    self.feed(self.session.removed(self.clock()))
                    self._finished.set()
            except Exception as exc:
                # One failed write must not end the interview (the next turn may well
                # succeed); the operator sees it.
                log.error("could not store %s: %s", type(action).__name__, redact(repr(exc)),
                          extra={"interview_id": self.session.interview_id})

    async def _shutdown(self) -> None:
        # 1. Let the browser receive the last messages (interview_ended, the error).
        if not self.to_browser.closed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.limits.flush_timeout_s):
                    await self.to_browser.wait_idle()
        # 2. Close upstream first: a browser that left must not keep an OpenAI session
        #    (and its bill) open; close_timeout bounds this to about a second.
        if self.to_upstream is not None:
            self.to_upstream.close()
        if self.upstream is not None:
            await self.upstream.close()
        await self._hang_up()  # a WebRTC call ends with the interview (calls.hangup)
        # 3. Stop every task but the database writer, then let it finish its queue, so
        #    that when the browser sees its socket close, everything is stored.
        self.to_browser.close()
        db_task = next((t for t in self._tasks if t.get_name() == "relay-db-writer"), None)
        others = [t for t in self._tasks if t is not db_task]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        if db_task is not None:
            self._db_queue.put_nowait(None)
            try:
                async with asyncio.timeout(self.limits.db_drain_timeout_s):
                    await asyncio.shield(db_task)
            except TimeoutError:
                log.error("pending database writes did not finish in %.0f s; dropped",
                          self.limits.db_drain_timeout_s,
                          extra={"interview_id": self.session.interview_id})
                db_task.cancel()
                await asyncio.gather(db_task, return_exceptions=True)
        # 4. Close the browser's socket.
        await self._close_browser()

    async def _close_browser(self) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self.browser.close(self._close_code, self._close_reason)


def _ends_interview(text: str) -> bool:
    """The browser message is ``end_interview`` (a cheap check first)."""
    with contextlib.suppress(ValueError, RecursionError):
        message = json.loads(text) if "end_interview" in text else None
        return isinstance(message, dict) and message.get("type") == "end_interview"
    return False


def wall_clock(ts: float) -> datetime:
    """Unix seconds (the state machine's clock) as an aware UTC datetime."""
    return datetime.fromtimestamp(ts, UTC)
