"""Admission for /voice (web/connection_limits.py): the start deadline, the cap on
not-yet-started connections per address, the global cap, takeover, and the one refusal
shape. The module is pure bookkeeping, so these tests drive it directly with an injected
clock; tests/relay/test_admission.py checks the same through /voice on real sockets."""

from __future__ import annotations

import pytest

from tests.fixtures.settings import MakeSettings
from vivavoce import metrics
from vivavoce.web.connection_limits import (
    CLOSE_TRY_AGAIN_LATER,
    ConnectionGate,
    ConnectionLimits,
    Refusal,
    Ticket,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def gate(**limits: float) -> tuple[ConnectionGate, Clock]:
    clock = Clock()
    return ConnectionGate(ConnectionLimits(**limits), clock=clock), clock  # type: ignore[arg-type]


def admitted(result: Ticket | Refusal) -> Ticket:
    assert isinstance(result, Ticket), result
    return result


def test_defaults_fit_a_classroom_behind_one_address() -> None:
    limits = ConnectionLimits()
    assert limits.start_deadline_s == 30
    assert limits.max_unstarted_per_address >= 100
    door, _ = gate()
    tickets = [admitted(door.admit("198.51.100.1")) for _ in range(250)]
    assert door.unstarted("198.51.100.1") == 250
    for ticket in tickets:
        ticket.mark_started()
    assert door.unstarted("198.51.100.1") == 0 and door.total == 250


def test_unstarted_connections_are_capped_per_address() -> None:
    door, _ = gate(max_unstarted_per_address=3)
    held = [admitted(door.admit("203.0.113.1")) for _ in range(3)]
    refused = door.admit("203.0.113.1")
    assert isinstance(refused, Refusal) and refused.reason == "too_many_unstarted"
    # Another address is not affected.
    admitted(door.admit("203.0.113.2"))
    # A started connection no longer counts against its address.
    held[0].mark_started()
    admitted(door.admit("203.0.113.1"))
    # Nor does a closed one.
    held[1].release()
    admitted(door.admit("203.0.113.1"))
    assert isinstance(door.admit("203.0.113.1"), Refusal)


def test_all_connections_are_capped() -> None:
    door, _ = gate(max_connections=2)
    first = admitted(door.admit("a"))
    first.mark_started()  # started connections count towards the total
    admitted(door.admit("b"))
    refused = door.admit("c")
    assert isinstance(refused, Refusal) and refused.reason == "too_many_connections"
    first.release()
    admitted(door.admit("c"))


def test_takeover_of_a_link_is_never_refused() -> None:
    door, _ = gate(max_connections=1, max_unstarted_per_address=1)
    old = admitted(door.admit("a"))
    assert isinstance(door.admit("a"), Refusal)
    new = admitted(door.admit("a", takeover=True))
    old.release()  # the relay closes the replaced connection
    assert door.total == 1 and door.unstarted("a") == 1
    new.release()
    assert door.total == 0 and door.unstarted("a") == 0


def test_the_start_deadline() -> None:
    door, clock = gate(start_deadline_s=30)
    ticket = admitted(door.admit("a"))
    assert ticket.seconds_to_start() == 30
    clock.now += 29.5
    assert ticket.seconds_to_start() == pytest.approx(0.5)
    clock.now += 10
    assert ticket.seconds_to_start() == 0
    refusal = ticket.deadline_refusal()
    assert refusal.reason == "start_deadline" and refusal.close_code == CLOSE_TRY_AGAIN_LATER


def test_release_is_idempotent_and_counts_never_go_negative() -> None:
    door, _ = gate()
    ticket = admitted(door.admit("a"))
    ticket.mark_started()
    ticket.mark_started()
    ticket.release()
    ticket.release()
    ticket.mark_started()
    assert door.total == 0 and door.unstarted("a") == 0


@pytest.mark.parametrize("reason", ["too_many_unstarted", "too_many_connections"])
def test_every_refusal_has_the_one_shape(reason: str) -> None:
    door, _ = gate(max_connections=1 if reason == "too_many_connections" else 10,
                   max_unstarted_per_address=1)
    admitted(door.admit("a"))
    before = _refused_count(reason)
    refusal = door.admit("a")
    assert isinstance(refusal, Refusal) and refusal.reason == reason
    message = refusal.message()
    assert message["type"] == "error" and message["code"] == reason
    assert message["fatal"] is True and message["retryable"] is True
    assert isinstance(message["retry_after_s"], int) and message["retry_after_s"] > 0
    assert "hint" not in message  # candidates' words only
    assert refusal.close_code == 1013
    assert _refused_count(reason) == before + 1


def test_limits_come_from_the_settings(make_settings: MakeSettings) -> None:
    settings = make_settings(
        VIVAVOCE_VOICE_START_DEADLINE_SECONDS="12",
        VIVAVOCE_VOICE_MAX_UNSTARTED_PER_ADDRESS="400",
        VIVAVOCE_VOICE_MAX_CONNECTIONS="50",
    )
    assert ConnectionLimits.from_settings(settings) == ConnectionLimits(12, 400, 50)


def _refused_count(reason: str) -> float:
    value = metrics.REGISTRY.get_sample_value(
        "vivavoce_voice_connections_refused_total", {"reason": reason}
    )
    return value or 0.0


def test_starts_past_the_capacity_get_server_busy() -> None:
    door, _ = gate(max_live_interviews=1)
    first, second, third = (admitted(door.admit("a")) for _ in range(3))
    assert first.start() is None and door.started == 1
    before = _refused_count("server_busy")
    busy = second.start()
    assert isinstance(busy, Refusal) and busy.reason == "server_busy"
    message = busy.message()
    assert (message["code"], message["fatal"], message["retryable"]) == ("server_busy", True, True)
    assert message["retry_after_s"] > 0 and "hint" not in message and busy.close_code == 1013
    assert _refused_count("server_busy") == before + 1
    assert not second.started and door.started == 1
    # Continuing an interview served here already (a link's takeover) is never refused.
    assert third.start(takeover=True) is None and door.started == 2
    # A released started connection frees its place.
    first.release()
    third.release()
    assert door.started == 0 and second.start() is None


async def test_only_the_newest_takeover_of_a_link_waits_to_start() -> None:
    door, _ = gate(max_connections=1)
    live = admitted(door.admit("a"))
    live.mark_started()
    first = admitted(door.admit("a", takeover=True, link="iv-1"))
    other_link = admitted(door.admit("a", takeover=True, link="iv-2"))
    second = admitted(door.admit("a", takeover=True, link="iv-1"))
    assert first.superseded and not second.superseded and not other_link.superseded
    assert await first.wait_superseded(0) is True
    assert await second.wait_superseded(0.01) is False
    # Once the newest starts (or goes), a later takeover supersedes nothing of it.
    second.mark_started()
    third = admitted(door.admit("a", takeover=True, link="iv-1"))
    assert not second.superseded and not third.superseded
    for ticket in (live, first, other_link, second, third):
        ticket.release()
    assert door.total == 0 and door.unstarted("a") == 0
