"""Run one claimed evaluation job from transcript to stored outcome.

Steps: read the interview; too little to judge -> ``insufficient`` (no model call); a
simulated interview, or the simulator mode -> the offline evaluator (rule-based, no model,
nothing spent); else ask the model; check the output against the schema and every quote against the transcript;
too many invented quotes -> ask once more and keep the better answer (still too many ->
``low_confidence``); compute the overall score; put the offline signals beside the
model's evaluation and cap where they find no evidence (``offline/cap.py``); store. Transient failures (rate limit,
5xx, timeout, connection, malformed output) put the job back with exponential backoff
until ``max_attempts``; the others fail it with the reason.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import openai

from vivavoce import metrics
from vivavoce.evaluation.costs import evaluation_cost
from vivavoce.evaluation.evidence import EvidenceReport, check_evidence
from vivavoce.evaluation.jobs import Claim, Outcome, finish, load_material
from vivavoce.evaluation.model_call import CallFailure, Usage, ask_model
from vivavoce.evaluation.offline import OFFLINE_MODEL, apply_cap, evaluate_offline
from vivavoce.evaluation.output import (
    MalformedOutput,
    ParsedEvaluation,
    build_output_model,
    parse_output,
)
from vivavoce.evaluation.prompt import EvaluationPrompt, build_prompt, candidate_level
from vivavoce.evaluation.report import build_result, insufficient_result
from vivavoce.evaluation.rubric import Rubric
from vivavoce.evaluation.transcript import TranscriptLine, assess_sufficiency
from vivavoce.logs import interview_id_var
from vivavoce.store.database import Database
from vivavoce.store.models import utcnow

__all__ = ["ClientFactory", "EvaluationOptions", "OfflineSwitch", "backoff_delay", "run_claim"]

log = logging.getLogger("vivavoce.evaluation")

# Builds the SDK client for one job (async: the simulator may have to start first);
# raises CallFailure when there is no usable key or endpoint.
ClientFactory = Callable[[], Awaitable[openai.AsyncOpenAI]]
# Asked at job time whether evaluations are offline (the simulator mode; a reload can
# change it). A simulated interview is evaluated offline whatever it answers.
OfflineSwitch = Callable[[], bool]


def _never() -> bool:
    return False


@dataclass(frozen=True)
class EvaluationOptions:
    """How the job runs. Defaults suit production; tests shrink the delays."""

    request_timeout_s: float = 120.0
    max_attempts: int = 5
    backoff_base_s: float = 15.0
    backoff_max_s: float = 900.0
    poll_interval_s: float = 5.0
    max_output_tokens: int = 16_000
    concurrency: int = 2
    """Jobs one instance runs at once (each mostly waits on OpenAI)."""
    catch_up_hours: float = 24.0
    """Interviews that ended this recently without a job get one (0: never). Older ones
    are left alone, so a first deployment does not evaluate (and pay for) all history."""

    @property
    def lease(self) -> timedelta:
        # Two model calls (the evidence re-ask) plus time for the database work.
        return timedelta(seconds=2 * self.request_timeout_s + 60)


def backoff_delay(attempts: int, options: EvaluationOptions, retry_after: float | None) -> float:
    """Seconds before attempt ``attempts + 1``: doubling from the base, capped, with
    +-20% jitter (so jobs failed together do not retry together), never sooner than
    OpenAI's ``retry-after``."""
    delay: float = min(
        options.backoff_max_s, options.backoff_base_s * 2.0 ** max(attempts - 1, 0)
    )
    delay *= random.uniform(0.8, 1.2)  # jitter, not security
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


@dataclass
class _Attempt:
    parsed: ParsedEvaluation
    evidence: EvidenceReport


class _Spend:
    """Tokens and cost of the model calls of one job."""

    def __init__(self, rubric: Rubric) -> None:
        self.rubric = rubric
        self.usage = Usage()
        self.cost = 0.0

    def add(self, model: str, usage: Usage) -> None:
        self.usage = self.usage + usage
        cost = evaluation_cost(
            model,
            input_tokens=usage.input_tokens,
            cached_tokens=usage.cached_tokens,
            output_tokens=usage.output_tokens,
            prices=self.rubric.prices,
        )
        self.cost += cost or 0.0
        metrics.tokens_used(model, "input_text", usage.input_tokens)
        metrics.tokens_used(model, "input_cached", usage.cached_tokens)
        metrics.tokens_used(model, "output_text", usage.output_tokens)
        if cost:
            metrics.cost_added(model, cost)


