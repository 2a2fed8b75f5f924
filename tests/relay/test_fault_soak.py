"""The fault soak: a hundred interviews through /voice and the fake OpenAI (real loopback
sockets), run in concurrent batches under random faults — the Realtime connection
dropped without a close frame, stalled, sent OpenAI's transient ``server_error``; the
browser's socket aborted mid-interview, then the link reopened or the candidate gone.

Afterwards:

* every candidate answer the fake transcribed (its ``transcripts_sent``: every answer is
  a unique line) is stored exactly once, in order; an answer cut by a drop before its
  transcript completed is stored ``partial`` with a prefix of what the fake heard;
* turn numbers are gap-free; no interview is left ``live`` but a link whose browser went
  away (resumable), and the sweeper ends those once their time is over;
* no relay object, task, file descriptor or fake session is left behind.

The faults are random but seeded: a failure names the seed, and
``VIVAVOCE_SOAK_SEED=<seed>`` replays the same plan (concurrency may still order events
differently). docs/reliability.md has the figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import random
import time
import weakref
from collections import defaultdict
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from websockets.exceptions import ConnectionClosed

from tests.fixtures.app_server import RunningApp
from tests.relay.voice_client import CONTEXT, VoiceClient, voice_client
from vivavoce.interview.candidate import CandidateContext, InterviewSettings
from vivavoce.interview.time_limits import Limits
from vivavoce.metrics_relay import RelayMeter
from vivavoce.runtime import RuntimeOptions
from vivavoce.store.database import Database
from vivavoce.store.interviews import create_interview, list_interviews, list_turns
from vivavoce.testing import FakeConfig
from vivavoce.testing.fake_config import SessionFaults
from vivavoce.testing.fake_records import RealtimeSessionRecord
from vivavoce.tokens import issue_interview_token
from vivavoce.web.voice import end_abandoned_interviews

T = TypeVar("T")
RUNS = int(os.environ.get("VIVAVOCE_SOAK_RUNS", "100"))
BATCH = 10  # interviews at once
FD_SLACK = 8  # pools may grow by a few; a leak per interview or per fault is dozens
TASK_SLACK = 4
MAX_CONNECTIONS = 3  # per interview: the first, and reopened links


def soak_seed() -> int:
    value = os.environ.get("VIVAVOCE_SOAK_SEED")
    return int(value) if value else random.randrange(2**32)


@contextlib.contextmanager
def named_seed(seed: int) -> Iterator[None]:
    """Any failure says how to replay it."""
    try:
        yield
    except BaseException as exc:
        exc.add_note(f"fault soak seed {seed}: replay with VIVAVOCE_SOAK_SEED={seed}")
        raise


def short_lines(view: Any) -> str:
    """Short interviewer lines keep a hundred interviews quick (the words vary so that a
    reply is several events long, for faults to land inside it)."""
    return "Thank you. Could you tell me more about that, please?"


@dataclass
class Plan:
    """What happens to one interview, drawn from its own seeded generator."""

    index: int
    link: bool
    answers: int
    # (answer index, moment) where the browser's socket is aborted, or None.
    browser_drop: tuple[int, str] | None
    come_back: bool  # a link reopened after the browser drop
    leave_at_end: bool  # a link whose candidate goes away instead of ending
    session_faults: list[SessionFaults]

    @property
    def name(self) -> str:
        return f"Soak Candidate {self.index:03d}"


def draw_plan(seed: int, index: int) -> Plan:
    rng = random.Random(f"{seed}/{index}")
    link = rng.random() < 0.6
    answers = rng.randint(2, 4)
    browser_drop = None
    if rng.random() < 0.35:
        browser_drop = (
            rng.randrange(answers),
            rng.choice(["before_answer", "mid_answer", "after_transcript", "mid_reply"]),
        )
    faults: list[SessionFaults] = []
    for _ in range(5):
        kind = rng.choice(["none", "none", "drop", "drop", "stall", "error", "error_drop"])
        at = rng.randint(2, 90)
        if kind == "drop":
            faults.append(SessionFaults(drop_after_events=at))
        elif kind == "stall":
            faults.append(SessionFaults(stall_after_events=at, stall_s=rng.choice([0.2, 0.5, 1.0])))
        elif kind == "error":
            faults.append(SessionFaults(error_after_events=at))
        elif kind == "error_drop":
            faults.append(
                SessionFaults(error_after_events=at, drop_after_events=at + rng.randint(1, 40))
            )
        else:
            faults.append(SessionFaults())
    return Plan(
        index,
        link,
        answers,
        browser_drop,
        come_back=link and rng.random() < 0.8,
        leave_at_end=link and rng.random() < 0.15,
        session_faults=faults,
    )


@dataclass
class Outcome:
    interview_id: str | None = None
    connections: int = 0
    went_away: bool = False  # the candidate left a link interview without ending it
    endings: list[str] = field(default_factory=list)


class Ended(Exception):
    """The interview ended on this connection (or its socket closed)."""


async def until(client: VoiceClient, *kinds: str) -> dict[str, Any]:
    """Read until a message of one of ``kinds``; Ended at ``interview_ended`` or a close."""
    while True:
        try:
            message = await client.receive_one()
        except ConnectionClosed:
            raise Ended from None
        except TimeoutError:
            raise AssertionError(
                f"waited for {kinds}; the last messages: {client.types()[-12:]}"
            ) from None
        if isinstance(message, dict):
            if message.get("type") in kinds:
                return message
            if message.get("type") == "interview_ended":
                raise Ended(str(message.get("reason")))


async def answered(client: VoiceClient, moment: str | None) -> bool:
    """After an answer: its transcript, then the interviewer's reply (a usage message).
    An upstream drop may have lost the answer: after ``interview_resumed`` the new
    session's reply is what comes. False when the browser is to drop at ``moment``
    (the caller aborts): as soon as the answer is heard to begin (``mid_answer``), once
    its transcript came, or while the reply streams."""
    kinds = ("student_transcription", "interview_resumed", "student_speech_started")
    while (message := await until(client, *kinds))["type"] == "student_speech_started":
        if moment == "mid_answer":
            return False
    if message["type"] == "student_transcription" and moment == "after_transcript":
        return False
    if moment == "mid_reply":
        return (await until(client, "ai_transcription", "usage"))["type"] == "usage"
    await until(client, "usage")
    return True


def abort(client: VoiceClient) -> None:
    """The browser's connection dies: no close frame, the TCP connection reset."""
    transport = client.ws.transport
    transport.abort()


