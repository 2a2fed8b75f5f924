"""``/voice``: the browser's WebSocket, relayed to the OpenAI Realtime API.

A thin adapter: it checks who may connect (origin, interview token or open interviews),
then hands the socket to :class:`~vivavoce.realtime.relay.VoiceRelay`, giving it the
service's database, OpenAI client and error catalogue through :class:`ServiceHooks`.

Who may connect:

* the ``Origin`` must be one of ``VIVAVOCE_ALLOWED_ORIGINS`` (exact origins; wildcard
  entries are ignored — the original allowed any ``*.vercel.app``, which anyone can
  host), the public URL's, or the page's own host; with no list in development, pages
  on this machine (loopback origins). No ``Origin`` (not a browser) is allowed.
* ``/voice?token=…`` runs the interview that token was issued for (once; a failure the
  operator must fix, such as a revoked key, or OpenAI's passing trouble, such as an
  outage, leaves it for the same link to try again);
* without a token an original client may start an interview from its
  ``candidateContext`` when ``settings.allow_open_interviews`` (dev default).

The key: each connection uses ``runtime.api_key`` as it is when the socket opens, so a
key rotated later applies to new interviews while live ones keep theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any

from fastapi import APIRouter, FastAPI, WebSocket
from openai import AsyncOpenAI
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from vivavoce.interview import browser_messages, resume_policy
from vivavoce.interview.actions import (
    Action,
    CloseBrowser,
    EndInterview,
    SendJson,
    TurnRecord,
)
from vivavoce.interview.candidate import CandidateContext, InterviewSettings
from vivavoce.interview.errors import UpstreamProblem
from vivavoce.interview.instructions import build_instructions
from vivavoce.interview.media import Media
from vivavoce.interview.session import InterviewSession, Limits, Phase
from vivavoce.keys import mask_key
from vivavoce.logs import interview_id_var
from vivavoce.openai_client import make_async_client
from vivavoce.pricing import PriceTable, TokenUsage, default_price_table, load_price_table
from vivavoce.realtime.call import hang_up, place_call
from vivavoce.realtime.errors import make_error_describer
from vivavoce.realtime.lightsync import Flag
from vivavoce.realtime.relay import InterviewGone, RelayLimits, VoiceRelay, wall_clock
from vivavoce.realtime.session_config import session_update
from vivavoce.realtime.upstream import Upstream, UpstreamConnectError, open_upstream
from vivavoce.redact import redact
from vivavoce.runtime import Runtime
from vivavoce.store import interviews as store
from vivavoce.store.models import Interview
from vivavoce.store.questions import pick_cached_questions
from vivavoce.store.start_batch import insert_new_interview
from vivavoce.store.write_gate import serialized_write
from vivavoce.tokens import InvalidInterviewToken, verify_interview_token
from vivavoce.web import auth_guard, budget_watch, link_guard, voice_leases
from vivavoce.web.api_budget import budget_refusal
from vivavoce.web.connection_limits import (
    CLOSE_TRY_AGAIN_LATER,
    ConnectionGate,
    ConnectionLimits,
    Refusal,
    Ticket,
)
from vivavoce.web.graceful import refuse_while_draining, relays_finished
from vivavoce.web.voice_adapters import (
    StarletteBrowser,
    origin_allowed,
    turn_record,
)
from vivavoce.web.voice_early import EarlyUpstream
from vivavoce.web.voice_store import start_evaluation, store_action
from vivavoce.web.voice_sweeper import end_abandoned_interviews, sweep_forever

__all__ = [
    "QUESTIONS_PER_INTERVIEW",
    "ServiceHooks",
    "end_abandoned_interviews",
    "ensure_simulator",
    "install",
    "on_shutdown",
    "on_startup",
    "origin_allowed",
    "router",
    "stop_relay_for_deletion",
]

log = logging.getLogger("vivavoce.voice")
router = APIRouter()
QUESTIONS_PER_INTERVIEW = 8


class ServiceHooks:
    """The service around one relay: database, OpenAI client, price table, logs."""

    def __init__(self, runtime: Runtime, *, interview_id: str | None,
                 ticket: Ticket | None = None, media: Media | None = None) -> None:
        self.runtime = runtime
        self.media = media  # the interview's transport: no early socket for a WebRTC call
        self._early: EarlyUpstream | None = None
        # The connection's admission (web/connection_limits.py): started here, or refused.
        self.ticket = ticket
        self.settings = runtime.settings
        self.token_interview_id = interview_id
        simulator = runtime.simulator
        self.simulator = simulator is not None
        self.base_url: str | None = simulator.base_url if simulator is not None else None
        if self.simulator:
            from vivavoce.simulator import SIMULATOR_KEY

            self.api_key: str | None = runtime.api_key or SIMULATOR_KEY
        else:
            self.api_key = runtime.api_key
        self.model = self.settings.realtime_model
        # Set once the interview's lease is taken (web/voice_leases.py).
        self.release_lease: voice_leases.Release = voice_leases.no_lease
        self.released = Flag()  # set once the relay ended and released it
        self.prices: PriceTable = runtime.prices or default_price_table()

    def price(self, usage: TokenUsage) -> float | None:
        return self.prices.cost(self.model, usage)

    def log_fields(self, relay: VoiceRelay) -> dict[str, Any]:
        return {
            "key": mask_key(self.api_key) if self.api_key else None,
            "model": self.model,
            "request_id": relay.upstream.request_id if relay.upstream is not None else None,
            "call_id": relay.call_id,
            "simulator": "yes" if self.simulator else None,
        }

    async def prepare(self, relay: VoiceRelay, context: dict[str, Any] | None) -> None:
        try:
            await self._prepare(relay, context)
        finally:
            if relay.session.interview_id is None:  # refused, failed, or the browser left
                await self.discard_early()

    def _connect_early(self, relay: VoiceRelay, model: str) -> None:
        """Open the upstream socket while the interview is prepared (web/voice_early.py);
        not for a WebRTC call (its sideband needs the call's id)."""
        if self.media is not None and self.media.on_webrtc:
            return
        self._early = EarlyUpstream(model, lambda: self._open(relay, model))

    async def discard_early(self) -> None:
        early, self._early = self._early, None
        if early is not None:
            await early.discard()

    async def _prepare(self, relay: VoiceRelay, context: dict[str, Any] | None) -> None:
        now = relay.clock
        session = relay.session
        # Spend limits (VIVAVOCE_DAILY/MONTHLY_BUDGET_USD): no new session once a period's
        # limit is spent; not fatal (the link starts once the budget allows). A database
        # hiccup here does not stop interviews (the start meets it).
        try:
            over_budget = await budget_refusal(self.runtime)
        except SQLAlchemyError as exc:
            log.warning("could not check the budget: %s", type(exc).__name__)
            over_budget = None
        if over_budget is not None:
            code, message = over_budget
            relay.feed(session.prepare_failed(code, message, now(), fatal=False))
            return
        if self.ticket is not None:
            # start_interview accepted: the connection counts as started, unless this
            # process already serves its capacity (a link's takeover is never refused).
            takeover = (self.token_interview_id is not None
                        and self.token_interview_id in _open_interviews(self.runtime))
            busy = self.ticket.start(takeover=takeover)
            if busy is not None:
                _refuse_relay(relay, busy)
                return
        history: list[TurnRecord] = []
        started_at: float | None = None
        link: Interview | None = None
        created: Interview | None = None  # the new interview's row, stored here
        if self.token_interview_id is not None:
            if not await self._previous_connection_gone(relay, self.token_interview_id):
                relay.feed(session.prepare_failed(
                    "interview_in_progress",
                    "This interview is already open in another window or tab.", now(),
                    fatal=True))
                return
            # Its row and lease: another instance driving it hands it over first.
            link, decision = await voice_leases.link_decision(
                self.runtime, self.token_interview_id, now)
            if isinstance(decision, resume_policy.Refuse) or link is None:
                refusal = (decision if isinstance(decision, resume_policy.Refuse)
                           else resume_policy.NOT_FOUND)
                _refuse_link(relay, refusal)
                return
            # Taken before the turns are read: from here on nobody else writes them.
            if not await self._take_lease(relay, link.id):
                return
            interview_settings = InterviewSettings.model_validate(link.settings)
            self._connect_early(relay, interview_settings.model)
        else:
            try:
                candidate = CandidateContext.model_validate(context or {})
            except ValidationError as exc:
                fields = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors()
                                           if e.get("loc")})) or "candidateContext"
                relay.feed(session.prepare_failed(
                    "invalid_candidate_context",
                    f"Please check these details and start again: {fields}.", now(),
                    fatal=False))
                return
            interview_settings = InterviewSettings.with_defaults(
                model=self.settings.realtime_model, voice=self.settings.voice,
                max_duration_s=self.settings.max_interview_seconds)
            self._connect_early(relay, interview_settings.model)
            # On SQLite, with the other starts' rows waiting (store/start_batch.py).
            link = await insert_new_interview(
                self.runtime.db, candidate=candidate, settings=interview_settings,
                owner_id=voice_leases.instance_id(self.runtime))
            created = link
        async with self.runtime.db.session() as s:
            interview = link
            if created is None:
                if isinstance(decision, resume_policy.Resume):
                    # Resuming after a drop: the clock keeps running from the first start
                    # (after a spend-limit pause, from where it stopped).
                    started_at = decision.started_at
                    if decision.paused_s is not None:
                        await store.set_clock(s, interview.id, paused_at=None,
                                              paused_s=decision.paused_s)
                    # All of them, empty ones too: they keep their numbers (the core
                    # seeds only what has words).
                    history = [turn_record(t)
                               for t in await store.list_turns(s, interview.id)]
                candidate = CandidateContext.model_validate(interview.candidate)
            # Seeded by the interview: a resumed session is given the same questions.
            questions = await pick_cached_questions(
                s, field=candidate.bank_field, level=candidate.bank_level,
                limit=QUESTIONS_PER_INTERVIEW, rng=random.Random(interview.id))
        interview_id_var.set(interview.id)
        self.model = interview_settings.model
        instructions = build_instructions(
            candidate, [q.text for q in questions], language=interview_settings.language,
            max_minutes=max(1, round(float(interview_settings.max_duration_s) / 60)),
            simulator=self.simulator)
        event = session_update(
            model=interview_settings.model, instructions=instructions,
            voice=interview_settings.voice,
            transcription_model=self.settings.transcription_model,
            turn_detection=self.settings.turn_detection,
            language=interview_settings.language)
        _open_interviews(self.runtime)[interview.id] = relay
        if created is not None and not await self._take_lease(relay, interview.id,
                                                              created=created):
            return
        relay.feed(session.prepared(
            interview.id, event, now(), model=interview_settings.model,
            limit_s=float(interview_settings.max_duration_s), started_at=started_at,
            history=history))
        if session.interview_id is None:
            _forget(self.runtime, interview.id, relay)
            if self.token_interview_id is not None:
                return  # the link can try again later
            # The browser left while we were preparing: this open interview never starts.
            async with serialized_write(self.runtime.db), self.runtime.db.session() as s:
                await store.mark_ended(s, interview.id, status="ended",
                                       reason="browser_disconnected_before_start",
                                       at=wall_clock(now()))

    async def _take_lease(self, relay: VoiceRelay, interview_id: str, created: Any = None) -> bool:
        """This process now drives the interview (web/voice_leases.py); False, after a
        retryable refusal, when another instance took it meanwhile (``created``: lease_for)."""
        release = await voice_leases.lease_for(self.runtime, relay, interview_id, created)
        if release is None:
            _refuse_link(relay, resume_policy.IN_PROGRESS_ELSEWHERE)
            return False
        self.release_lease = release
        return True

    async def _previous_connection_gone(self, relay: VoiceRelay, interview_id: str) -> bool:
        """Make way for this connection: another one on this instance serving the same
        interview is taken over (the newest connection of a link wins: after a network
        drop the server often learns of the old socket's death last), and waited for, so
        its last turns are stored before the resumed session starts after them. False
        when it did not finish in time."""
        other = _open_interviews(self.runtime).get(interview_id)
        if other is None or other is relay:
            return True
        if other.session.phase is not Phase.ENDED:
            other.replace()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(other.limits.flush_timeout_s
                                       + other.limits.db_drain_timeout_s + 5):
                await other.done.wait()
                if isinstance(other.hooks, ServiceHooks):  # and gave its lease back
                    await other.hooks.released.wait()
        return other.done.is_set()

    def _client(self) -> AsyncOpenAI:
        if not self.api_key:
            raise UpstreamConnectError(_key_missing())
        return openai_client(self.runtime, self.api_key, self.base_url)

    async def connect(self, relay: VoiceRelay) -> Upstream:
        early, self._early = self._early, None
        if early is not None and relay.call_id is None and early.model == self.model:
            return await early.take()  # opened while the interview was prepared
        if early is not None:
            await early.discard()
        return await self._open(relay, self.model)

    async def _open(self, relay: VoiceRelay, model: str) -> Upstream:
        return await open_upstream(self._client(), model, call_id=relay.call_id,
                                   connect_timeout_s=relay.limits.connect_timeout_s)

    async def create_call(self, relay: VoiceRelay, offer_sdp: str,
                          session: dict[str, Any]) -> tuple[str, str]:
        return await place_call(self._client(), offer_sdp, session,
                                timeout_s=relay.limits.connect_timeout_s)

    async def hang_up(self, relay: VoiceRelay, call_id: str) -> None:
        with contextlib.suppress(UpstreamConnectError):  # no key: no call to end
            await hang_up(self._client(), call_id)

    async def persist(self, relay: VoiceRelay, action: Action) -> None:
        interview_id = relay.session.interview_id
        if interview_id is None:
            return
        try:
            await store_action(self.runtime, interview_id, action, simulated=self.simulator)
        except store.InterviewNotFound:
            raise InterviewGone(interview_id) from None
        if isinstance(action, EndInterview):
            await start_evaluation(self.runtime, interview_id)


