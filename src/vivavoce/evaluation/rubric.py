"""The rubric: what an interview is judged on, read from editable YAML.

The shipped rubric is ``vivavoce/data/rubric.yaml``; ``VIVAVOCE_RUBRIC_FILE`` replaces it.
:func:`load_rubric` validates the file and names the line of any mistake, so an operator
who edits it learns at startup (not after the first interview) what is wrong.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from vivavoce.interview.candidate import BankLevel
from vivavoce.yaml_models import YamlFileError, load_yaml_model, read_yaml_text

__all__ = [
    "DEFAULT_RUBRIC",
    "AnchorScore",
    "Dimension",
    "EvidencePolicy",
    "Rubric",
    "RubricError",
    "SufficiencyPolicy",
    "TextModelPrice",
    "TextPriceTable",
    "load_rubric",
    "parse_rubric",
]

DEFAULT_RUBRIC = "data/rubric.yaml"  # inside the vivavoce package

AnchorScore = Literal[1, 2, 3, 4, 5]
_SCORES: tuple[AnchorScore, ...] = (1, 2, 3, 4, 5)


class RubricError(YamlFileError):
    """The rubric file is missing, not YAML, or does not describe a valid rubric.
    The message names the file and, where known, the line and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dimension(_Strict):
    """One thing the interview is judged on, scored 1-5 against written anchors."""

    # Keys become JSON property names in the model's output schema: keep them simple.
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    name: str = Field(min_length=1, max_length=80)
    weight: float = Field(default=1.0, gt=0, le=100)
    description: str = Field(default="", max_length=1000)
    anchors: dict[AnchorScore, str]
    level_anchors: dict[BankLevel, dict[AnchorScore, str]] = Field(default_factory=dict)

    @field_validator("anchors")
    @classmethod
    def _all_anchors(cls, anchors: dict[AnchorScore, str]) -> dict[AnchorScore, str]:
        missing = [s for s in _SCORES if not anchors.get(s, "").strip()]
        if missing:
            raise ValueError(f"anchors must describe every score 1-5; missing {missing}")
        return anchors

    def anchors_for(self, level: BankLevel | None) -> dict[AnchorScore, str]:
        """The anchors for ``level``: the general ones with that level's overrides."""
        merged = dict(self.anchors)
        if level is not None:
            merged.update(self.level_anchors.get(level, {}))
        return {score: merged[score] for score in _SCORES}


class EvidencePolicy(_Strict):
    max_invented_share: float = Field(default=0.25, ge=0, le=1)
    """More than this share of invented quotes asks the model again (once)."""


class SufficiencyPolicy(_Strict):
    """When an interview holds too little to judge (it is then not sent to the model)."""

    min_answers: int = Field(default=2, ge=0, le=100)
    min_answer_words: int = Field(default=8, ge=1, le=1000)
    min_candidate_words: int = Field(default=40, ge=0, le=100_000)


class TextModelPrice(_Strict):
    """USD per one million tokens of a text model (the evaluation's)."""

    input: float = Field(ge=0)
    cached_input: float = Field(ge=0)
    output: float = Field(ge=0)


class TextPriceTable(_Strict):
    """The text models' prices (the Realtime ones are ``pricing.PriceTable``)."""

    as_of: str = ""
    models: dict[str, TextModelPrice] = Field(default_factory=dict)


class Rubric(_Strict):
    """A whole rubric file. Build it with :func:`load_rubric` or :func:`parse_rubric`."""

    name: str = Field(min_length=1, max_length=120)
    version: str = Field(default="1", max_length=40)
    levels: dict[BankLevel, str] = Field(default_factory=dict)
    dimensions: list[Dimension] = Field(min_length=1, max_length=12)
    evidence: EvidencePolicy = Field(default_factory=EvidencePolicy)
    insufficient: SufficiencyPolicy = Field(default_factory=SufficiencyPolicy)
    prices: TextPriceTable = Field(default_factory=TextPriceTable)

    @model_validator(mode="after")
    def _unique_keys(self) -> Rubric:
        seen: set[str] = set()
        for dim in self.dimensions:
            if dim.key in seen:
                raise ValueError(f"dimension key {dim.key!r} is used twice")
            seen.add(dim.key)
        return self

    def dimension(self, key: str) -> Dimension:
        """The dimension called ``key``; raises KeyError if there is none."""
        for dim in self.dimensions:
            if dim.key == key:
                return dim
        raise KeyError(key)


def parse_rubric(text: str, *, source: str = "rubric") -> Rubric:
    """Validate rubric YAML. Raises :class:`RubricError` naming ``source`` and the line."""
    return load_yaml_model(Rubric, text, source=source, error=RubricError)


def load_rubric(path: Path | str | None = None) -> Rubric:
    """Read the rubric at ``path`` (None = the one shipped with vivavoce).

    Raises :class:`RubricError` when the file cannot be read or is not a valid rubric.
    """
    if path is None:
        text = resources.files("vivavoce").joinpath(DEFAULT_RUBRIC).read_text(encoding="utf-8")
        return parse_rubric(text, source="built-in rubric")
    text = read_yaml_text(Path(path), what="rubric file", error=RubricError)
    return parse_rubric(text, source=str(path))
