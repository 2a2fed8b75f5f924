"""The rubric: what an interview is judged on, read from editable YAML.

The shipped rubric is ``vivavoce/data/rubric.yaml``; ``VIVAVOCE_RUBRIC_FILE`` replaces it.
:func:`load_rubric` validates the file and names the line of any mistake, so an operator
who edits it learns at startup (not after the first interview) what is wrong.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from vivavoce.interview.candidate import BankLevel

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


class RubricError(ValueError):
    """The rubric file is missing, not YAML, or does not describe a valid rubric.
    The message names the file and, where known, the line."""


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


def _node_line(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (or of its nearest parent)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if str(key_node.value) == str(part):
                    child = value_node
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def parse_rubric(text: str, *, source: str = "rubric") -> Rubric:
    """Validate rubric YAML. Raises :class:`RubricError` naming ``source`` and the line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise RubricError(f"{source}{where}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise RubricError(f"{source}: expected a mapping with 'name' and 'dimensions'")
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err.get("loc", ()))
            line = _node_line(root, loc)
            path = ".".join(str(p) for p in loc) or "(top)"
            at = f"line {line}, " if line is not None else ""
            problems.append(f"{at}{path}: {err.get('msg', 'invalid')}")
        raise RubricError(f"{source}: " + "; ".join(problems)) from None


def load_rubric(path: Path | str | None = None) -> Rubric:
    """Read the rubric at ``path`` (None = the one shipped with vivavoce).

    Raises :class:`RubricError` when the file cannot be read or is not a valid rubric.
    """
    if path is None:
        text = resources.files("vivavoce").joinpath(DEFAULT_RUBRIC).read_text(encoding="utf-8")
        return parse_rubric(text, source="built-in rubric")
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RubricError(f"{file}: cannot read the rubric file ({reason})") from None
    return parse_rubric(text, source=str(file))
