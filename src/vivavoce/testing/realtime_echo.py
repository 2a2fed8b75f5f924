"""The fake's ECHO mode (``FakeConfig.echo``): every appended audio chunk comes straight
back as ``response.output_audio.delta``, so a benchmark can time each chunk's round trip.

In a benchmark the fake shares the machine with the relay under test, and every
microsecond it spends per chunk is taken from the relay. So next to the general path
(``json.loads`` of the append, an event dict, ``json.dumps`` of the delta) there is a
fast path, :func:`echo_wire` (called by ``Conversation.echo_fast``), for the append
exactly as the relay writes it (``realtime/upstream.py``: compact, ``type`` then
``audio``): a prefix and suffix check,
the same base64 validation as the general path, and the delta assembled from
pre-encoded parts. What goes on the wire is byte for byte what the general path writes
(compact JSON, members in the API's order, as :func:`echo_delta` builds them); anything
else — another key order, spaces, an escape, an extra member, invalid base64 — returns
``None`` and takes the general path, errors included.
"""

from __future__ import annotations

import base64
import binascii

from vivavoce.testing.fake_errors import new_event_id
from vivavoce.testing.realtime_items import Event, new_event

__all__ = ["APPEND", "DELTA", "echo_delta", "echo_wire"]

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
    try:
        # The general path's check. Only base64's alphabet passes it, so the JSON string
        # held no quote, backslash or control character: its text is the value itself.
        pcm = base64.b64decode(audio, validate=True)
    except (ValueError, binascii.Error):
        return None
    return _DELTA_HEAD + new_event_id() + _DELTA_MIDDLE + audio + _DELTA_TAIL, len(pcm)