def _open_interviews(runtime: Runtime) -> dict[str, VoiceRelay]:
    """Interviews this instance is serving right now, and the relay serving each (a link
    opened again takes its interview over). Another instance cannot be seen from here:
    see docs/architecture.md."""
    return runtime.open_interviews


def _forget(runtime: Runtime, interview_id: str, relay: VoiceRelay) -> None:
    opened = _open_interviews(runtime)
    if opened.get(interview_id) is relay:
        del opened[interview_id]


async def stop_relay_for_deletion(runtime: Runtime, interview_id: str) -> bool:
    """Before the operator's delete takes an interview's rows away: end the relay serving
    it on this instance, if any (the browser is told the interview was removed, the
    upstream socket closes, nothing more is written) and wait until it has stopped, so
    no write of it races the delete. True when a relay was stopped in time.

    Relays on other instances find out at their next write (``InterviewGone``)."""
    relay = _open_interviews(runtime).get(interview_id)
    if relay is None:
        return False
    relay.remove()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(relay.limits.flush_timeout_s
                                   + relay.limits.db_drain_timeout_s + 5):
            await relay.done.wait()
    if not relay.done.is_set():
        log.warning("the relay of interview %s did not stop in time; deleting it anyway",
                    interview_id, extra={"interview_id": interview_id})
    return relay.done.is_set()