async def run_interview(app: RunningApp, plan: Plan, token: str | None, outcome: Outcome) -> None:
    url = app.voice_url(token)
    said = 0
    drop = plan.browser_drop
    for _ in range(MAX_CONNECTIONS):
        outcome.connections += 1
        async with voice_client(url) as client:
            try:
                context = {} if plan.link else {**CONTEXT, "name": plan.name}
                await client.send_json({"type": "start_interview", "candidateContext": context})
                started = await until(client, "interview_started", "error")
                if started["type"] == "error":  # refused (e.g. still open elsewhere)
                    outcome.endings.append(str(started.get("code")))
                    outcome.went_away = plan.link
                    return
                outcome.interview_id = str(started["interview_id"])
                await until(client, "usage")  # the greeting (or welcome back) went through
                while said < plan.answers:
                    moment = drop[1] if drop is not None and drop[0] == said else None
                    if moment == "before_answer":
                        break
                    await client.say()
                    said += 1
                    if not await answered(client, moment):
                        break
                else:
                    if plan.leave_at_end:
                        abort(client)
                        outcome.went_away = True
                        return
                    await client.send_json({"type": "end_interview"})
                    await until(client, "interview_ended")
                    outcome.endings.append("candidate_ended")
                    return
                # The browser's connection dies here.
                abort(client)
                drop = None
                if not (plan.link and plan.come_back):
                    outcome.went_away = plan.link
                    return
            except Ended as ended:
                outcome.endings.append(str(ended) or "closed")
                if not plan.link:
                    return
                # A link that lost OpenAI for good is retryable: come back with it.
    outcome.went_away = plan.link


