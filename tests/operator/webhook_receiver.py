"""A webhook receiver on a loopback socket for tests: fails the first ``fail_first``
requests with 503, then checks each signature twice (the ``standardwebhooks`` package,
and by hand from the convention's text) and records what arrived."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vivavoce.testing import serve_in_background

__all__ = ["Received", "Receiver", "webhook_receiver"]


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    verified: bool
    answered: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    secret: str
    fail_first: int
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def verified(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.verified]

    def all(self) -> list[Received]:
        with self.lock:
            return list(self.received)


def _by_hand(secret: str, headers: dict[str, str], body: str) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        part == f"v1,{expected}" for part in headers.get("webhook-signature", "").split(" ")
    )


@contextmanager
def webhook_receiver(secret: str, *, fail_first: int = 1) -> Iterator[Receiver]:
    state: dict[str, Receiver] = {}

    async def hook(request: Request) -> Response:
        receiver = state["r"]
        body = (await request.body()).decode("utf-8")
        headers = {k.lower(): v for k, v in request.headers.items()}
        with receiver.lock:
            failing = len(receiver.received) < receiver.fail_first
        verified = False
        if not failing:
            try:
                Webhook(secret).verify(body, headers)
                verified = _by_hand(secret, headers, body)
            except WebhookVerificationError:
                verified = False
        status = 503 if failing else (204 if verified else 400)
        with receiver.lock:
            receiver.received.append(Received(headers, body, verified, status))
        return Response(status_code=status, content=b"" if status == 204 else b"busy")

    app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    with serve_in_background(app) as server:
        state["r"] = Receiver(f"{server.http_url}/hook", secret, fail_first)
        yield state["r"]