def _key_missing() -> UpstreamProblem:
    return UpstreamProblem(phase="connect", code="key_missing",
                           message="no OpenAI key is configured")


async def _refuse(websocket: WebSocket, code: str, message: str, *, close: int = 1008) -> None:
    with contextlib.suppress(Exception):  # the client may already be gone
        await websocket.send_json(browser_messages.error(code, message, fatal=True))
        await websocket.close(close, code)


def _refuse_link(relay: VoiceRelay, refusal: resume_policy.Refuse) -> None:
    """A link refused by resume_policy: final, or (``retry_after_s``) the retryable
    refusal shape, close 1013."""
    if refusal.retry_after_s is None:
        relay.feed(relay.session.prepare_failed(refusal.code, refusal.message, relay.clock(),
                                                fatal=True))
        return
    relay.feed([SendJson(browser_messages.error(refusal.code, refusal.message, fatal=True,
                                                retry_after_s=refusal.retry_after_s)),
                CloseBrowser(CLOSE_TRY_AGAIN_LATER, refusal.code)])


def _refuse_relay(relay: VoiceRelay, refusal: Refusal) -> None:
    """A refusal on a running relay (no interview yet): its error, then close 1013."""
    relay.feed([SendJson(refusal.message()),
                CloseBrowser(refusal.close_code, refusal.reason)])


