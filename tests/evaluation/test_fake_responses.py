"""The fake's /v1/responses through the official SDK on a real socket."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import openai
import pytest
from pydantic import BaseModel

from tests.fixtures.fake_openai import RunningFake
from vivavoce.evaluation.output import build_output_model, parse_output
from vivavoce.evaluation.prompt import build_prompt
from vivavoce.evaluation.rubric import Rubric
from vivavoce.evaluation.transcript import TranscriptLine
from vivavoce.testing.fake_responses import ResponsesBehaviour
from vivavoce.testing.scenarios import scenario_key

LINES = [
    TranscriptLine(1, "interviewer", "Tell me about a project you are proud of."),
    TranscriptLine(2, "candidate", "I built a weather station with my sister. It logs data every minute."),
    TranscriptLine(3, "interviewer", "What went wrong?"),
    TranscriptLine(4, "candidate", "The battery died in the cold, so we added a solar panel."),
]


@pytest.fixture
async def client(fake_openai: RunningFake) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        api_key=scenario_key("ok"), base_url=fake_openai.base_url, max_retries=0, timeout=5
    ) as sdk:
        yield sdk


async def _evaluate(sdk: openai.AsyncOpenAI, rubric: Rubric) -> openai.types.responses.ParsedResponse[BaseModel]:
    prompt = build_prompt(rubric, LINES, candidate={"major": "Physics", "year": "2"})
    return await sdk.responses.parse(
        model="gpt-5-mini", instructions=prompt.instructions, input=prompt.input,
        text_format=build_output_model(rubric), parse_as=None,
    )


async def test_output_follows_the_schema_and_quotes_the_transcript(
    client: openai.AsyncOpenAI, rubric: Rubric, behaviour: ResponsesBehaviour
) -> None:
    response = await _evaluate(client, rubric)
    assert response.status == "completed"
    assert response.usage is not None and response.usage.input_tokens > 0
    parsed = parse_output(response.output_text, build_output_model(rubric))
    assert [q.question_turn for q in parsed.questions] == [1, 3]
    answers = {2: LINES[1].text, 4: LINES[3].text}
    for question, turn in zip(parsed.questions, (2, 4), strict=True):
        assert question.quotes and all(q in answers[turn] for q in question.quotes)
    sent = behaviour.requests[-1]
    assert sent["model"] == "gpt-5-mini"
    assert sent["text"]["format"]["strict"] is True


async def test_any_schema_is_followed(client: openai.AsyncOpenAI) -> None:
    class Animal(BaseModel):
        name: str
        legs: int
        tags: list[str]
        tame: bool | None

    response = await client.responses.parse(
        model="gpt-5-mini", input="[1] Interviewer: Name an animal.", text_format=Animal
    )
    animal = response.output_parsed
    assert isinstance(animal, Animal)
    assert len(animal.tags) == 3


async def test_a_schema_strict_mode_rejects_gets_400(client: openai.AsyncOpenAI) -> None:
    loose = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(
            model="gpt-5-mini", input="hi",
            text={"format": {"type": "json_schema", "name": "loose", "strict": True,
                             "schema": loose}},
        )
    assert caught.value.code == "invalid_json_schema"
    assert "additionalProperties" in caught.value.message


async def test_unknown_models_get_404_but_dated_snapshots_work(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        await client.responses.create(model="gpt-0-imaginary", input="hi")
    assert caught.value.code == "model_not_found"
    dated = await client.responses.create(model="gpt-5-mini-2025-08-07", input="hi")
    assert dated.model == "gpt-5-mini-2025-08-07"


async def test_missing_model_gets_400(client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.post("/responses", body={"input": "hi"}, cast_to=object)
    assert caught.value.code == "missing_required_parameter"


@pytest.mark.parametrize(
    ("scenario", "error", "code"),
    [
        ("noquota", openai.RateLimitError, "insufficient_quota"),
        ("ratelimited", openai.RateLimitError, "rate_limit_exceeded"),
        ("outage", openai.InternalServerError, "server_error"),
        ("invalid", openai.AuthenticationError, "invalid_api_key"),
    ],
)
async def test_key_scenarios_apply(
    fake_openai: RunningFake, scenario: str, error: type[openai.APIStatusError], code: str
) -> None:
    async with openai.AsyncOpenAI(
        api_key=scenario_key(scenario), base_url=fake_openai.base_url, max_retries=0
    ) as sdk:
        with pytest.raises(error) as caught:
            await sdk.responses.create(model="gpt-5-mini", input="hi")
    assert caught.value.code == code
    assert scenario_key(scenario) not in str(caught.value)


async def test_fault_refusal(client: openai.AsyncOpenAI, rubric: Rubric, behaviour: ResponsesBehaviour) -> None:
    behaviour.faults.append("refusal")
    response = await _evaluate(client, rubric)
    content = response.output[0].content[0]  # type: ignore[union-attr]
    assert content.type == "refusal"


async def test_fault_malformed_and_schema_violation(
    client: openai.AsyncOpenAI, rubric: Rubric, behaviour: ResponsesBehaviour
) -> None:
    behaviour.faults.extend(["malformed", "schema_violation"])
    cut = await _evaluate(client, rubric)
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.output_text)
    missing = json.loads((await _evaluate(client, rubric)).output_text)
    assert "summary" not in missing and "dimensions" in missing


async def test_fault_incomplete(client: openai.AsyncOpenAI, rubric: Rubric, behaviour: ResponsesBehaviour) -> None:
    behaviour.fault = "incomplete"
    response = await _evaluate(client, rubric)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"


async def test_fault_invented_quotes(client: openai.AsyncOpenAI, rubric: Rubric, behaviour: ResponsesBehaviour) -> None:
    behaviour.faults.append("invented_quotes")
    parsed = parse_output((await _evaluate(client, rubric)).output_text, build_output_model(rubric))
    transcript = " ".join(line.text for line in LINES)
    assert all(q not in transcript for question in parsed.questions for q in question.quotes)


async def test_fault_timeout(fake_openai: RunningFake, rubric: Rubric, behaviour: ResponsesBehaviour) -> None:
    behaviour.fault = "timeout"
    behaviour.timeout_delay_s = 0.6
    async with openai.AsyncOpenAI(
        api_key=scenario_key("ok"), base_url=fake_openai.base_url, max_retries=0, timeout=0.2
    ) as sdk:
        with pytest.raises(openai.APITimeoutError):
            await _evaluate(sdk, rubric)


async def test_fault_server_error(client: openai.AsyncOpenAI, behaviour: ResponsesBehaviour) -> None:
    behaviour.faults.append("server_error")
    with pytest.raises(openai.InternalServerError):
        await client.responses.create(model="gpt-5-mini", input="hi")
    # One fault per request: the next one is served.
    assert (await client.responses.create(model="gpt-5-mini", input="hi")).status == "completed"


def test_unknown_fault_is_refused(behaviour: ResponsesBehaviour) -> None:
    behaviour.fault = "gremlins"
    with pytest.raises(ValueError, match="unknown /v1/responses fault 'gremlins'"):
        behaviour.next_fault()


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/Nothing"}},
         "required": ["a"], "additionalProperties": False},
        {"$defs": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Node"}},
                            "required": ["next"], "additionalProperties": False}},
         "$ref": "#/$defs/Node"},
        {"type": "object", "properties": {"a": {"type": "array", "items": {"enum": []}}},
         "required": ["a"], "additionalProperties": False},
    ],
    ids=["dangling-ref", "endless-recursion", "empty-enum"],
)
async def test_a_schema_that_cannot_be_followed_gets_400(
    client: openai.AsyncOpenAI, schema: dict[str, object]
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await client.responses.create(
            model="gpt-5-mini", input="hi",
            text={"format": {"type": "json_schema", "name": "odd", "strict": True,
                             "schema": schema}},
        )
    assert caught.value.code == "invalid_json_schema"
