"""The offline signals beside the model: shown with its evaluation, and a cap on a
dimension the model scored high where the signals find no evidence.

    share = answers showing the dimension's evidence / answers
            (structure: two or more STAR parts; evidence: a number or a named term)
    cap   = 3 if share == 0, 4 if share < 0.5, else 5
    score = min(model score, cap)

English interviews only (the STAR markers are English words; the cap treats both capped
dimensions alike), and only the dimensions in ``judge.CAPPED_DIMENSIONS``: their signals
are direct evidence, where the absence of a named tool, say, says little about field
knowledge. The overall score is computed again from the capped scores.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from vivavoce.evaluation.offline.judge import CAPPED_DIMENSIONS, evidence_share
from vivavoce.evaluation.offline.signals import is_english, pair_answers
from vivavoce.evaluation.rubric import Rubric
from vivavoce.evaluation.scoring import overall_score
from vivavoce.evaluation.transcript import TranscriptLine

__all__ = ["CAP_FORMULA", "apply_cap", "cap_for"]

CAP_FORMULA = "score = min(model score, cap); cap = 3 if share == 0, 4 if share < 0.5, else 5"

_WHAT = {
    "structure": "an answer with two or more STAR parts (situation, task, action, result)",
    "evidence": "an answer with a number or a named tool or technology",
}


def cap_for(share: float) -> int:
    return 3 if share == 0 else 4 if share < 0.5 else 5


def apply_cap(
    result: dict[str, Any],
    lines: Sequence[TranscriptLine],
    rubric: Rubric,
    *,
    language: str,
) -> tuple[int, dict[str, Any]]:
    """The model's stored result with the offline signals beside it and the cap applied;
    returns the (possibly lower) overall score and the new result."""
    # Imported here: the package's __init__ imports this module.
    from vivavoce.evaluation.offline import signals_summary

    out = copy.deepcopy(result)
    answers = pair_answers(lines, language=language)
    english = is_english(language)
    out["method"] = "model"
    out["signals"] = signals_summary(answers, language)
    applied: list[dict[str, Any]] = []
    if english and answers:
        for dim in out.get("dimensions", []):
            if dim.get("key") not in CAPPED_DIMENSIONS:
                continue
            share = evidence_share(dim["key"], answers)
            if share is None:
                continue
            cap = cap_for(share)
            if dim["score"] > cap:
                applied.append({"key": dim["key"], "model_score": dim["score"], "cap": cap,
                                "score": cap, "evidence_share": round(share, 2)})
                dim["model_score"] = dim["score"]
                dim["score"] = cap
                found = round(share * len(answers))
                dim["justification"] = (
                    f"{dim['justification']} [Capped at {cap} (the model gave "
                    f"{dim['model_score']}): the rule-based signals found "
                    f"{_WHAT[dim['key']]} in {found} of {len(answers)} answers.]"
                )
    out["cap"] = {
        "formula": CAP_FORMULA,
        "applied": applied,
        "note": None if english else
        "Not applied: the cap rests on English-word signals and this interview was not "
        "in English.",
    }
    overall = overall_score({d["key"]: d["score"] for d in out.get("dimensions", [])}, rubric)
    out["overall"] = {**out.get("overall", {}), "score": overall}
    return overall, out
