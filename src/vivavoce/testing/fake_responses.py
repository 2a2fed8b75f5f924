"""The fake OpenAI server's ``POST /v1/responses``: structured output from the transcript.

The answer follows the JSON schema the request sends in ``text.format`` (strict mode is
checked the way OpenAI checks it: every object closed and every property required), and
its content is derived from the transcript lines found in the request's input
(``[n] Interviewer: …`` / ``[n] Candidate: …``, see ``vivavoce.evaluation.transcript``):
questions are the interviewer's lines, quotes are verbatim pieces of the candidate's
answers, scores follow how much the candidate said. Any schema works, not only ours.

A model the fake does not list gets 404 ``model_not_found`` (dated snapshots of listed
models are accepted). Faults are injected per fake with :func:`responses_behaviour` (``fake.config`` holds the
key scenarios, which apply here too: ``noquota`` gets 429 ``insufficient_quota``,
``ratelimited`` 429 with ``retry-after``, ``outage`` 503, bad keys 401):

| fault | what the fake answers |
| --- | --- |
| ``invented_quotes`` | valid output whose quotes (a share of them) are not in the transcript |
| ``refusal`` | a message whose content is a ``refusal`` |
| ``malformed`` | output text that is not JSON (cut off mid-way) |
| ``schema_violation`` | JSON that misses a required property |
| ``incomplete`` | ``status: incomplete`` (``max_output_tokens``), text cut off |
| ``timeout`` | answers only after ``timeout_delay_s`` (the client times out first) |
| ``server_error`` | 500 ``server_error`` |
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import secrets
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request

from vivavoce.testing import fake_errors as errors
from vivavoce.testing.fake_access import Endpoint
from vivavoce.testing.fake_errors import FakeError, FakeOpenAIError
from vivavoce.testing.fake_models import MODELS
from vivavoce.testing.fake_rest import fake_of, guard
from vivavoce.testing.fake_state import FakeState
from vivavoce.text import shorten as shorten_text

__all__ = [
    "FAULTS",
    "ResponsesBehaviour",
    "generate_output",
    "responses_behaviour",
    "router",
    "shorten",
]

router = APIRouter()

FAULTS = (
    "invented_quotes",
    "refusal",
    "malformed",
    "schema_violation",
    "incomplete",
    "timeout",
    "server_error",
)

_LINE = re.compile(r"^\[(\d+)\] (Interviewer|Candidate): (.*)$")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"\w+")
_INVENTED = (
    "I single-handedly tripled the company's revenue in my first week",
    "I have won three international awards for leadership",
    "my manager said I was the best engineer she had ever hired",
)


@dataclass
class ResponsesBehaviour:
    """Faults and observations of one fake's ``/v1/responses`` (change at any time)."""

    faults: list[str] = field(default_factory=list)
    """Faults for the next requests, one each, in order; then ``fault`` applies."""
    fault: str | None = None
    """The fault of every request once ``faults`` is used up (None: answer normally)."""
    invented_share: float = 1.0
    """Share of quotes the ``invented_quotes`` fault replaces (rounded up)."""
    timeout_delay_s: float = 5.0
    """How long the ``timeout`` fault waits before answering. Keep it short: the fake's
    recording middleware hides the client's disconnect, so the handler waits it out
    (and a server shutdown waits for the handler)."""
    requests: list[dict[str, Any]] = field(default_factory=list)
    """The JSON bodies received, oldest first."""

    def next_fault(self) -> str | None:
        fault = self.faults.pop(0) if self.faults else self.fault
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown /v1/responses fault {fault!r}; known: {FAULTS}")
        return fault


_behaviours: weakref.WeakKeyDictionary[FakeState, ResponsesBehaviour] = (
    weakref.WeakKeyDictionary()
)


def responses_behaviour(fake: FakeState) -> ResponsesBehaviour:
    """The ``/v1/responses`` behaviour of ``fake`` (created on first use)."""
    behaviour = _behaviours.get(fake)
    if behaviour is None:
        behaviour = _behaviours[fake] = ResponsesBehaviour()
    return behaviour


# --- reading the request ----------------------------------------------------------------


def _input_text(value: Any) -> str:
    """All text of ``input`` (a string, or a list of messages with text parts)."""
    if isinstance(value, str):
        return value
    parts: list[str] = []
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                content = item.get("content", item.get("text"))
                parts.append(_input_text(content))
            elif isinstance(item, str):
                parts.append(item)
    elif isinstance(value, dict):
        parts.append(str(value.get("text", "")))
    return "\n".join(p for p in parts if p)


