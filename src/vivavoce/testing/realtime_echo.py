"""The fake's ECHO mode (``FakeConfig.echo``): every appended audio chunk comes straight
back as ``response.output_audio.delta``, so a benchmark can time each chunk's round trip.

In a benchmark the fake shares the machine with the relay under test, and every
microsecond it spends per chunk is taken from the relay. So next to the general path
(``json.loads`` of the append, an event dict, ``json.dumps`` of the delta) there is a
fast path, :func:`echo_wire` (called by ``Conversation.echo_fast``), for the append
exactly as the relay writes it (``realtime/upstream.py``: compact, ``type`` then
``audio``): a prefix and suffix check,
a base64 check that takes no more than the general path's, and the delta assembled from
pre-encoded parts. What goes on the wire is byte for byte what the general path writes
(compact JSON, members in the API's order, as :func:`echo_delta` builds them); anything
else — another key order, spaces, an escape, an extra member, invalid base64 — returns
``None`` and takes the general path, errors included.
"""

from __future__ import annotations

from vivavoce.testing.fake_errors import new_event_id
from vivavoce.testing.realtime_items import Event, new_event

__all__ = ["APPEND", "DELTA", "base64_size", "echo_delta", "echo_wire"]

APPEND = "input_audio_buffer.append"
DELTA = "response.output_audio.delta"
_RESPONSE_ID = "resp_echo"
_ITEM_ID = "item_echo"

# The append as the relay writes it, and the delta as compact JSON around its two
# varying parts (the event id and the audio).
_APPEND_HEAD = '{"type":"' + APPEND + '","audio":"'
_APPEND_TAIL = '"}'
_DELTA_HEAD = '{"type":"' + DELTA + '","event_id":"'
_DELTA_MIDDLE = (f'","response_id":"{_RESPONSE_ID}","item_id":"{_ITEM_ID}",'
                 '"output_index":0,"content_index":0,"delta":"')
_DELTA_TAIL = '"}'
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def echo_delta(audio: str) -> Event:
    """The echoed chunk as an event (the general path; ``audio`` as it came)."""
    return new_event(DELTA, response_id=_RESPONSE_ID, item_id=_ITEM_ID,
                     output_index=0, content_index=0, delta=audio)


def echo_wire(message: str) -> tuple[str, int] | None:
    """For an append in the relay's shape, the wire text of the delta echoing it and the
    size of its audio in bytes; ``None`` for anything else (the caller then hands
    ``message`` to ``Conversation.receive``)."""
    if not (message.startswith(_APPEND_HEAD) and message.endswith(_APPEND_TAIL)):
        return None
    audio = message[len(_APPEND_HEAD):-len(_APPEND_TAIL)]
    size = base64_size(audio)
    if size is None:
        return None
    return _DELTA_HEAD + new_event_id() + _DELTA_MIDDLE + audio + _DELTA_TAIL, size


def base64_size(text: str) -> int | None:
    """The size in bytes of what ``text`` decodes to, if the general path's check
    (``base64.b64decode(text, validate=True)``) takes it; ``None`` when it would not, and
    for some text it would (the caller then takes the general path: declining is always
    safe). Only base64's alphabet passes, so a JSON string holding it had no quote,
    backslash or control character: its text is the value itself.

    Not the decode itself: it builds the bytes only to count them, and its regular
    expression over the alphabet costs more than the C scan here (~2.5 µs against ~9 µs
    for a 40 ms chunk)."""
    body = text.rstrip("=")
    padding = len(text) - len(body)
    # Whole 4-letter groups, at most two "=" at the end: what the decode's padding check
    # and ``validate``'s ``[A-Za-z0-9+/]*={0,2}`` both take.
    if padding > 2 or len(text) % 4:
        return None
    try:
        letters = body.encode("ascii")
    except UnicodeEncodeError:
        return None
    if letters.translate(None, _ALPHABET):  # something outside the alphabet is left
        return None
    return len(text) // 4 * 3 - padding