async def _start_deadline(relay: VoiceRelay, ticket: Ticket) -> None:
    """Close a connection that has not started an interview by the deadline, or that a
    newer connection to the same link superseded first (web/connection_limits.py)."""
    superseded = await ticket.wait_superseded(ticket.seconds_to_start())
    if ticket.started or relay.done.is_set():
        return
    if superseded:
        relay.replace()
    else:
        _refuse_relay(relay, ticket.deadline_refusal())


def _gate(app: Any) -> ConnectionGate:
    # On app.state, not Runtime: runtime sits below web in the layers (pyproject.toml).
    gate = app.state.voice_gate
    assert isinstance(gate, ConnectionGate)
    return gate


@router.websocket("/voice")
async def voice(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    settings = runtime.settings
    if not origin_allowed(websocket.headers.get("origin"), websocket.headers.get("host"),
                          settings):
        log.warning("refused /voice from origin %s (not in VIVAVOCE_ALLOWED_ORIGINS): HTTP 403",
                    websocket.headers.get("origin", "")[:200])
        await websocket.close(1008)
        return
    await websocket.accept()
    token = websocket.query_params.get("token")
    interview_id: str | None = None
    if token:
        # Limits on guessing links (web/auth_guard.py, shared through the database): an
        # address past its free failures waits before its token is even looked at.
        subject = auth_guard.client_subject(websocket)
        wait = await auth_guard.retry_after(runtime, "link", subject)
        if wait is not None:
            with contextlib.suppress(Exception):  # the client may be gone already
                await websocket.send_json(browser_messages.error(
                    "too_many_attempts",
                    "Too many wrong interview links were tried from here. Please wait "
                    f"{wait} s and open your own link again.",
                    fatal=True, retryable=True, retry_after_s=wait))
                await websocket.close(CLOSE_TRY_AGAIN_LATER, "too_many_attempts")
            return
        try:
            interview_id = verify_interview_token(runtime.secret_key, token)
        except InvalidInterviewToken as exc:
            # An expired or re-issued link of ours is not a guess.
            if exc.reason == "invalid" and not link_guard.superseded(websocket):
                await auth_guard.record_failure(runtime, "link", subject)
            await _refuse(websocket, f"token_{exc.reason}", str(exc))
            return
    elif not settings.allow_open_interviews:
        await _refuse(websocket, "token_required",
                      "This interview needs a personal link. Ask the organiser for one.")
        return
    # Admission: caps per address (IPv6 per /64) and in all; a link's newest one passes.
    address = auth_guard.client_subject(websocket)
    takeover = interview_id is not None and interview_id in _open_interviews(runtime)
    admission = _gate(websocket.app).admit(address, takeover=takeover, link=interview_id)
    if isinstance(admission, Refusal):
        with contextlib.suppress(Exception):  # the client may be gone already
            await websocket.send_json(admission.message())
            await websocket.close(admission.close_code, admission.reason)
        return
    try:
        await _serve(websocket, runtime, interview_id, admission)
    finally:
        admission.release()


async def _serve(websocket: WebSocket, runtime: Runtime, interview_id: str | None,
                 admission: Ticket) -> None:
    settings = runtime.settings
    if settings.use_simulator:
        try:
            await ensure_simulator(runtime)
        except RuntimeError as exc:
            log.error("the built-in simulator could not start: %s", redact(str(exc)))
            await _refuse(websocket, "simulator_unavailable",
                          "The interview service is not available right now. Please try "
                          "again in a few minutes.", close=1011)
            return
    media = Media(settings.transport, settings.webrtc_connect_timeout_s)
    hooks = ServiceHooks(runtime, interview_id=interview_id, ticket=admission, media=media)
    relay_limits = runtime.options.relay_limits or RelayLimits()
    limits = runtime.options.interview_limits or Limits(
        max_duration_s=float(settings.max_interview_seconds),
        idle_timeout_s=float(settings.idle_timeout_seconds))
    session = InterviewSession(
        model=settings.realtime_model,
        describe_error=make_error_describer(settings.platform),
        limits=limits,
        price=hooks.price,
        simulator=hooks.simulator,
        # Only a link can come back: an open interview has nothing to reconnect with.
        resumable=interview_id is not None,
        media=media,
    )
    relay = VoiceRelay(StarletteBrowser(websocket), session, hooks, relay_limits)
    if runtime.draining:  # SIGTERM: this process is stopping (web/graceful.py)
        await refuse_while_draining(websocket)
        return
    runtime.voice_relays.append(relay)
    deadline = asyncio.create_task(_start_deadline(relay, admission), name="voice-deadline")
    try:
        await relay.run()
    finally:
        with contextlib.suppress(ValueError):
            runtime.voice_relays.remove(relay)
        deadline.cancel()
        if session.interview_id is not None:
            _forget(runtime, session.interview_id, relay)
        try:
            await hooks.discard_early()  # opened for a start that never connected
            await hooks.release_lease()
        finally:
            hooks.released.set()


def install(app: FastAPI, runtime: Runtime) -> None:
    app.include_router(router)
    # Per process: each worker or instance counts its own sockets (docs/security.md).
    app.state.voice_gate = ConnectionGate(ConnectionLimits.from_settings(runtime.settings))


def openai_client(runtime: Runtime, api_key: str, base_url: str | None) -> AsyncOpenAI:
    """The SDK client of ``api_key`` (and ``base_url``: the simulator's), one per process,
    shared by every interview."""
    client = runtime.openai_clients.get((api_key, base_url))
    if client is None:
        client = make_async_client(runtime.settings, api_key=api_key, base_url=base_url)
        runtime.openai_clients[(api_key, base_url)] = client
    return client


async def on_startup(app: FastAPI, runtime: Runtime) -> None:
    """Load the price table (a broken price file stops the start with its reason), build
    the key's SDK client and start the sweeper of abandoned interviews."""
    settings = runtime.settings
    runtime.prices = load_price_table(settings.prices_file)
    if runtime.api_key and not settings.use_simulator:
        # Built now, not by the first interview: its TLS context and the HTTP stack it
        # imports cost ~35 ms and ~2.5 MB once, and made before start-up ends they are
        # frozen out of the collector's scans with the rest (vivavoce.heap).
        openai_client(runtime, runtime.api_key, None)
    if settings.use_simulator:
        from vivavoce.simulator import SIMULATOR_NOTICE

        log.warning("%s", SIMULATOR_NOTICE)
    runtime.sweeper = asyncio.create_task(sweep_forever(runtime), name="voice-sweeper")
    budget_watch.start(runtime)
    await voice_leases.start_heartbeat(runtime)


async def ensure_simulator(runtime: Runtime) -> None:
    """Start the simulator on the first interview that needs it (not at start-up, so
    apps that never open /voice — API tests, one-off commands — do not pay for it)."""
    if runtime.simulator is not None:
        return
    async with runtime.simulator_lock:
        if runtime.simulator is None:
            from vivavoce.simulator import Simulator

            simulator = Simulator()
            await simulator.start()
            runtime.simulator = simulator


async def on_shutdown(app: FastAPI, runtime: Runtime) -> None:
    """Let finishing relays write, stop the sweeper, close the clients and the simulator."""
    await relays_finished(runtime)
    await voice_leases.stop_heartbeat(runtime)
    await budget_watch.stop(runtime)
    sweeper, runtime.sweeper = runtime.sweeper, None
    if sweeper is not None:
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)
    clients, runtime.openai_clients = runtime.openai_clients, {}
    await asyncio.gather(*(c.close() for c in clients.values()), return_exceptions=True)
    simulator, runtime.simulator = runtime.simulator, None
    if simulator is not None:
        await simulator.stop()