def _strict_problem(schema: Any, path: str = "schema") -> str | None:
    """Why OpenAI's strict mode would reject ``schema`` (None when it would not)."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" or "properties" in schema:
            props = schema.get("properties", {})
            if schema.get("additionalProperties") is not False:
                return f"'additionalProperties' is required to be supplied and to be false ({path})"
            if sorted(schema.get("required", [])) != sorted(props):
                return f"'required' is required to include every key in properties ({path})"
        for key, value in schema.items():
            found = _strict_problem(value, f"{path}.{key}")
            if found:
                return found
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            found = _strict_problem(value, f"{path}[{i}]")
            if found:
                return found
    return None


def _known_model(model: str) -> bool:
    """A model the fake lists, or a dated snapshot of one (``gpt-5-mini-2025-08-07``)."""
    return model in MODELS or any(model.startswith(name + "-") for name in MODELS)


def _bad_request(message: str, param: str | None = None, code: str = "invalid_value") -> FakeOpenAIError:
    return FakeOpenAIError(errors.invalid_request(message, code=code, param=param))


def _format_of(body: dict[str, Any]) -> dict[str, Any] | None:
    """``text.format`` when it asks for a JSON schema; raises for a malformed one."""
    text = body.get("text")
    if text is None:
        return None
    fmt = text.get("format") if isinstance(text, dict) else None
    if fmt is None or (isinstance(fmt, dict) and fmt.get("type") == "text"):
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise _bad_request("Invalid 'text.format': expected json_schema or text.", "text.format")
    schema = fmt.get("schema")
    if not isinstance(schema, dict) or not isinstance(fmt.get("name"), str):
        raise _bad_request(
            "Missing required parameter: 'text.format.schema' or 'text.format.name'.",
            "text.format", "missing_required_parameter",
        )
    if fmt.get("strict"):
        try:
            problem = _strict_problem(schema)
        except (TypeError, AttributeError):
            problem = "a keyword has a value of the wrong type"
        if problem:
            raise _bad_request(
                f"Invalid schema for response_format '{fmt['name']}': In context=(), {problem}.",
                "text.format.schema", "invalid_json_schema",
            )
    return fmt


# --- content derived from the transcript --------------------------------------------------


def shorten(text: str, limit: int) -> str:
    """``text`` with its spacing tidied, in at most ``limit`` characters, never cut inside
    a word: after the last whole sentence that fits when that keeps at least half of
    ``limit``, otherwise after the last whole word, with an ellipsis (``…``) to show that
    more was said (:func:`vivavoce.text.shorten`, which the product's evaluation uses
    too). Only a single word longer than ``limit`` is cut inside."""
    return shorten_text(" ".join(text.split()), limit)


@dataclass
class _Pair:
    question_turn: int
    question: str
    answer: str


@dataclass
class _Content:
    """What the generated output says, all taken from the transcript."""

    pairs: list[_Pair]
    current: _Pair | None = None

    @classmethod
    def from_text(cls, text: str) -> _Content:
        pairs: list[_Pair] = []
        question: tuple[int, str] | None = None
        for raw in text.splitlines():
            match = _LINE.match(raw.strip())
            if not match:
                continue
            seq, speaker, said = int(match.group(1)), match.group(2), match.group(3).strip()
            if speaker == "Interviewer":
                question = (seq, said)
            elif question is not None and said:
                if pairs and pairs[-1].question_turn == question[0]:
                    pairs[-1].answer += " " + said
                else:
                    pairs.append(_Pair(question[0], question[1], said))
        return cls(pairs)

    @property
    def answer_words(self) -> list[int]:
        return [len(_WORD.findall(p.answer)) for p in self.pairs]

    def score(self, name: str, low: int, high: int) -> int:
        """Longer, more specific answers score higher; dimensions differ a little."""
        words = self.answer_words
        mean = sum(words) / len(words) if words else 0
        base = 1 + sum(mean >= limit for limit in (8, 20, 40, 70))
        if any(ch.isdigit() for p in self.pairs for ch in p.answer):
            base += 1
        nudge = sum(map(ord, name)) % 3 - 1
        return max(low, min(high, base + nudge))

    def quotes(self, pair: _Pair | None) -> list[str]:
        """Verbatim pieces of the answer: each sentence's first dozen words."""
        if pair is None:
            return []
        out = []
        for sentence in _SENTENCE.split(pair.answer):
            words = sentence.split()
            if len(words) >= 3:
                out.append(" ".join(words[:12]).rstrip(",;:"))
        return out or [pair.answer]

    def text(self, name: str, index: int | None) -> str:
        pair = self.current
        n = len(self.pairs)
        if name == "question" and pair:
            return shorten(pair.question, 200)
        if name == "answer_summary" and pair:
            return f"You answered: {shorten(pair.answer, 160)}"
        if name == "strong" and pair:
            return f"You spoke to the question directly ({len(_WORD.findall(pair.answer))} words)."
        if name == "improve" and pair:
            return "Close with the result you achieved and what you learned."
        if name == "justification":
            return f"Judged on {n} answers of about {self._mean():.0f} words each."
        if name == "summary":
            return f"You answered {n} questions. Keep building on concrete examples."
        suffix = f" {index + 1}" if index is not None else ""
        return f"{name.replace('_', ' ').capitalize()}{suffix}, from {n} answers."

    def _mean(self) -> float:
        words = self.answer_words
        return sum(words) / len(words) if words else 0.0


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    while isinstance(ref, str) and ref.startswith("#/"):
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part]
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        ref = target.get("$ref") if isinstance(target, dict) else None
    return schema