async def _ask_and_check(
    client: openai.AsyncOpenAI,
    *,
    model: str,
    prompt: EvaluationPrompt,
    rubric: Rubric,
    lines: list[TranscriptLine],
    options: EvaluationOptions,
    spend: _Spend,
) -> _Attempt:
    """One model call, schema-checked and evidence-checked. Raises CallFailure."""
    output_model = build_output_model(rubric)
    try:
        answer = await ask_model(
            client,
            model=model,
            prompt=prompt,
            output_model=output_model,
            request_timeout_s=options.request_timeout_s,
            max_output_tokens=options.max_output_tokens,
        )
    except CallFailure as failure:
        spend.add(model, failure.usage)
        raise
    spend.add(answer.model, answer.usage)
    try:
        parsed = parse_output(answer.text, output_model)
    except MalformedOutput as exc:
        cut = f" (the answer was cut short: {answer.incomplete_reason})" if answer.incomplete_reason else ""
        raise CallFailure("malformed", f"{exc}{cut}", transient=True) from None
    return _Attempt(parsed, check_evidence(parsed, lines))


def _too_many_invented(evidence: EvidenceReport, rubric: Rubric) -> bool:
    return evidence.invented > 0 and evidence.invented_share > rubric.evidence.max_invented_share


async def run_claim(
    db: Database,
    claim: Claim,
    *,
    rubric: Rubric,
    model: str,
    client_factory: ClientFactory,
    options: EvaluationOptions,
    now: Callable[[], datetime] = utcnow,
    offline: OfflineSwitch = _never,
) -> Outcome | None:
    """Run the claimed job and store its outcome; returns it (None if the interview was
    deleted meanwhile or another worker took the job over). Never raises for a failed
    evaluation: failures are outcomes."""
    token = interview_id_var.set(claim.interview_id)  # JSON log lines carry it
    try:
        return await _run(db, claim, rubric=rubric, model=model,
                          client_factory=client_factory, options=options, now=now,
                          offline=offline)
    finally:
        interview_id_var.reset(token)


async def _run(
    db: Database,
    claim: Claim,
    *,
    rubric: Rubric,
    model: str,
    client_factory: ClientFactory,
    options: EvaluationOptions,
    now: Callable[[], datetime],
    offline: OfflineSwitch,
) -> Outcome | None:
    started = time.monotonic()
    material = await load_material(db, interview_id=claim.interview_id)
    if material is None:
        return None
    if material.simulated or offline():
        outcome = _evaluate_offline(claim, material.lines, material.candidate,
                                    material.settings, rubric=rubric,
                                    simulated=material.simulated or offline(),
                                    max_attempts=options.max_attempts)
    else:
        outcome = await _evaluate(claim, material.lines, material.candidate,
                                  material.settings, rubric=rubric, model=model,
                                  client_factory=client_factory, options=options, now=now)
    stored = await finish(db, claim=claim, outcome=outcome, now=now())
    if not stored:
        log.warning("evaluation of interview %s is no longer held by this worker (taken "
                    "over after its lease ran out, re-run, or deleted); its outcome here "
                    "(%s) is dropped", claim.interview_id, outcome.status)
        return None
    if outcome.status in ("done", "failed"):
        metrics.evaluation_finished(time.monotonic() - started, outcome.status == "done")
    log.info(
        "evaluation of interview %s: %s (attempt %d%s)",
        claim.interview_id,
        outcome.status,
        claim.attempts,
        f", {outcome.error}" if outcome.error else "",
    )
    return outcome


def _language(interview_settings: dict[str, object]) -> str:
    language = interview_settings.get("language")
    return language if isinstance(language, str) and language else "en"


def _insufficient(lines: list[TranscriptLine], rubric: Rubric) -> Outcome | None:
    sufficiency = assess_sufficiency(lines, rubric.insufficient)
    if sufficiency.enough:
        return None
    return Outcome(
        "insufficient",
        result=insufficient_result(sufficiency, rubric.insufficient),
    )


