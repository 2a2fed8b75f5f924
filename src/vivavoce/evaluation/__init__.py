"""The evaluation after an interview: rubric, model call, evidence check, score, jobs.

The relay calls :func:`enqueue_evaluation` when an interview ends; the worker started by
``web/api_evaluation.py`` does the rest. See docs/evaluation.md.
"""

from vivavoce.evaluation.jobs import (
    EvaluationBusy,
    InterviewNotEvaluable,
    enqueue_evaluation,
    get_evaluation,
    request_rerun,
)
from vivavoce.evaluation.rubric import Rubric, RubricError, load_rubric
from vivavoce.evaluation.runner import EvaluationOptions
from vivavoce.evaluation.scoring import FORMULA, overall_score
from vivavoce.evaluation.worker import EvaluationWorker

__all__ = [
    "FORMULA",
    "EvaluationBusy",
    "EvaluationOptions",
    "EvaluationWorker",
    "InterviewNotEvaluable",
    "Rubric",
    "RubricError",
    "enqueue_evaluation",
    "get_evaluation",
    "load_rubric",
    "overall_score",
    "request_rerun",
]
