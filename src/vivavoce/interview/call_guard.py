"""The server keeps control of a WebRTC call's session (issue 17).

On a call the browser holds the ``oai-events`` data channel, and whatever it sends there
(``session.update``, ``response.create``, ``conversation.item.create`` …) acts on the
session exactly as the server's sideband does: a candidate with devtools can reconfigure
the interviewer or make it say anything. The sideband receives the server events that
result, so :class:`CallGuard` spots those the server did not cause and undoes them:

* ``session.updated`` whose session differs from the interview's on a guarded field
  (instructions, output modalities, voice, turn detection, transcription, output tokens,
  tools, a stored prompt) after it had matched → the interview's ``session.update`` is
  sent again (with ``tools: []``);
* ``response.created`` the server did not ask for: not one of its own ``response.create``
  (the opening, the goodbye) and not the reply to a turn the server's VAD committed →
  ``response.cancel`` and ``output_audio_buffer.clear``; its output is not the
  interviewer's (no stored turn, no caption; its usage still counts: it was billed);
* ``conversation.item.added`` of a user or system message that is not audio and not one
  of the server's own items (text typed into the conversation) →
  ``conversation.item.delete``; no candidate turn.

Each counts as one tampering, logged (the event's type and ids, never content or keys).
Past ``max_tampering`` the call is hung up and the interview ends ``call_tampering``.
Pure: it wraps the core's event handlers and returns actions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vivavoce.interview import browser_messages
from vivavoce.interview.actions import Action, HangUpCall, Log, SendJson, SendUpstream

__all__ = ["TAMPERING_MESSAGE", "TAMPERING_REASON", "CallGuard"]

# The interview's end reason, error code and cause past the tampering limit.
TAMPERING_REASON = "call_tampering"
TAMPERING_MESSAGE = ("The interview was stopped because its connection was changed from "
                     "this browser.")

Handler = Callable[[dict[str, Any], float], list[Action]]

# The event_id of what the guard sends: an error about one of them (a response that
# finished before its cancel arrived) is the guard's business, not the candidate's.
GUARD_EVENT_ID = "vivavoce_guard"
# (path in the session, default when absent) of what the interview decides itself.
_GUARDED: tuple[tuple[str, ...], ...] = (
    ("instructions",), ("output_modalities",), ("max_output_tokens",),
    ("audio", "input", "transcription"), ("audio", "input", "turn_detection"),
    ("audio", "output", "voice"),
)
# Server events that belong to one response (a rogue one's are nobody's turn).
_RESPONSE_EVENTS = (
    "response.output_item.added", "response.output_audio_transcript.delta",
    "response.output_audio_transcript.done", "response.output_audio.delta",
    "response.output_text.delta", "response.output_text.done",
)


def _at(session: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = session
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def _covers(reported: Any, ours: Any) -> bool:
    """``reported`` has every value ``ours`` sets (the API may add defaults)."""
    if isinstance(ours, Mapping):
        return isinstance(reported, Mapping) and all(
            _covers(reported.get(k), v) for k, v in ours.items())
    return bool(reported == ours)


@dataclass(frozen=True, slots=True)
class _Found:
    """What a check found: the actions, and whether it counts as tampering (else the
    event is handled as ever, after them)."""

    actions: list[Action]
    tampering: bool = True


def _nothing(event: dict[str, Any], now: float) -> list[Action]:
    return []


def _rogue_item(item: Any) -> bool:
    """A typed-in message: user or system role, no audio content."""
    if not isinstance(item, Mapping) or item.get("type", "message") != "message":
        return False
    if item.get("role") not in ("user", "system"):
        return False
    content = item.get("content")
    parts = content if isinstance(content, list) else []
    return not any(isinstance(p, Mapping) and p.get("type") == "input_audio" for p in parts)


class CallGuard:
    """One call's watch over its session. ``active``: whether the interview is on a call
    now (on the relay the browser has no channel to the session)."""

    def __init__(self, active: Callable[[], bool], max_tampering: int = 3) -> None:
        self._active = active
        self.max_tampering = max_tampering
        self.count = 0
        self._update: dict[str, Any] | None = None
        self._matched = False  # the session last reported was the interview's
        self._requested = 0  # the server's own response.create not yet created
        self._vad_turn = False  # a committed turn whose reply the API creates itself
        self._rogue: set[str] = set()  # responses cancelled here
        self._rogue_items: set[str] = set()  # their output items

    def configure(self, session_update: Mapping[str, Any] | None) -> None:
        """The interview's ``session.update`` (what the session must stay)."""
        self._update = dict(session_update) if session_update is not None else None

    def sent(self, actions: list[Action]) -> list[Action]:
        """The server's own actions: its ``response.create`` are expected (returned as is)."""
        self._requested += sum(1 for a in actions if isinstance(a, SendUpstream)
                               and a.event.get("type") == "response.create")
        return actions

    def sent_events(self, events: list[Any]) -> list[Any]:
        """The same for events not yet wrapped in actions (the wrap-up's)."""
        self._requested += sum(1 for e in events if e.get("type") == "response.create")
        return events

    # ------------------------------------------------------------------ wrapping
    def wrap(self, handlers: dict[str, Handler], *, ours: Callable[[str], bool],
             end: Callable[[str, str, float], list[Action]]) -> dict[str, Handler]:
        """``handlers`` with the checks in front. ``ours``: an item id the server created;
        ``end(reason, message, now)``: the interview's end past the tampering limit."""
        def guarded(kind: str, check: Callable[[dict[str, Any]], _Found | None]) -> Handler:
            inner: Handler = handlers.get(kind) or _nothing

            def handle(event: dict[str, Any], now: float) -> list[Action]:
                found = check(event) if self._active() else None
                if found is None:
                    return inner(event, now)
                if not found.tampering:  # only worth a word: the event is handled as ever
                    return [*found.actions, *inner(event, now)]
                self.count += 1
                if self.count > self.max_tampering:
                    return [*found.actions, HangUpCall(), SendJson(browser_messages.error(
                        TAMPERING_REASON, TAMPERING_MESSAGE, fatal=True, cause=TAMPERING_REASON)),
                        Log("error", "WebRTC call tampered with too often; hung up",
                            {"count": self.count, "max_tampering": self.max_tampering}),
                        *end(TAMPERING_REASON, TAMPERING_MESSAGE, now)]
                return found.actions
            return handle

        wrapped = dict(handlers)
        wrapped["session.updated"] = guarded("session.updated", self._session_updated)
        wrapped["response.created"] = guarded("response.created", self._response_created)
        item_added = guarded("conversation.item.added", lambda e: self._item_added(e, ours))
        wrapped["conversation.item.added"] = self._unless_rogue(item_added)
        wrapped["input_audio_buffer.committed"] = self._noting_turn(
            handlers.get("input_audio_buffer.committed"))
        for kind in _RESPONSE_EVENTS:
            wrapped[kind] = self._unless_rogue(handlers.get(kind))
        wrapped["response.done"] = self._done(handlers.get("response.done"))
        wrapped["error"] = self._unless_ours(handlers.get("error"))
        return wrapped

    # ------------------------------------------------------------------ checks
    def _session_updated(self, event: dict[str, Any]) -> _Found | None:
        ours = self._update.get("session") if self._update is not None else None
        session = event.get("session")
        if not isinstance(ours, Mapping) or not isinstance(session, Mapping):
            return None
        differs = [".".join(path) for path in _GUARDED
                   if _at(ours, path) is not None and not _covers(_at(session, path), _at(ours, path))]
        if session.get("tools") or session.get("prompt"):
            differs.append("tools" if session.get("tools") else "prompt")
        if not differs:
            self._matched = True
            return None
        if not self._matched:
            # Not a change away from the interview's session: the API reports it its own
            # way (or a restore did not take). Said once, never a loop of restores.
            return _Found([Log("warning", "the call's session differs from the interview's",
                               {"fields": differs})], tampering=False)
        self._matched = False
        assert self._update is not None
        restore = {**self._update, "session": {**ours, "tools": []}, "event_id": GUARD_EVENT_ID}
        return _Found([SendUpstream(restore),  # type: ignore[arg-type]
                       Log("warning", "WebRTC call tampered with: session changed from the "
                           "browser; restoring the interview's", {"fields": differs,
                                                                  "count": self.count + 1})])

    def _response_created(self, event: dict[str, Any]) -> _Found | None:
        if self._requested > 0:
            self._requested -= 1
            return None
        if self._vad_turn:
            self._vad_turn = False
            return None
        response = event.get("response")
        response_id = response.get("id") if isinstance(response, Mapping) else None
        if not isinstance(response_id, str):
            return None
        self._rogue.add(response_id)
        return _Found([
            SendUpstream({"type": "response.cancel", "response_id": response_id,
                          "event_id": GUARD_EVENT_ID}),
            SendUpstream({"type": "output_audio_buffer.clear", "event_id": GUARD_EVENT_ID}),
            Log("warning", "WebRTC call tampered with: a response the server did not ask "
                "for; cancelled", {"response_id": response_id, "count": self.count + 1})])

    def _item_added(self, event: dict[str, Any], ours: Callable[[str], bool]) -> _Found | None:
        item = event.get("item")
        item_id = item.get("id") if isinstance(item, Mapping) else None
        if not isinstance(item_id, str) or ours(item_id) or not _rogue_item(item):
            return None
        return _Found([
            SendUpstream({"type": "conversation.item.delete", "item_id": item_id,
                          "event_id": GUARD_EVENT_ID}),
            Log("warning", "WebRTC call tampered with: a message typed into the "
                "conversation; deleted", {"item_id": item_id, "count": self.count + 1})])

    # ------------------------------------------------------------------ bookkeeping
    def _noting_turn(self, inner: Handler | None) -> Handler:
        def handle(event: dict[str, Any], now: float) -> list[Action]:
            self._vad_turn = True
            return inner(event, now) if inner is not None else []
        return handle

    def _unless_rogue(self, inner: Handler | None) -> Handler:
        def handle(event: dict[str, Any], now: float) -> list[Action]:
            if not self._rogue and not self._rogue_items:
                # Every audio delta passes here, on the relay too: nothing to look up.
                return inner(event, now) if inner is not None else []
            item = event.get("item")
            item_id = item.get("id") if isinstance(item, Mapping) else None
            if event.get("response_id") in self._rogue:
                if isinstance(item_id, str):
                    self._rogue_items.add(item_id)  # its conversation.item.added follows
                return []
            if item_id in self._rogue_items or inner is None:
                return []
            return inner(event, now)
        return handle

    def _unless_ours(self, inner: Handler | None) -> Handler:
        def handle(event: dict[str, Any], now: float) -> list[Action]:
            error = event.get("error")
            if isinstance(error, Mapping) and error.get("event_id") == GUARD_EVENT_ID:
                return [Log("info", "the call's guard was answered with an error",
                            {"code": error.get("code")})]
            return inner(event, now) if inner is not None else []
        return handle

    def _done(self, inner: Handler | None) -> Handler:
        def handle(event: dict[str, Any], now: float) -> list[Action]:
            response = event.get("response")
            if isinstance(response, Mapping) and response.get("id") in self._rogue:
                self._rogue.discard(str(response.get("id")))
                # Billed all the same: the usage counts, the output is nobody's turn.
                event = {**event, "response": {**response, "output": []}}
            return inner(event, now) if inner is not None else []
        return handle