def _evaluate_offline(
    claim: Claim,
    lines: list[TranscriptLine],
    candidate: dict[str, object],
    interview_settings: dict[str, object],
    *,
    rubric: Rubric,
    simulated: bool,
    max_attempts: int,
) -> Outcome:
    """The rule-based evaluation: no model, no cost, no retries (it cannot fail on the
    network); a bug in it fails the job with the reason rather than looping."""
    if claim.attempts > max_attempts:
        return Outcome("failed", error=f"Gave up after {max_attempts} attempts.")
    short = _insufficient(lines, rubric)
    if short is not None:
        return short
    try:
        overall, result = evaluate_offline(lines, rubric, level=candidate_level(candidate),
                                           language=_language(interview_settings),
                                           simulated=simulated)
    except ValueError as exc:  # nothing to pair (no interviewer or candidate turns)
        return Outcome("failed", error=f"The offline evaluation could not run: {exc}")
    return Outcome("done", overall_score=overall, result=result, model=OFFLINE_MODEL)


async def _evaluate(
    claim: Claim,
    lines: list[TranscriptLine],
    candidate: dict[str, object],
    interview_settings: dict[str, object],
    *,
    rubric: Rubric,
    model: str,
    client_factory: ClientFactory,
    options: EvaluationOptions,
    now: Callable[[], datetime],
) -> Outcome:
    if claim.attempts > options.max_attempts:
        return Outcome(
            "failed",
            error=f"Gave up after {options.max_attempts} attempts: the evaluation kept being "
            "interrupted (the service stopped or restarted while it ran). Re-run it.",
        )
    short = _insufficient(lines, rubric)
    if short is not None:
        return short
    language = _language(interview_settings)
    prompt = build_prompt(rubric, lines, candidate=candidate, language=language)
    spend = _Spend(rubric)
    try:
        client = await client_factory()
    except CallFailure as failure:  # no key (permanent), simulator not up (transient)
        return _failure_outcome(claim, failure, spend, model=model, options=options, now=now)
    try:
        first = await _ask_and_check(client, model=model, prompt=prompt, rubric=rubric,
                                     lines=lines, options=options, spend=spend)
        chosen, asked_again = first, False
        if _too_many_invented(first.evidence, rubric):
            # Ask once more; a second failure keeps the first answer (marked below).
            asked_again = True
            try:
                second = await _ask_and_check(client, model=model, prompt=prompt,
                                              rubric=rubric, lines=lines, options=options,
                                              spend=spend)
            except CallFailure as failure:
                log.info("re-asking for interview %s failed (%s); keeping the first answer",
                         claim.interview_id, failure.kind)
            else:
                if second.evidence.invented_share <= first.evidence.invented_share:
                    chosen = second
    except CallFailure as failure:
        return _failure_outcome(claim, failure, spend, model=model, options=options, now=now)
    finally:
        await client.close()
    level = candidate_level(candidate)
    overall, result = build_result(chosen.parsed, chosen.evidence, rubric, lines=lines,
                                   level=level, asked_again=asked_again)
    # The offline signals beside the model's words, and their cap on unbacked high scores.
    overall, result = apply_cap(result, lines, rubric, language=language)
    return Outcome(
        "done",
        overall_score=overall,
        result=result,
        low_confidence=_too_many_invented(chosen.evidence, rubric),
        invented_quotes=chosen.evidence.invented,
        model=model,
        input_tokens=spend.usage.input_tokens,
        output_tokens=spend.usage.output_tokens,
        cost_usd=spend.cost,
    )


def _failure_outcome(
    claim: Claim,
    failure: CallFailure,
    spend: _Spend,
    *,
    model: str,
    options: EvaluationOptions,
    now: Callable[[], datetime],
) -> Outcome:
    retry_at: datetime | None = None
    if failure.transient and claim.attempts < options.max_attempts:
        delay = backoff_delay(claim.attempts, options, failure.retry_after)
        retry_at = now() + timedelta(seconds=delay)
        reason = (
            f"Attempt {claim.attempts} of {options.max_attempts} failed ({failure.kind}): "
            f"{failure.reason}"
        )
    elif failure.transient:
        reason = (
            f"Gave up after {claim.attempts} attempts; the last failed ({failure.kind}): "
            f"{failure.reason}"
        )
    else:
        reason = failure.reason
    return Outcome(
        "pending" if retry_at is not None else "failed",
        error=reason,
        retry_at=retry_at,
        model=model,
        input_tokens=spend.usage.input_tokens,
        output_tokens=spend.usage.output_tokens,
        cost_usd=spend.cost,
    )
