"""The fake's reading of an SDP offer, and the media-free mode's answer (no aiortc).

:func:`parse_offer` checks what OpenAI requires of an offer (an audio section, ICE
credentials and a DTLS fingerprint for every section) with a small parser of its own,
and :func:`media_free_answer` answers it without any peer: so the media-free mode
(``FakeConfig.media_free_calls``) never imports aiortc or PyAV, which take seconds to
load. The media mode (:mod:`webrtc_media`) hands the offer to aiortc itself.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

__all__ = ["Offer", "OfferError", "OfferMedia", "media_free_answer", "parse_offer"]

_LINE = re.compile(r"^([a-z])=(.*)$")


class OfferError(ValueError):
    """The SDP offer cannot be answered (the message says why)."""


@dataclass
class OfferMedia:
    """One ``m=`` section of an offer: what an answer must mirror."""

    kind: str
    profile: str
    fmt: list[str]
    mid: str | None = None
    ufrag: str | None = None
    pwd: str | None = None
    fingerprint: str | None = None


@dataclass
class Offer:
    media: list[OfferMedia] = field(default_factory=list)


def parse_offer(sdp: str) -> Offer:
    """Parse and check an SDP offer: it must offer audio (as OpenAI requires)."""
    offer = Offer()
    session: dict[str, str] = {}
    lines = [line for line in sdp.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines or not lines[0].startswith("v="):
        raise OfferError("could not parse the SDP offer (it does not start with v=)")
    for line in lines:
        match = _LINE.match(line.strip())
        if match is None:
            raise OfferError("could not parse the SDP offer (a line is not <letter>=<value>)")
        kind, value = match.groups()
        if kind == "m":
            parts = value.split()
            if len(parts) < 3:
                raise OfferError("could not parse the SDP offer (a short m= line)")
            offer.media.append(OfferMedia(parts[0], parts[2], parts[3:]))
        elif kind == "a":
            name, _, attr = value.partition(":")
            target = offer.media[-1] if offer.media else None
            key = {"mid": "mid", "ice-ufrag": "ufrag", "ice-pwd": "pwd",
                   "fingerprint": "fingerprint"}.get(name)
            if key is None:
                continue
            if target is None:
                session[key] = attr
            else:
                setattr(target, key, attr)
    if not any(m.kind == "audio" for m in offer.media):
        raise OfferError("the SDP offer has no audio media section")
    for media in offer.media:
        if not (media.ufrag or session.get("ufrag")) or not (media.pwd or session.get("pwd")):
            raise OfferError("the SDP offer has no ICE credentials (a=ice-ufrag, a=ice-pwd)")
        if not (media.fingerprint or session.get("fingerprint")):
            raise OfferError("the SDP offer has no DTLS fingerprint (a=fingerprint)")
    return offer


def media_free_answer(offer: Offer) -> str:
    """An SDP answer to ``offer`` that needs no peer: no candidates, nothing listening.

    Written by hand because aiortc only produces answers from a running peer (which
    binds sockets and gathers candidates — what this mode exists to avoid).
    """
    ufrag, pwd = secrets.token_hex(4), secrets.token_hex(12)
    fingerprint = ":".join(f"{b:02X}" for b in secrets.token_bytes(32))
    session_id = secrets.randbelow(2**62)
    mids = [m.mid for m in offer.media]
    lines = [
        "v=0",
        f"o=- {session_id} 1 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE " + " ".join(mid for mid in mids if mid),
        "a=msid-semantic:WMS *",
    ]
    for media in offer.media:
        if media.kind == "audio":
            lines += [
                "m=audio 9 UDP/TLS/RTP/SAVPF 111",
                "c=IN IP4 0.0.0.0",
                "a=rtcp:9 IN IP4 0.0.0.0",
                "a=rtpmap:111 opus/48000/2",
                "a=fmtp:111 minptime=10;useinbandfec=1",
                "a=sendrecv",
                "a=rtcp-mux",
            ]
        elif media.kind == "application":
            lines += [
                "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
                "c=IN IP4 0.0.0.0",
                "a=sctp-port:5000",
                "a=max-message-size:262144",
            ]
        else:
            # Other sections are rejected with port 0, as any answerer may.
            lines += [f"m={media.kind} 0 {media.profile} {' '.join(media.fmt)}", "c=IN IP4 0.0.0.0"]
        if media.mid:
            lines.append(f"a=mid:{media.mid}")
        lines += [
            f"a=ice-ufrag:{ufrag}",
            f"a=ice-pwd:{pwd}",
            f"a=fingerprint:sha-256 {fingerprint}",
            "a=setup:active",
            "a=end-of-candidates",
        ]
    return "\r\n".join(lines) + "\r\n"
