"""The call guard (interview/call_guard.py) event by event through the core: what the
browser's data channel did is undone on a call, and nothing is judged on the relay."""

from __future__ import annotations

import json
from typing import Any

from tests.interview.test_media import T0, live_on_call, sent, session, start
from vivavoce.interview.actions import Action, HangUpCall, Log, PersistTurn, SendUpstream
from vivavoce.interview.session import InterviewSession, Phase

OURS: Any = {"type": "realtime", "instructions": "x"}


def upstream(actions: list[Action]) -> list[dict[str, Any]]:
    return [dict(a.event) for a in actions if isinstance(a, SendUpstream)]


def warnings(actions: list[Action]) -> list[str]:
    return [a.message for a in actions if isinstance(a, Log) and a.level == "warning"]


def on_call() -> InterviewSession:
    s = session()
    live_on_call(s)
    # The opening response (the server's own) and the session as the interview's.
    s.upstream_event({"type": "response.created", "response": {"id": "resp_open"}}, T0 + 2)
    s.upstream_event({"type": "session.updated", "session": OURS}, T0 + 2)
    return s


def test_the_server_s_own_opening_and_a_vad_turn_s_reply_are_not_tampering() -> None:
    s = on_call()
    s.upstream_event({"type": "input_audio_buffer.committed", "item_id": "item_a"}, T0 + 3)
    reply = s.upstream_event({"type": "response.created", "response": {"id": "resp_b"}}, T0 + 4)
    assert upstream(reply) == [] and not warnings(reply)


def test_an_unrequested_response_is_cancelled_and_its_output_is_nobody_s() -> None:
    s = on_call()
    rogue = s.upstream_event({"type": "response.created", "response": {"id": "resp_x"}}, T0 + 3)
    assert [e["type"] for e in upstream(rogue)] == ["response.cancel", "output_audio_buffer.clear"]
    assert upstream(rogue)[0]["response_id"] == "resp_x"
    item = {"id": "item_x", "type": "message", "role": "assistant", "content": []}
    for event in ({"type": "response.output_item.added", "response_id": "resp_x", "item": item},
                  {"type": "conversation.item.added", "item": item},
                  {"type": "response.output_audio_transcript.delta", "response_id": "resp_x",
                   "item_id": "item_x", "delta": "the answers are"}):
        assert s.upstream_event(event, T0 + 3) == []
    done = s.upstream_event({"type": "response.done", "response": {
        "id": "resp_x", "status": "cancelled", "output": [item],
        "usage": {"total_tokens": 10, "output_tokens": 10,
                  "output_token_details": {"text_tokens": 2, "audio_tokens": 8}}}}, T0 + 4)
    assert not [a for a in done if isinstance(a, PersistTurn)]
    assert s.spend.usage.output_audio == 8  # billed all the same
    # An error about the guard's own cancel (it came too late) is not the candidate's.
    late = s.upstream_event({"type": "error", "error": {
        "type": "invalid_request_error", "code": "response_cancel_not_active",
        "message": "Cancellation failed", "event_id": "vivavoce_guard"}}, T0 + 4)
    assert not sent(late)


def test_a_changed_session_is_restored_once_and_a_restore_that_does_not_take_is_not_looped() -> None:
    s = on_call()
    changed = s.upstream_event({"type": "session.updated", "session": {
        **OURS, "instructions": "leak", "tools": [{"name": "leak"}]}}, T0 + 3)
    (restore,) = upstream(changed)
    assert restore["type"] == "session.update" and restore["session"]["instructions"] == "x"
    assert restore["session"]["tools"] == []
    # The answer to the restore still differs (the API's shape): said, not sent again.
    again = s.upstream_event({"type": "session.updated", "session": {**OURS, "instructions": "y"}},
                             T0 + 4)
    assert upstream(again) == [] and warnings(again)


def test_typed_in_text_is_deleted_but_the_server_s_history_items_are_not() -> None:
    s = on_call()
    typed = {"id": "item_t", "type": "message", "role": "user",
             "content": [{"type": "input_text", "text": "hello"}]}
    deleted = s.upstream_event({"type": "conversation.item.added", "item": typed}, T0 + 3)
    assert upstream(deleted) == [{"type": "conversation.item.delete", "item_id": "item_t",
                                  "event_id": "vivavoce_guard"}]
    s._conv._client_items.add("vvhist_1")  # a resumed interview's own seeding
    seeded = s.upstream_event({"type": "conversation.item.added", "item": {
        **typed, "id": "vvhist_1"}}, T0 + 3)
    assert upstream(seeded) == []


def test_past_three_the_call_is_hung_up_and_the_interview_ends_call_tampering() -> None:
    s = on_call()
    for n in range(3):
        s.upstream_event({"type": "response.created", "response": {"id": f"r{n}"}}, T0 + 3)
        assert s.phase is Phase.LIVE
    last = s.upstream_event({"type": "response.created", "response": {"id": "r3"}}, T0 + 4)
    assert HangUpCall() in last and s.phase is Phase.ENDED
    assert s.end_reason == "call_tampering"
    (error,) = [m for m in sent(last) if m["type"] == "error"]
    assert (error["code"], error["fatal"]) == ("call_tampering", True)


def test_on_the_relay_nothing_is_judged() -> None:
    s = session("relay")
    start(s)
    s.prepared("iv-1", {"type": "session.update", "session": OURS}, T0)
    s.upstream_opened(T0)
    s.upstream_event({"type": "session.updated", "session": OURS}, T0 + 1)
    s.upstream_event({"type": "response.created", "response": {"id": "resp_open"}}, T0 + 2)
    extra = s.upstream_event({"type": "response.created", "response": {"id": "resp_2"}}, T0 + 3)
    assert upstream(extra) == [] and json.dumps(sent(extra)) == "[]"


def test_a_first_session_reported_in_another_shape_still_goes_live() -> None:
    from tests.interview.test_media import OFFER

    s = session()
    start(s, {"sdp": OFFER})
    s.prepared("iv-1", {"type": "session.update", "session": OURS}, T0)
    s.call_created("v=0 answer", T0 + 0.1)
    s.upstream_opened(T0 + 0.2)
    s.browser_text(json.dumps({"type": "webrtc_state", "state": "connected"}), T0 + 0.3)
    first = s.upstream_event({"type": "session.updated", "session": {
        **OURS, "instructions": "x, as the API normalised it"}}, T0 + 0.4)
    assert s.phase is Phase.LIVE and warnings(first)
    assert [e["type"] for e in upstream(first)] == ["response.create"]  # the opening only
