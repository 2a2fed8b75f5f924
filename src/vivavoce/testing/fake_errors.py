"""OpenAI's error bodies, as the fake sends them (see shared OPENAI-FACTS.md).

One :class:`FakeError` value describes an error once; it renders as a REST body
(``{"error": {message, type, param, code}}``), as a Realtime ``error`` event, and as a
WebSocket close reason (``<type>.<code>``).
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from typing import Any

from vivavoce.testing.scenarios import openai_masked_key

__all__ = [
    "FakeError",
    "FakeOpenAIError",
    "account_deactivated",
    "admin_key_on_model_endpoint",
    "beta_api_shape_disabled",
    "insufficient_quota",
    "invalid_api_key",
    "invalid_request",
    "mismatched_organization",
    "mismatched_project",
    "missing_api_key",
    "model_not_found",
    "new_event_id",
    "new_request_id",
    "no_realtime_access",
    "rate_limit_exceeded",
    "restricted_key",
    "server_error",
    "unsupported_region",
]


def new_request_id() -> str:
    """A fresh ``x-request-id`` value shaped like OpenAI's (``req_`` + 32 hex)."""
    return "req_" + secrets.token_hex(16)


# Event ids need to be unique, not unguessable: from a generator of their own (seeded
# from the OS once), not one ``os.urandom`` call per event — the ECHO mode makes one per
# audio chunk, on the benchmarked relay's machine. Not the ``random`` module's shared
# generator, which Hypothesis re-seeds in tests.
_event_ids = random.Random()


def new_event_id() -> str:
    """A fresh server event id shaped like OpenAI's (``event_`` + 22 chars)."""
    return f"event_{_event_ids.getrandbits(88):022x}"


@dataclass(frozen=True)
class FakeError:
    """One OpenAI error, renderable for REST, Realtime events and close reasons."""

    status: int
    type: str
    code: str | None
    message: str
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The REST JSON body."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def event(self, client_event_id: str | None = None) -> dict[str, Any]:
        """The Realtime ``error`` server event; ``client_event_id`` names the cause."""
        return {
            "type": "error",
            "event_id": new_event_id(),
            "error": {
                "type": self.type,
                "code": self.code,
                "message": self.message,
                "param": self.param,
                "event_id": client_event_id,
            },
        }

    @property
    def close_reason(self) -> str:
        """``<type>.<code>``; a null code is written ``null`` (real wording unconfirmed)."""
        return f"{self.type}.{self.code if self.code is not None else 'null'}"


class FakeOpenAIError(Exception):
    """Raised inside the fake's REST handlers; rendered as OpenAI's error response."""

    def __init__(self, error: FakeError) -> None:
        super().__init__(f"{error.status} {error.type}.{error.code}")
        self.error = error


_KEYS_URL = "https://platform.openai.com/account/api-keys"


def invalid_api_key(key: str) -> FakeError:
    """401 for a wrong, mistyped, revoked or deleted key (message masks the key)."""
    return FakeError(
        401,
        "invalid_request_error",
        "invalid_api_key",
        f"Incorrect API key provided: {openai_masked_key(key)}. "
        f"You can find your API key at {_KEYS_URL}.",
    )


def missing_api_key() -> FakeError:
    """401 when no ``Authorization`` header was sent."""
    return FakeError(
        401,
        "invalid_request_error",
        None,
        "You didn't provide an API key. You need to provide your API key in an "
        "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), "
        "or as the password field (with blank username) if you're accessing the API from "
        "your browser and are prompted for a username and password. You can obtain an API "
        f"key from {_KEYS_URL}.",
    )


def account_deactivated() -> FakeError:
    """401 for a key whose account was deactivated."""
    return FakeError(
        401,
        "invalid_request_error",
        "account_deactivated",
        "This key is associated with a deactivated account. If you feel this is an "
        "error, contact us through our help center at help.openai.com.",
    )


def restricted_key(scope: str = "model.request") -> FakeError:
    """401 (not 403) for a restricted key lacking a scope; the code is null."""
    return FakeError(
        401,
        "invalid_request_error",
        None,
        f"You have insufficient permissions for this operation. Missing scopes: {scope}. "
        "Check that you have the correct role in your organization (Reader, Writer, "
        "Owner) and project (Member, Owner), and if you're using a restricted API key, "
        "that it has the necessary scopes.",
    )


def admin_key_on_model_endpoint() -> FakeError:
    """What an ``sk-admin-`` key gets on model endpoints."""
    return restricted_key("api.model.read")


def mismatched_organization() -> FakeError:
    """401 when ``OpenAI-Organization`` does not match the key's organization."""
    return FakeError(
        401,
        "invalid_request_error",
        "mismatched_organization",
        "OpenAI-Organization header should match organization for API key",
    )


def mismatched_project() -> FakeError:
    """401 when ``OpenAI-Project`` does not match the key's project (wording unconfirmed)."""
    return FakeError(
        401,
        "invalid_request_error",
        "mismatched_project",
        "OpenAI-Project header should match project for API key",
    )


def insufficient_quota() -> FakeError:
    """429 when the account has no credit left."""
    return FakeError(
        429,
        "insufficient_quota",
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details. "
        "For more information on this error, read the docs: "
        "https://platform.openai.com/docs/guides/error-codes/api-errors.",
    )


def rate_limit_exceeded(model: str, retry_after: str) -> FakeError:
    """429 with ``retry-after`` for a per-minute token limit."""
    return FakeError(
        429,
        "tokens",
        "rate_limit_exceeded",
        f"Rate limit reached for {model} in organization org-fake000000000000000000 on "
        "tokens per min (TPM): Limit 40000, Used 40000, Requested 1200. "
        f"Please try again in {retry_after}s.",
        headers={"retry-after": retry_after},
    )


def unsupported_region() -> FakeError:
    """403 for a country, region or territory OpenAI does not serve."""
    return FakeError(
        403,
        "request_forbidden",
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    )


def model_not_found(model: str) -> FakeError:
    """404 for an unknown model or one this key cannot use."""
    return FakeError(
        404,
        "invalid_request_error",
        "model_not_found",
        f"The model `{model}` does not exist or you do not have access to it.",
        param="model",
    )


def server_error(retry_after: str | None) -> FakeError:
    """503 while OpenAI is unwell (body wording unconfirmed)."""
    return FakeError(
        503,
        "server_error",
        "server_error",
        "The server is overloaded or not ready yet.",
        headers={"retry-after": retry_after} if retry_after else {},
    )


def no_realtime_access(model: str) -> FakeError:
    """403 at the Realtime upgrade for a key without Realtime access."""
    return FakeError(
        403,
        "invalid_request_error",
        "model_not_available",
        f"You do not have access to the Realtime API with model {model}. "
        "Check your project's model and endpoint permissions.",
    )


def beta_api_shape_disabled() -> FakeError:
    """Realtime error when a client still sends ``OpenAI-Beta: realtime=v1``."""
    return FakeError(
        400,
        "invalid_request_error",
        "beta_api_shape_disabled",
        "The Realtime API beta interface has been retired. Remove the 'OpenAI-Beta: "
        "realtime=v1' header and use the GA interface.",
    )


def invalid_request(message: str, *, code: str | None = "invalid_value", param: str | None = None) -> FakeError:
    """A 400 ``invalid_request_error`` (bad parameters, bad client events)."""
    return FakeError(400, "invalid_request_error", code, message, param=param)
