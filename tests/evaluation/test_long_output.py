"""Over-long texts and quotes through the whole evaluation: the model's answer (the fake's,
lengthened on its way back, as a verbose model would write it) is stored with its texts
shortened between words, long true quotes kept and invented ones caught."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import openai

from tests.evaluation.conftest import FAST, settle
from tests.evaluation.helpers import GOOD_TRANSCRIPT, LONG_ANSWER, Speaker, make_interview
from tests.fixtures.fake_openai import RunningFake
from vivavoce.evaluation.jobs import enqueue_evaluation
from vivavoce.evaluation.output import MAX_QUOTE, MAX_TEXT
from vivavoce.evaluation.rubric import Rubric
from vivavoce.evaluation.worker import EvaluationWorker
from vivavoce.store.database import Database
from vivavoce.testing.fake_responses import ResponsesBehaviour
from vivavoce.testing.scenarios import scenario_key

TRANSCRIPT: list[tuple[Speaker, str]] = [
    GOOD_TRANSCRIPT[0], ("candidate", LONG_ANSWER), *GOOD_TRANSCRIPT[2:],
]
LONG_SUMMARY = " ".join(
    f"In answer {i} you gave a concrete example, named the result and what you learned"
    for i in range(40)
)
# True for its first MAX_QUOTE characters, then words the candidate never said.
PADDED_QUOTE = LONG_ANSWER.replace(" which was more", " and the dean gave me an award, which was more")


class _VerboseModel(httpx.AsyncBaseTransport):
    """Passes requests to the fake over a real socket and rewrites the structured output
    of ``/responses`` with ``edit``, the way a longer-winded model would have answered."""

    def __init__(self, edit: Callable[[dict[str, Any]], None]) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._edit = edit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if not request.url.path.endswith("/responses") or response.status_code != 200:
            return response
        body = json.loads(await response.aread())
        part = body["output"][0]["content"][0]
        output = json.loads(part["text"])
        self._edit(output)
        part["text"] = json.dumps(output)
        return httpx.Response(200, json=body)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _lengthen(output: dict[str, Any]) -> None:
    output["summary"] = LONG_SUMMARY
    output["questions"][0]["quotes"] = [LONG_ANSWER, PADDED_QUOTE]


def _between_words(original: str, short: str, limit: int) -> None:
    assert len(short) <= limit and short.endswith("…")
    kept = short.removesuffix("…").rstrip()
    assert original.startswith(kept) and re.match(r"[,;:]*\s", original[len(kept):])


async def test_long_texts_and_quotes_are_stored_shortened_between_words(
    db: Database, fake_openai: RunningFake, behaviour: ResponsesBehaviour, rubric: Rubric
) -> None:
    async def client() -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(
            api_key=scenario_key("ok"), base_url=fake_openai.base_url, max_retries=0,
            timeout=FAST.request_timeout_s,
            http_client=httpx.AsyncClient(transport=_VerboseModel(_lengthen)),
        )

    worker = EvaluationWorker(db, rubric=rubric, model="gpt-5-mini", client_factory=client,
                              options=FAST)
    interview_id = await make_interview(db, TRANSCRIPT)
    await enqueue_evaluation(db, interview_id)
    row = await settle(worker, db, interview_id)

    assert row.status == "done", row.error
    assert row.result is not None and len(behaviour.requests) == 1
    assert len(LONG_SUMMARY) > MAX_TEXT and len(LONG_ANSWER) > MAX_QUOTE
    _between_words(LONG_SUMMARY, row.result["summary"], MAX_TEXT)
    # The long true quote is kept, shown shortened, linked to its turn; the padded one is
    # invented for what it adds beyond what is shown, and dropped.
    first = row.result["questions"][0]["quotes"]
    assert [q["turn"] for q in first] == [2]
    _between_words(LONG_ANSWER, first[0]["text"], MAX_QUOTE)
    assert row.invented_quotes == row.result["evidence"]["invented"] == 1
    assert "dean" not in json.dumps(row.result["questions"])
    # The other questions' quotes are the fake's own, short, not shortened: an ellipsis
    # there only marks where a phrase was taken out of its sentence.
    rest = [q["text"] for question in row.result["questions"][1:] for q in question["quotes"]]
    assert rest and all(len(text) < MAX_QUOTE // 2 for text in rest)
