"""The tables: interviews, their turns, their evaluation, the question bank, and the
running instances (heartbeats) that own live interviews.

Plain columns only (no ORM relationships): under asyncio a lazy load is an error, so the
data-access functions query what they need explicitly. Every timestamp is timezone-aware
UTC in Python, whatever the database stores (see :class:`UTCDateTime`).
Status and kind columns are short strings checked by the database (CHECK constraints),
so a bug elsewhere cannot store a status nobody handles.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "EVALUATION_STATUSES",
    "INSTANCE_KINDS",
    "INTERVIEW_STATUSES",
    "QUESTION_SOURCES",
    "SPEAKERS",
    "TURN_STATES",
    "Base",
    "Evaluation",
    "Instance",
    "Interview",
    "Money",
    "OperatorSession",
    "Question",
    "RateCounter",
    "ResumeReject",
    "Turn",
    "UTCDateTime",
    "WEBHOOK_DELIVERY_STATUSES",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "utcnow",
]

INTERVIEW_STATUSES = ("created", "live", "ended", "failed")
SPEAKERS = ("interviewer", "candidate")
TURN_STATES = ("complete", "interrupted", "partial")
EVALUATION_STATUSES = ("pending", "running", "done", "failed", "insufficient")
QUESTION_SOURCES = ("builtin", "imported")
INSTANCE_KINDS = ("server", "worker")
WEBHOOK_DELIVERY_STATUSES = ("pending", "sending", "delivered", "failed")

# Stable constraint names: the same on SQLite and PostgreSQL, so migrations can refer to
# them and autogenerate compares like with like.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so UTC is stored naive and
    made aware again on the way out. A naive value from the caller is taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


# Money: six decimals of a dollar is finer than any token price; returned as float.
Money = Numeric(12, 6, asdecimal=False)


class Interview(Base):
    __tablename__ = "interviews"
    __table_args__ = (
        CheckConstraint(_in("status", INTERVIEW_STATUSES), name="status"),
        Index("ix_interviews_status_created_at", "status", "created_at"),
        Index("ix_interviews_created_at", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="created")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    candidate: Mapped[dict[str, Any]]
    settings: Mapped[dict[str, Any]]
    end_reason: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(64))
    input_text_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    input_audio_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    input_cached_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    output_text_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    output_audio_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    cost_usd: Mapped[float] = mapped_column(Money, default=0.0, server_default="0")
    # The operator's side (issue 16): a private note and the candidate's email or
    # reference (never shown to the interviewer), and what the current link is: the
    # nonce signed into it (a re-issue changes it, so older links stop working) and its
    # expiry (with the nonce, the same link can be shown again). NULL nonce: links
    # issued before these columns, still valid.
    note: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(200))
    token_nonce: Mapped[str | None] = mapped_column(String(32))
    token_expires_at: Mapped[datetime | None]
    # Ran against the built-in simulator: its tokens are the fake's and cost nothing.
    simulated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The instance whose relay drives the interview (store/leases.py); NULL: nobody, or
    # that instance stopped cleanly. ``lease_generation`` grows with every take, so a
    # relay knows its own lease from a later one taken by the same instance.
    owner_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("instances.id", ondelete="SET NULL"), index=True
    )
    lease_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Instance(Base):
    """One running process (a server or a worker): one row, renewed by its heartbeat."""

    __tablename__ = "instances"
    __table_args__ = (
        CheckConstraint(_in("kind", INSTANCE_KINDS), name="kind"),
        Index("ix_instances_heartbeat_at", "heartbeat_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200))  # host and pid, for operators
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)


class Turn(Base):
    __tablename__ = "turns"
    __table_args__ = (
        UniqueConstraint("interview_id", "sequence"),
        CheckConstraint(_in("speaker", SPEAKERS), name="speaker"),
        CheckConstraint(_in("state", TURN_STATES), name="state"),
        Index("ix_turns_interview_id_item_id", "interview_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interview_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("interviews.id", ondelete="CASCADE")
    )
    sequence: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    audio_ms: Mapped[int | None] = mapped_column(Integer)
    item_id: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="complete")
    # An interviewer turn cut short: the whole text it was saying (``text`` is what was
    # heard), so the results show the whole question.
    full_text: Mapped[str | None] = mapped_column(Text)


class Evaluation(Base):
    __tablename__ = "evaluations"
    __table_args__ = (
        UniqueConstraint("interview_id"),
        CheckConstraint(_in("status", EVALUATION_STATUSES), name="status"),
        Index("ix_evaluations_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    interview_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("interviews.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    overall_score: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict[str, Any] | None]
    low_confidence: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    invented_quotes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    model: Mapped[str | None] = mapped_column(String(64))
    input_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    output_tokens: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    cost_usd: Mapped[float] = mapped_column(Money, default=0.0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Question(Base):
    __tablename__ = "questions"
    __table_args__ = (
        CheckConstraint(_in("source", QUESTION_SOURCES), name="source"),
        Index("ix_questions_field_level", "field", "level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    field: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32))
    difficulty: Mapped[str] = mapped_column(String(16), default="medium")
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="builtin")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEndpoint(Base):
    """A receiver added from the operator's pages (the one in the settings is not here,
    so its secret never reaches the database)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(200), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookEvent(Base):
    """The outbox: one row per event, written in the transaction that made it happen.
    ``fanned_out`` turns true once its deliveries (one per endpoint) exist."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_fanned_out_created_at", "fanned_out", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    interview_id: Mapped[str | None] = mapped_column(String(36))
    data: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    fanned_out: Mapped[bool] = mapped_column(Boolean, default=False)


class WebhookDelivery(Base):
    """One event to one endpoint. ``next_attempt_at`` is "due at" while ``pending`` and
    "lease ends at" while ``sending`` (as evaluation jobs do)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(_in("status", WEBHOOK_DELIVERY_STATUSES), name="status"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_event_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("webhook_events.id", ondelete="CASCADE")
    )
    # NULL: the endpoint of VIVAVOCE_WEBHOOK_URL.
    endpoint_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    # Retries stop here (a day after it was queued, or after the operator's "send again").
    give_up_at: Mapped[datetime]


class WebhookAttempt(Base):
    """One try at a delivery, for the operator's log."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id", "delivery_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)

# --- security (issue 14): operator sessions, counters against guessing, bad résumés ----


class OperatorSession(Base):
    """One operator login. The cookie holds a random id; only its SHA-256 is stored, so
    the table alone does not let anyone log in."""

    __tablename__ = "operator_sessions"
    __table_args__ = (Index("ix_operator_sessions_expires_at", "expires_at"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Which admin token the login used (a keyed hash, never the token): a session made
    # with a token that is no longer the service's is over (rotation revokes).
    token_check: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class RateCounter(Base):
    """A count of events of one kind from one subject (a client address, an interview,
    a target) within a window, and until when that subject is refused. Shared by every
    worker and instance through the database."""

    __tablename__ = "rate_counters"
    __table_args__ = (Index("ix_rate_counters_last_at", "last_at"),)

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(String(128), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)
    blocked_until: Mapped[datetime | None]


class ResumeReject(Base):
    """A résumé file (by content hash) that ran into a parsing limit: the next upload of
    the same bytes is refused at once instead of tying up a parser again."""

    __tablename__ = "resume_rejects"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    status: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
