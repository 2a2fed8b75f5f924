"""One call to the Responses API with structured output, and what its failures mean.

The official SDK does the call (``client.responses.parse`` with ``text_format`` sends the
output model's strict JSON schema). We ask it not to parse (``parse_as=None``): a reply
that does not match the schema must still give us its usage (it was paid for) and a clear
"malformed" reason, which :func:`vivavoce.evaluation.output.parse_output` provides.

The SDK's own retries are switched off by the caller (``max_retries=0``): the job counts
attempts in the database and backs off between them, which survives a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import openai
from pydantic import BaseModel

from vivavoce.evaluation.prompt import EvaluationPrompt
from vivavoce.redact import redact

__all__ = ["CallFailure", "ModelAnswer", "Usage", "ask_model", "classify_error"]

FailureKind = Literal[
    "rate_limited",
    "quota",
    "auth",
    "model_not_found",
    "bad_request",
    "server",
    "timeout",
    "connection",
    "refusal",
    "malformed",
]


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.cached_tokens + other.cached_tokens,
            self.output_tokens + other.output_tokens,
        )


@dataclass(frozen=True)
class ModelAnswer:
    """The reply's text (the JSON to check), usage, and whether it was cut short."""

    text: str
    usage: Usage
    model: str
    incomplete_reason: str | None = None


class CallFailure(Exception):
    """The call did not give an answer we can use.

    ``transient`` failures (rate limit, 5xx, timeout, connection, malformed output) are
    retried with backoff; the others fail the job with ``reason`` (written for the
    operator, never holding the key). ``usage`` is what the failed call still cost.
    """

    def __init__(
        self,
        kind: FailureKind,
        reason: str,
        *,
        transient: bool,
        retry_after: float | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(redact(reason))
        self.kind: FailureKind = kind
        self.reason = redact(reason)
        self.transient = transient
        self.retry_after = retry_after
        self.usage = usage or Usage()


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare from OpenAI; our own backoff applies


def classify_error(exc: openai.OpenAIError, *, model: str) -> CallFailure:
    """Map an SDK exception onto a :class:`CallFailure` with a fix for the operator."""
    if isinstance(exc, openai.APITimeoutError):
        return CallFailure("timeout", "The evaluation request to OpenAI timed out.", transient=True)
    if isinstance(exc, openai.APIConnectionError):
        return CallFailure(
            "connection", "Could not reach the OpenAI API for the evaluation.", transient=True
        )
    if not isinstance(exc, openai.APIStatusError):
        return CallFailure("bad_request", f"The OpenAI SDK failed: {exc}", transient=False)
    status, code = exc.status_code, exc.code
    if isinstance(exc, openai.RateLimitError) and code == "insufficient_quota":
        return CallFailure(
            "quota",
            "OpenAI refused the evaluation: the account has no credit left "
            "(429 insufficient_quota). Add credit or raise the project's budget at "
            "https://platform.openai.com/settings/organization/billing, then re-run the "
            "evaluation.",
            transient=False,
        )
    if isinstance(exc, openai.RateLimitError):
        return CallFailure(
            "rate_limited",
            "OpenAI's rate limit was reached (429 rate_limit_exceeded); retrying later.",
            transient=True,
            retry_after=_retry_after(exc),
        )
    if status >= 500 or status in (408, 409):
        return CallFailure(
            "server",
            f"OpenAI had a server error ({status}); retrying later.",
            transient=True,
            retry_after=_retry_after(exc),
        )
    if status in (401, 403):
        return CallFailure(
            "auth",
            f"OpenAI rejected the key for the evaluation ({status} {code or exc.type}): "
            f"{exc.message} Run 'vivavoce doctor' for the cause and fix.",
            transient=False,
        )
    if status == 404:
        return CallFailure(
            "model_not_found",
            f"The evaluation model {model!r} is not available to this key ({status} "
            f"{code or 'not_found'}). Set VIVAVOCE_EVALUATION_MODEL to a model it can use.",
            transient=False,
        )
    return CallFailure(
        "bad_request",
        f"OpenAI did not accept the evaluation request ({status} {code or exc.type}): "
        f"{exc.message}",
        transient=False,
    )


async def ask_model(
    client: openai.AsyncOpenAI,
    *,
    model: str,
    prompt: EvaluationPrompt,
    output_model: type[BaseModel],
    request_timeout_s: float,
    max_output_tokens: int = 16_000,
) -> ModelAnswer:
    """Ask for one evaluation. Raises :class:`CallFailure` (a refusal included)."""
    try:
        response = await client.responses.parse(
            model=model,
            instructions=prompt.instructions,
            input=prompt.input,
            text_format=output_model,
            parse_as=None,
            max_output_tokens=max_output_tokens,
            store=False,
            # The SDK's own timeout (not asyncio's): it raises APITimeoutError, which is
            # classified like any other transient failure.
            timeout=request_timeout_s,
        )
    except openai.OpenAIError as exc:
        raise classify_error(exc, model=model) from None
    usage = Usage()
    if response.usage is not None:
        details = response.usage.input_tokens_details
        # Counted as given, but never negative or missing (a proxy may strip fields).
        usage = Usage(
            max(response.usage.input_tokens or 0, 0),
            max((details.cached_tokens or 0) if details is not None else 0, 0),
            max(response.usage.output_tokens or 0, 0),
        )
    for item in response.output:
        if item.type != "message":
            continue
        for content in item.content:
            if content.type == "refusal":
                raise CallFailure(
                    "refusal",
                    f"The evaluation model declined to evaluate this interview: "
                    f"{content.refusal[:300]}",
                    transient=False,
                    usage=usage,
                )
    incomplete = None
    if response.status == "incomplete":
        details_ = response.incomplete_details
        incomplete = (details_.reason if details_ is not None else None) or "incomplete"
    return ModelAnswer(response.output_text, usage, response.model or model, incomplete)