@dataclass
class SoakFake:
    """Gives each Realtime session the plan's faults for its interview, in order."""

    plans: dict[str, Plan]
    sessions: dict[int, list[RealtimeSessionRecord]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def interview_of(self, record: RealtimeSessionRecord) -> int | None:
        instructions = str(record.session_config.get("instructions", ""))
        for name, plan in self.plans.items():
            if name in instructions:
                return plan.index
        return None

    def faults(self, record: RealtimeSessionRecord) -> SessionFaults | None:
        index = self.interview_of(record)
        if index is None:
            return None
        opened = self.sessions[index]
        opened.append(record)
        plan = next(p for p in self.plans.values() if p.index == index)
        return (
            plan.session_faults[len(opened) - 1]
            if len(opened) <= len(plan.session_faults)
            else None
        )


async def create_links(app: RunningApp, plans: list[Plan]) -> dict[int, str]:
    db = Database(app.database_url)
    settings = app.runtime.settings
    tokens: dict[int, str] = {}
    try:
        async with db.session() as s:
            for plan in plans:
                if plan.link:
                    created = await create_interview(
                        s,
                        candidate=CandidateContext(name=plan.name, major="Physics"),
                        settings=InterviewSettings.with_defaults(
                            model=settings.realtime_model,
                            voice=settings.voice,
                            max_duration_s=settings.max_interview_seconds,
                        ),
                    )
                    tokens[plan.index] = issue_interview_token(app.runtime.secret_key, created.id)
    finally:
        await db.dispose()
    return tokens


async def run_batches(app: RunningApp, plans: list[Plan], outcomes: dict[int, Outcome]) -> None:
    tokens = await create_links(app, plans)
    for start in range(0, len(plans), BATCH):
        batch = plans[start : start + BATCH]
        for plan in batch:
            outcomes[plan.index] = Outcome()
        await asyncio.gather(
            *(
                run_interview(app, plan, tokens.get(plan.index), outcomes[plan.index])
                for plan in batch
            )
        )


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def settle(check: Callable[[], bool], what: Callable[[], str]) -> None:
    for attempt in range(200):  # a hang guard only: a leak never settles
        if check():
            return
        if attempt % 10 == 0:
            gc.collect()
        await asyncio.sleep(0.05)
    raise AssertionError(what())


@pytest.mark.slow
@pytest.mark.timeout(240)  # a hang guard: it takes well under a minute
async def test_a_hundred_interviews_under_random_faults(
    make_app_server: Callable[..., RunningApp],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed = soak_seed()
    print(f"fault soak seed {seed} (replay: VIVAVOCE_SOAK_SEED={seed})")
    with named_seed(seed):
        await soak(seed, make_app_server, monkeypatch)


async def soak(
    seed: int, make_app_server: Callable[..., RunningApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    meters: list[weakref.ref[RelayMeter]] = []
    ended: list[int] = []
    loops: list[asyncio.AbstractEventLoop] = []
    counted, ending = RelayMeter.connected, RelayMeter.ended

    def connected(meter: RelayMeter, now: float) -> None:
        loops[:] = [asyncio.get_running_loop()]  # the server's loop
        meters.append(weakref.ref(meter))
        counted(meter, now)

    def end(meter: RelayMeter, session: Any) -> None:
        ending(meter, session)
        ended.append(1)

    monkeypatch.setattr(RelayMeter, "connected", connected)
    monkeypatch.setattr(RelayMeter, "ended", end)
    # Quick recoveries (the bound stays 3 within 60 s) keep the soak short.
    app = make_app_server(
        options=RuntimeOptions(interview_limits=Limits(recovery_backoff_s=(0.05, 0.1, 0.2)))
    )
    assert app.fake is not None
    fake_config: FakeConfig = app.fake.fake.config
    fake_config.responder = short_lines
    numbers = iter(range(1_000_000))
    fake_config.transcriber = lambda view: (
        f"My answer number {next(numbers)} is about the telemetry dashboard I built."
    )

    # Warm-up without faults, at the soak's concurrency: pools and caches reach the size
    # they keep (the baseline below is taken after it).
    warm = [Plan(1000 + i, i % 2 == 0, 1, None, False, False, []) for i in range(BATCH)]
    warm_outcomes: dict[int, Outcome] = {}
    fake_config.session_faults = SoakFake({p.name: p for p in warm}).faults
    await run_batches(app, warm, warm_outcomes)
    await settle(lambda: len(ended) == len(meters), lambda: "the warm-up's relays never ended")
    await settle(lambda: all(r() is None for r in meters), lambda: "warm-up relays kept")
    fds = open_fds()
    tasks_before = await server_tasks(loops[0])

    plans = [draw_plan(seed, i) for i in range(RUNS)]
    soak_fake = SoakFake({p.name: p for p in plans})
    fake_config.session_faults = soak_fake.faults
    outcomes: dict[int, Outcome] = {}
    began = time.monotonic()
    await run_batches(app, plans, outcomes)
    print(f"fault soak: {RUNS} interviews in {time.monotonic() - began:.1f} s")

    # Every relay ended and is gone; no fake session is still open.
    await settle(lambda: len(ended) == len(meters), lambda: "a relay never ended")
    await settle(
        lambda: all(r() is None for r in meters),
        lambda: f"{sum(r() is not None for r in meters)} relays still referenced",
    )
    records = app.fake.fake.sessions  # type: ignore[union-attr]
    await settle(
        lambda: all(s.close_code is not None for s in records if s.accepted),
        lambda: (
            f"Realtime sessions left open: {[s for s in records if s.accepted and s.close_code is None]}"
        ),
    )
    assert not app.runtime.open_interviews
    await check_stored(app, plans, outcomes, soak_fake, loops[0])
    await settle(
        lambda: open_fds() <= fds + FD_SLACK, lambda: f"descriptors: {open_fds()} now, {fds} before"
    )
    for _ in range(100):  # hang guard: tasks finishing a closing handshake go
        tasks_after = await server_tasks(loops[0])
        if tasks_after <= tasks_before + TASK_SLACK:
            break
        await asyncio.sleep(0.05)
    assert tasks_after <= tasks_before + TASK_SLACK, (tasks_before, tasks_after)
    faults = [f for p in plans for f in p.session_faults[: len(soak_fake.sessions[p.index])]]
    print(
        f"fault soak: {len(app.fake.fake.sessions)} Realtime sessions, "  # type: ignore[union-attr]
        f"{sum(s.dropped for s in app.fake.fake.sessions)} dropped, "  # type: ignore[union-attr]
        f"{sum(bool(s.stalls) for s in app.fake.fake.sessions)} stalled, "  # type: ignore[union-attr]
        f"{sum(f.error_after_events is not None for f in faults)} error plans, "
        f"{sum(o.connections for o in outcomes.values())} browser connections"
    )


async def on_loop(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the server's loop (its database engine lives there)."""
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))


async def server_tasks(loop: asyncio.AbstractEventLoop) -> int:
    async def count() -> int:
        return len(asyncio.all_tasks())

    return await on_loop(loop, count())


def describe(
    plan: Plan, outcome: Outcome, sessions: list[RealtimeSessionRecord], turns: list[Any]
) -> str:
    """What a failing interview went through: its plan, its sessions, its stored turns."""
    lines = [f"interview {plan.index}: {plan}", f"  outcome {outcome}"]
    for record in sessions:
        lines.append(
            f"  session: dropped={record.dropped} flushed={record.drop_flushed} "
            f"stalls={len(record.stalls)} closed={record.close_code} "
            f"by={record.closed_by} sent={record.transcripts_sent} "
            f"heard={record.user_transcripts} events={record.events_sent} "
            f"received={[e for e in record.events_received if 'append' not in e]}"
        )
    lines += [f"  turn {t.sequence} {t.speaker} {t.state}: {t.text}" for t in turns]
    return "\n".join(lines)


async def check_stored(
    app: RunningApp,
    plans: list[Plan],
    outcomes: dict[int, Outcome],
    soak_fake: SoakFake,
    loop: asyncio.AbstractEventLoop,
) -> None:
    db = Database(app.database_url)
    try:
        # The last writes of each relay are done before its meter ends (run() drains its
        # database queue first), so everything is stored by now.
        async with db.session() as s:
            rows = {row.id: row for row in (await list_interviews(s, limit=1000))[0]}
            for plan in plans:
                outcome = outcomes[plan.index]
                assert outcome.interview_id is not None, (plan, outcome)
                row = rows[outcome.interview_id]
                turns = await list_turns(s, row.id)
                context = describe(plan, outcome, soak_fake.sessions[plan.index], turns)
                assert [t.sequence for t in turns] == list(range(len(turns))), context
                sessions = soak_fake.sessions[plan.index]
                sent = [text for record in sessions for text in record.transcripts_sent]
                heard = [text for record in sessions for text in record.user_transcripts]
                answers = [t for t in turns if t.speaker == "candidate"]
                complete = [t.text for t in answers if t.state != "partial"]
                assert complete == sent, context
                for partial in (t for t in answers if t.state == "partial"):
                    assert any(h.startswith(partial.text) for h in heard), (partial.text, context)
                if row.status == "live":
                    assert plan.link and outcome.went_away, (row.status, context)
                else:
                    assert row.status in ("ended", "failed"), context
        # The sweeper's window: once their time is over, the resumable ones end too.
        await on_loop(loop, end_abandoned_interviews(app.runtime, now=time.time() + 10 * 3600))
        async with db.session() as s:
            live, _ = await list_interviews(s, status="live", limit=1000)
            assert not live, [row.id for row in live]
    finally:
        await db.dispose()
