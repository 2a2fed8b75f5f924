"""Data access for interviews and their turns.

Small keyword-only functions over an :class:`~sqlalchemy.ext.asyncio.AsyncSession`. Every
function that writes commits before returning: a turn is one transaction, so a crash
loses at most the turn in flight, and callers never hold a transaction open across an
``await`` on the network.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import (
    Boolean,
    Integer,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from vivavoce.interview.candidate import CandidateContext, InterviewSettings
from vivavoce.pricing import TokenUsage
from vivavoce.store.database import one_statement_transaction
from vivavoce.store.models import (
    SPEAKERS,
    TURN_STATES,
    Instance,
    Interview,
    Money,
    Turn,
    UTCDateTime,
    utcnow,
)
from vivavoce.store.outbox import add_event, insert_event

__all__ = [
    "InterviewNotFound",
    "InterviewStateError",
    "TurnConflict",
    "add_turn",
    "add_usage",
    "create_interview",
    "delete_interview",
    "interview_values",
    "INSERT_INTERVIEWS",
    "get_interview",
    "list_interviews",
    "list_turns",
    "mark_ended",
    "mark_live",
    "record_failed_attempt",
]


class InterviewNotFound(LookupError):
    """No interview with that id."""


class InterviewStateError(ValueError):
    """The interview is in a status that does not allow the change (e.g. live again after
    it ended)."""


class TurnConflict(ValueError):
    """A different turn (another upstream item) already holds that sequence number."""


# NUL and lone surrogates: valid in a JSON string ("\u0000", "\ud800"), so they can reach
# us in an upstream transcript, but PostgreSQL's text type refuses NUL and no UTF-8
# encoder takes a surrogate. Storing the rest beats losing the whole turn.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value: str | None) -> str | None:
    return None if value is None else _UNSTORABLE.sub("", value)


# The start's statements are built once (issue 12): building an INSERT or UPDATE and
# its cache key at every call cost about as much CPU as running it. Parameters only.
_INTERVIEWS = cast(Table, Interview.__table__)
# The owner named only while its instances row exists (a pruned one: unowned, generation 0).
_OWNER = select(Instance.id).where(Instance.id == bindparam("owner_ref")).scalar_subquery()
_INSERT_INTERVIEW = (
    insert(_INTERVIEWS)
    .values(owner_id=_OWNER, lease_generation=case((_OWNER.is_not(None), 1), else_=0))
    .returning(*_INTERVIEWS.c)
)
# The same for several rows at once (store/start_batch.py, SQLite only): its rows in the
# order of their parameters.
INSERT_INTERVIEWS = (
    insert(_INTERVIEWS)
    .values(owner_id=_OWNER, lease_generation=case((_OWNER.is_not(None), 1), else_=0))
    .returning(*_INTERVIEWS.c, sort_by_parameter_order=True)
)
_CAN_GO_LIVE = (_INTERVIEWS.c.id == bindparam("interview_ref"),
                _INTERVIEWS.c.status.in_(("created", "live")))
_LIVE = {"status": "live", "end_reason": None, "error_code": None,
         "simulated": _INTERVIEWS.c.simulated | bindparam("simulated_now", type_=Boolean)}
_FIRST_LIVE = (update(_INTERVIEWS)
               .where(*_CAN_GO_LIVE, _INTERVIEWS.c.started_at.is_(None))
               .values(started_at=bindparam("live_at", type_=UTCDateTime()), **_LIVE))
# Typed, so the value is converted to UTC like any other timestamp on SQLite.
_LIVE_AGAIN = (update(_INTERVIEWS).where(*_CAN_GO_LIVE).values(
    started_at=func.coalesce(_INTERVIEWS.c.started_at,
                             bindparam("live_at", type_=UTCDateTime())), **_LIVE))
# A response's usage added (``col = col + n``: no increment lost to a concurrent writer);
# a Core UPDATE of the table, no ORM evaluation of the WHERE against loaded objects.
_USAGE_COLUMNS = ("input_text", "input_audio", "input_cached", "output_text", "output_audio")
_ADD_USAGE = (update(_INTERVIEWS).where(_INTERVIEWS.c.id == bindparam("interview_ref")).values(
    {_INTERVIEWS.c[f"{name}_tokens"]: _INTERVIEWS.c[f"{name}_tokens"]
     + bindparam(f"add_{name}", type_=Integer()) for name in _USAGE_COLUMNS}
    | {_INTERVIEWS.c.cost_usd: _INTERVIEWS.c.cost_usd + case(
        (_INTERVIEWS.c.simulated, literal(0.0, Money)), else_=bindparam("add_cost", type_=Money))}))


async def create_interview(
    s: AsyncSession,
    *,
    candidate: CandidateContext,
    settings: InterviewSettings,
    interview_id: str | None = None,
    note: str | None = None,
    reference: str | None = None,
    token_nonce: str | None = None,
    token_expires_at: datetime | None = None,
    owner_id: str | None = None,
) -> Interview:
    """Store a new interview in status ``created`` and return it (the operator's note and
    reference, and the link's nonce and expiry, when given): the stored row, not attached
    to ``s``.

    ``owner_id``: the instance that will drive it takes its lease in the same insert
    (``lease_generation`` 1, as a first :func:`~vivavoce.store.leases.take_lease` would
    leave it): one statement and one commit instead of three and two. An instance
    without an ``instances`` row (pruned) is not named: the interview is stored without
    an owner, the caller sees ``owner_id`` None and takes the lease the usual way."""
    # INSERT … RETURNING: the row comes back whole (defaults included).
    await one_statement_transaction(s)
    row = (await s.execute(_INSERT_INTERVIEW, interview_values(
        candidate=candidate, settings=settings, interview_id=interview_id, note=note,
        reference=reference, token_nonce=token_nonce, token_expires_at=token_expires_at,
        owner_id=owner_id))).one()
    await s.commit()
    return Interview(**row._mapping)


def interview_values(
    *,
    candidate: CandidateContext,
    settings: InterviewSettings,
    interview_id: str | None = None,
    note: str | None = None,
    reference: str | None = None,
    token_nonce: str | None = None,
    token_expires_at: datetime | None = None,
    owner_id: str | None = None,
) -> dict[str, Any]:
    """The parameters of one new interview's row in :func:`create_interview`'s insert
    and in :data:`INSERT_INTERVIEWS` (its arguments)."""
    return {
        "id": interview_id or str(uuid.uuid4()),
        "note": _storable(note),
        "reference": _storable(reference),
        "token_nonce": token_nonce,
        "token_expires_at": token_expires_at,
        "status": "created",
        "created_at": utcnow(),
        "candidate": candidate.model_dump(mode="json"),
        "settings": settings.model_dump(mode="json"),
        "model": settings.model,
        "owner_ref": owner_id,
    }


async def get_interview(s: AsyncSession, interview_id: str) -> Interview | None:
    """The interview, freshly read (not a stale copy from the session's identity map)."""
    result = await s.execute(
        select(Interview).where(Interview.id == interview_id).execution_options(
            populate_existing=True
        )
    )
    return result.scalar_one_or_none()


async def list_interviews(
    s: AsyncSession,
    *,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Interview], int]:
    """A page of interviews, newest first, and how many match in total.

    ``since`` is inclusive and ``until`` exclusive (on ``created_at``). Raises ValueError
    for a negative offset or a limit outside 1…1000.
    """
    if not 1 <= limit <= 1000:
        raise ValueError("limit must be between 1 and 1000")
    if offset < 0:
        raise ValueError("offset must not be negative")
    conditions = []
    if status is not None:
        conditions.append(Interview.status == status)
    if since is not None:
        conditions.append(Interview.created_at >= since)
    if until is not None:
        conditions.append(Interview.created_at < until)
    total = await s.scalar(select(func.count()).select_from(Interview).where(*conditions))
    page = await s.scalars(
        select(Interview)
        .where(*conditions)
        .order_by(Interview.created_at.desc(), Interview.id)
        .limit(limit)
        .offset(offset)
    )
    return list(page), int(total or 0)


async def _require(s: AsyncSession, interview_id: str) -> Interview:
    interview = await get_interview(s, interview_id)
    if interview is None:
        raise InterviewNotFound(interview_id)
    return interview


async def mark_live(
    s: AsyncSession, interview_id: str, *, at: datetime, simulated: bool = False
) -> None:
    """Status ``live``; ``started_at`` keeps the first start (a resumed interview goes
    live again). A failed attempt's record (see :func:`record_failed_attempt`) is cleared:
    this attempt works. ``simulated``: this session runs against the built-in simulator
    (once set it stays: the stored turns are the simulator's). Raises InterviewNotFound,
    or InterviewStateError once it has ended."""
    values = {"interview_ref": interview_id, "live_at": at, "simulated_now": simulated}
    # The first start (compare-and-set on started_at IS NULL) is the one reported to
    # webhooks, in this same transaction; a resumed interview goes live without an event.
    first = await s.execute(_FIRST_LIVE, values)
    if getattr(first, "rowcount", 0) == 1:
        result = first
        await insert_event(s, "interview.started",
                           {"id": interview_id, "state": "live", "scores": None},
                           interview_id=interview_id, at=at)
    else:
        result = await s.execute(_LIVE_AGAIN, values)
    await s.commit()
    if getattr(result, "rowcount", 0) == 0:
        interview = await _require(s, interview_id)
        raise InterviewStateError(
            f"interview {interview_id} is {interview.status}; it cannot go live again"
        )


async def mark_ended(
    s: AsyncSession,
    interview_id: str,
    *,
    status: Literal["ended", "failed"],
    reason: str,
    error_code: str | None = None,
    at: datetime,
) -> bool:
    """End the interview (``ended``, or ``failed`` with an error code). The first end
    wins: returns False, changing nothing, when it had already ended. Raises
    InterviewNotFound, or ValueError for another status."""
    if status not in ("ended", "failed"):
        raise ValueError(f"an interview ends as 'ended' or 'failed', not {status!r}")
    result = await s.execute(
        update(Interview)
        .where(Interview.id == interview_id, Interview.status.in_(("created", "live")))
        .values(
            status=status,
            end_reason=_storable(reason),
            error_code=_storable(error_code),
            ended_at=at,
        )
    )
    if getattr(result, "rowcount", 0) == 1:
        add_event(s, "interview.ended", {"id": interview_id, "state": status,
                                         "end_reason": _storable(reason), "scores": None},
                  interview_id=interview_id, at=at)
    await s.commit()
    if getattr(result, "rowcount", 0) == 0:
        await _require(s, interview_id)
        return False
    return True


async def record_failed_attempt(
    s: AsyncSession, interview_id: str, *, reason: str, error_code: str | None = None
) -> bool:
    """Record why an attempt at a ``created`` or ``live`` interview failed without ending
    it (a link tries again once the operator has fixed the cause): ``end_reason`` and
    ``error_code`` hold it, the status and ``ended_at`` stay, until :func:`mark_live`
    clears it or an end replaces it. Returns False, changing nothing, when the interview
    has already ended. Raises InterviewNotFound."""
    result = await s.execute(
        update(Interview)
        .where(Interview.id == interview_id, Interview.status.in_(("created", "live")))
        .values(end_reason=_storable(reason), error_code=_storable(error_code))
    )
    await s.commit()
    if getattr(result, "rowcount", 0) == 0:
        await _require(s, interview_id)
        return False
    return True


async def set_clock(
    s: AsyncSession, interview_id: str, *, paused_at: float | None, paused_s: float | None = None
) -> bool:
    """A live interview's clock (kept in its settings, see InterviewSettings): stopped at
    ``paused_at`` (Unix seconds) by a spend-limit pause, or running again (``paused_at``
    None) with ``paused_s`` seconds of pauses in all. Returns False, changing nothing,
    unless the interview is ``live``. Raises InterviewNotFound."""
    interview = await _require(s, interview_id)
    if interview.status != "live":
        return False
    settings = {**interview.settings, "paused_at": paused_at}
    if paused_s is not None:
        settings["paused_s"] = paused_s
    InterviewSettings.model_validate(settings)  # a bad value fails here, not at resume
    interview.settings = settings
    await s.commit()
    return True


async def add_usage(
    s: AsyncSession,
    interview_id: str,
    *,
    input_text: int = 0,
    input_audio: int = 0,
    input_cached: int = 0,
    output_text: int = 0,
    output_audio: int = 0,
    cost_usd: float = 0.0,
) -> None:
    """Add to the interview's token counts and cost in one UPDATE (``col = col + n``), so
    concurrent writers never lose an increment. A simulated interview (see
    :func:`mark_live`) keeps its tokens but its cost stays 0: nothing was billed. Raises
    ValueError for negative amounts, InterviewNotFound for an unknown interview."""
    await _add_usage(s, interview_id, TokenUsage(
        input_text=input_text, input_audio=input_audio, input_cached_text=input_cached,
        output_text=output_text, output_audio=output_audio), cost_usd)
    await s.commit()


async def _add_usage(s: AsyncSession, interview_id: str, usage: TokenUsage,
                     cost_usd: float) -> None:
    """The usage's UPDATE, in autocommit (its own transaction, whatever follows on
    ``s``), not committed by the session: :func:`add_usage`, or a turn's write."""
    amounts = {"add_input_text": usage.input_text, "add_input_audio": usage.input_audio,
               "add_input_cached": usage.input_cached, "add_output_text": usage.output_text,
               "add_output_audio": usage.output_audio}
    if any(n < 0 for n in amounts.values()) or cost_usd < 0:
        raise ValueError("usage amounts cannot be negative")
    await one_statement_transaction(s)
    result = await s.execute(_ADD_USAGE, {**amounts, "add_cost": cost_usd,
                                          "interview_ref": interview_id})
    if getattr(result, "rowcount", 0) == 0:
        raise InterviewNotFound(interview_id)


async def delete_interview(s: AsyncSession, interview_id: str) -> bool:
    """Delete the interview and (by cascade) its turns and evaluation. False if absent."""
    result = await s.execute(delete(Interview).where(Interview.id == interview_id))
    await s.commit()
    return bool(getattr(result, "rowcount", 0))


async def _find_turn(
    s: AsyncSession, interview_id: str, sequence: int, item_id: str | None
) -> Turn | None:
    if item_id:
        by_item = await s.scalar(
            select(Turn)
            .where(Turn.interview_id == interview_id, Turn.item_id == item_id)
            .execution_options(populate_existing=True)
        )
        if by_item is not None:
            return by_item
    return await s.scalar(
        select(Turn)
        .where(Turn.interview_id == interview_id, Turn.sequence == sequence)
        .execution_options(populate_existing=True)
    )


async def add_turn(
    s: AsyncSession,
    *,
    interview_id: str,
    sequence: int,
    speaker: Literal["interviewer", "candidate"],
    text: str,
    started_at: datetime | None,
    ended_at: datetime | None,
    audio_ms: int | None,
    item_id: str | None,
    state: Literal["complete", "interrupted", "partial"],
    full_text: str | None = None,
    usage: TokenUsage | None = None,
    cost_usd: float = 0.0,
) -> Turn:
    """Store one turn in its own transaction and return it.

    Idempotent: a turn with the same upstream ``item_id`` (or, without one, the same
    ``sequence``) is updated in place rather than duplicated, so a retried write is
    harmless and a ``partial`` turn can later become ``complete``. Raises ValueError for
    an unknown speaker or state or a negative sequence, InterviewNotFound for an unknown
    interview, TurnConflict when the sequence already belongs to another item.
    ``full_text``: an interrupted interviewer turn's whole text (``text`` is what was
    heard); kept when a later write does not repeat it. ``usage`` (and its ``cost_usd``):
    the response's usage, added as :func:`add_usage` does, first and exactly once (also
    when the turn was stored before, or is refused), through the same session and
    connection (a separate write would cost as much as the turn's): InterviewNotFound
    then comes before any turn is written.
    """
    if usage is not None:  # billed whatever becomes of the turn
        await _add_usage(s, interview_id, usage, cost_usd)
    if speaker not in SPEAKERS:
        raise ValueError(f"speaker must be one of {SPEAKERS}, not {speaker!r}")
    if state not in TURN_STATES:
        raise ValueError(f"state must be one of {TURN_STATES}, not {state!r}")
    if sequence < 0:
        raise ValueError("sequence must not be negative")
    text = _storable(text) or ""
    item_id = _storable(item_id) or None
    full_text = _storable(full_text) or None
    values: dict[str, Any] = {
        "interview_id": interview_id, "sequence": sequence, "speaker": speaker, "text": text,
        "started_at": started_at, "ended_at": ended_at, "audio_ms": audio_ms,
        "item_id": item_id, "state": state, "full_text": full_text,
    }
    for _attempt in range(2):
        # The usual case, a new turn, is one statement; only a turn stored before (the
        # same item or sequence) is looked up and updated.
        turn_id = await _insert_new_turn(s, values)
        if turn_id is not None:
            return Turn(id=turn_id, **values)
        existing = await _find_turn(s, interview_id, sequence, item_id)
        if existing is not None:
            if item_id and existing.item_id and existing.item_id != item_id:
                raise TurnConflict(
                    f"turn {sequence} of interview {interview_id} is item "
                    f"{existing.item_id}, not {item_id}"
                )
            existing.text = text
            existing.state = state
            existing.full_text = full_text or existing.full_text
            existing.ended_at = ended_at if ended_at is not None else existing.ended_at
            existing.audio_ms = audio_ms if audio_ms is not None else existing.audio_ms
            existing.item_id = existing.item_id or item_id
            await s.commit()
            return existing
        # Deleted between our insert and our read: try the insert once more.
    raise TurnConflict(f"turn {sequence} of interview {interview_id} kept changing under us")


_TURNS = cast(Table, Turn.__table__)
_TURN_COLUMNS = ("interview_id", "sequence", "speaker", "text", "started_at", "ended_at",
                 "audio_ms", "item_id", "state", "full_text")


def _insert_turn(dialect_insert: Any, by_item: bool) -> Any:
    """A new turn's ``INSERT … SELECT`` (built once per dialect and kind, see _INSERT_TURN)."""
    binds = {key: bindparam(f"turn_{key}", type_=_TURNS.c[key].type) for key in _TURN_COLUMNS}
    row = select(*binds.values())
    if by_item:
        row = row.where(~select(_TURNS.c.id).where(
            _TURNS.c.interview_id == binds["interview_id"],
            _TURNS.c.item_id == binds["item_id"]).exists())
    else:
        row = row.where(literal(True))  # SQLite: INSERT … SELECT before ON CONFLICT needs a WHERE
    return (dialect_insert(_TURNS).from_select(list(_TURN_COLUMNS), row)
            .on_conflict_do_nothing().returning(_TURNS.c.id))


# Keyed by (SQLite?, has an item id?); built once: the greeting's turn is part of every start.
_INSERT_TURN = {(sqlite, by_item): _insert_turn(sqlite_insert if sqlite else postgresql_insert,
                                                by_item)
                for sqlite in (True, False) for by_item in (True, False)}


async def _insert_new_turn(s: AsyncSession, values: dict[str, Any]) -> int | None:
    """Insert the turn unless its sequence or its item is already stored (``ON CONFLICT
    DO NOTHING`` and ``NOT EXISTS``, in one statement) and commit: its id, or None when
    it was there. Raises InterviewNotFound (the foreign key fails)."""
    statement = _INSERT_TURN[s.get_bind().dialect.name == "sqlite", values["item_id"] is not None]
    await one_statement_transaction(s)
    try:
        turn_id = await s.scalar(statement, {f"turn_{key}": value for key, value in values.items()})
        await s.commit()
    except IntegrityError:
        await s.rollback()
        if await get_interview(s, values["interview_id"]) is None:
            raise InterviewNotFound(values["interview_id"]) from None
        raise
    return None if turn_id is None else int(turn_id)


async def list_turns(s: AsyncSession, interview_id: str) -> list[Turn]:
    """The interview's turns in sequence order (empty for an unknown interview)."""
    result = await s.scalars(
        select(Turn).where(Turn.interview_id == interview_id).order_by(Turn.sequence)
    )
    return list(result)