def _count(schema: dict[str, Any], wanted: int) -> int:
    low = int(schema.get("minItems", 0))
    high = int(schema.get("maxItems", max(wanted, low)))
    return max(low, min(high, wanted))


_MAX_DEPTH = 12  # recursive schemas ($ref to an ancestor) stop here


class _SchemaTooOdd(ValueError):
    """The schema cannot be followed (a broken $ref, a recursion with no way out…)."""


def _value(
    schema: dict[str, Any], root: dict[str, Any], content: _Content, path: str,
    index: int | None = None,
) -> Any:
    """A value for ``schema`` at ``path`` (dotted property names: the last one decides
    what a string says; the whole path varies the scores between dimensions)."""
    if path.count(".") > _MAX_DEPTH:
        raise _SchemaTooOdd(f"nesting deeper than {_MAX_DEPTH} levels at {path}")
    schema = _resolve(schema, root)
    name = path.rsplit(".", 1)[-1]
    for union in ("anyOf", "oneOf"):
        if union in schema:
            options = [s for s in schema[union] if _resolve(s, root).get("type") != "null"]
            chosen = options[0] if options else schema[union][0]
            return _value(chosen, root, content, path, index)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        if not schema["enum"]:
            raise _SchemaTooOdd(f"an empty enum at {path}")
        return schema["enum"][(index or 0) % len(schema["enum"])]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return {
            key: _value(sub, root, content, f"{path}.{key}")
            for key, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        return _array(schema, root, content, path)
    if kind == "integer":
        low = int(schema.get("minimum", 1))
        high = int(schema.get("maximum", max(low, 5)))
        if name.endswith("_turn") and content.current is not None:
            return content.current.question_turn
        return content.score(path, low, high)
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return content.text(name, index)


def _array(schema: dict[str, Any], root: dict[str, Any], content: _Content, path: str) -> list[Any]:
    name = path.rsplit(".", 1)[-1]
    items = _resolve(schema.get("items", {}), root)
    if "question" in items.get("properties", {}):
        # One item per answered question, each generated with that question in view.
        out = []
        pairs: list[_Pair | None] = list(content.pairs) or [None]
        for i in range(_count(schema, len(content.pairs))):
            content.current = pairs[i % len(pairs)]
            out.append(_value(items, root, content, path, i))
        content.current = None
        return out
    if name == "quotes":
        found = content.quotes(content.current)
        wanted = _count(schema, min(2, len(found)))
        # With no answer in view there is nothing real to quote; a schema that still
        # demands quotes gets filler, which the evidence check rightly calls invented.
        filler = [f"(no answer to quote {i + 1})" for i in range(max(wanted - len(found), 0))]
        return (found + filler)[:wanted]
    return [_value(items, root, content, path, i) for i in range(_count(schema, 3))]


def generate_output(schema: dict[str, Any], transcript_text: str) -> Any:
    """A value following ``schema`` whose content comes from ``transcript_text``.

    Raises ValueError when the schema cannot be followed (a ``$ref`` to nothing, a
    malformed keyword, recursion that never ends).
    """
    try:
        return _value(schema, schema, _Content.from_text(transcript_text), "output")
    except _SchemaTooOdd:
        raise
    except (KeyError, TypeError, IndexError, AttributeError, ValueError) as exc:
        raise ValueError(f"cannot follow the schema ({type(exc).__name__}: {exc})") from None


def _invent_quotes(value: Any, share: float) -> Any:
    """Replace ``share`` of the strings in every ``quotes`` array with invented ones."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            if key == "quotes" and isinstance(sub, list):
                n = math.ceil(share * len(sub))
                out[key] = [_INVENTED[i % len(_INVENTED)] for i in range(n)] + sub[n:]
            else:
                out[key] = _invent_quotes(sub, share)
        return out
    if isinstance(value, list):
        return [_invent_quotes(v, share) for v in value]
    return value


# --- the endpoint -------------------------------------------------------------------------


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)  # OpenAI's rule of thumb for English


def _response(
    body: dict[str, Any], *, model: str, content: list[dict[str, Any]], input_text: str,
    output_text: str, status: str = "completed", incomplete: str | None = None,
) -> dict[str, Any]:
    input_tokens = _tokens(str(body.get("instructions") or "") + input_text)
    output_tokens = _tokens(output_text)
    return {
        "id": "resp_" + secrets.token_hex(24),
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": model,
        "output": [
            {
                "type": "message",
                "id": "msg_" + secrets.token_hex(24),
                "status": status,
                "role": "assistant",
                "content": content,
            }
        ],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "store": bool(body.get("store", True)),
        "temperature": 1.0,
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
        "metadata": body.get("metadata") or {},
    }


async def _wait_or_disconnect(request: Request, seconds: float) -> None:
    """Sleep ``seconds``, or less if the client is seen to give up (not visible behind a
    ``BaseHTTPMiddleware``, hence the short default delay)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return
        await asyncio.sleep(min(0.05, max(deadline - time.monotonic(), 0)))


@router.post("/responses")
async def create_response(request: Request) -> dict[str, Any]:
    """``POST /v1/responses`` (non-streaming): text or schema-following JSON."""
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise _bad_request("We could not parse the JSON body of your request.") from None
    if not isinstance(body, dict):
        raise _bad_request("The body must be a JSON object.")
    model = body.get("model")
    await guard(request, Endpoint.GENERATE, model=model if isinstance(model, str) else "gpt-5")
    behaviour = responses_behaviour(fake_of(request))
    behaviour.requests.append(body)
    if not isinstance(model, str) or not model:
        raise _bad_request("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    if not _known_model(model):
        raise FakeOpenAIError(errors.model_not_found(model))
    if body.get("stream"):
        raise _bad_request("The fake does not stream responses.", "stream")
    if "input" not in body:
        raise _bad_request("Missing required parameter: 'input'.", "input", "missing_required_parameter")
    fmt = _format_of(body)
    fault = behaviour.next_fault()
    if fault == "server_error":
        raise FakeOpenAIError(
            FakeError(500, "server_error", "server_error",
                      "The server had an error while processing your request. Sorry about that!")
        )
    if fault == "timeout":
        await _wait_or_disconnect(request, behaviour.timeout_delay_s)
    input_text = _input_text(body.get("input"))
    if fault == "refusal":
        refusal = "I'm sorry, but I can't help with evaluating this conversation."
        return _response(body, model=model, input_text=input_text, output_text=refusal,
                         content=[{"type": "refusal", "refusal": refusal}])
    if fmt is None:
        value: Any = None
        text = f"A reply to {len(input_text.split())} words of input."
    else:
        try:
            value = generate_output(fmt["schema"], input_text)
        except ValueError as exc:
            raise _bad_request(
                f"Invalid schema for response_format '{fmt['name']}': {exc}.",
                "text.format.schema", "invalid_json_schema",
            ) from None
        if fault == "invented_quotes":
            value = _invent_quotes(value, behaviour.invented_share)
        if fault == "schema_violation" and isinstance(value, dict) and value:
            value.pop(next(iter(value)))
        text = json.dumps(value, ensure_ascii=False)
    status, incomplete = "completed", None
    if fault in ("malformed", "incomplete"):
        text = text[: max(1, len(text) // 2)]
    if fault == "incomplete":
        status, incomplete = "incomplete", "max_output_tokens"
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return _response(body, model=model, input_text=input_text, output_text=text,
                     content=[part], status=status, incomplete=incomplete)
