"""YAML files an operator edits, validated by pydantic, with mistakes named by line.

The price table, the rubric and question imports are all read here, so each reports a
mistake the same way: ``FILE line N: FIELD: what is wrong`` (the line of the value at
fault, or of its nearest parent when the value is missing). JSON is YAML, so a JSON file
gets line numbers too.

PyYAML keeps line numbers only on its node tree, not on the plain data pydantic
validates; :class:`YamlDocument` keeps both and maps a pydantic error location back to
its node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

__all__ = [
    "YamlDocument",
    "YamlFileError",
    "YamlProblem",
    "load_yaml_model",
    "parse_yaml",
    "read_yaml_text",
]

M = TypeVar("M", bound=BaseModel)

Loc = tuple[int | str, ...]

# pydantic's words for "not a mapping / not a list", said the way a YAML author thinks.
_SHAPES = {"model_type": "expected a mapping", "dict_type": "expected a mapping",
           "list_type": "expected a list"}


@dataclass(frozen=True)
class YamlProblem:
    """One mistake in a file: where (file, line, field) and what."""

    source: str
    line: int | None
    field: str  # dotted path ("dimensions.0.weight"), a label, or "" for the file
    message: str

    def __str__(self) -> str:
        where = f"{self.source} line {self.line}" if self.line is not None else self.source
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class YamlFileError(ValueError):
    """A file that cannot be read or is not valid; ``problems`` lists every mistake."""

    def __init__(self, problems: Sequence[YamlProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def _child(node: yaml.Node, part: int | str) -> yaml.Node | None:
    found: yaml.Node | None = None
    if isinstance(node, yaml.MappingNode):
        found = next((value for key, value in node.value if str(key.value) == str(part)), None)
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        found = node.value[part]
    return found


@dataclass(frozen=True)
class YamlDocument:
    """A parsed file: its data (for pydantic) and its node tree (for line numbers)."""

    source: str
    data: Any
    root: yaml.Node | None

    def line_of(self, loc: Loc) -> int | None:
        """The 1-based line of the value at ``loc``, or of its nearest existing parent."""
        node = self.root
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in loc:
            child = _child(node, part)
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line

    def problem(self, loc: Loc, message: str, *, field: str | None = None) -> YamlProblem:
        """A problem at ``loc`` (``field`` defaults to the dotted path)."""
        path = ".".join(str(part) for part in loc) if field is None else field
        return YamlProblem(self.source, self.line_of(loc), path, message)

    def problems_of(self, exc: ValidationError, *, at: Loc = (), label: str = "") -> list[YamlProblem]:
        """pydantic's errors for the value at ``at`` as problems; fields are named from
        ``at`` on (``label`` names the value itself when the error is about all of it)."""
        out: list[YamlProblem] = []
        for err in exc.errors():
            loc = tuple(err.get("loc", ()))
            message = _SHAPES.get(str(err.get("type")), str(err.get("msg", "invalid")))
            field = ".".join(str(part) for part in loc) or label
            out.append(YamlProblem(self.source, self.line_of(at + loc), field, message))
        return out

    def validate(self, model: type[M], *, at: Loc = (), label: str = "",
                 error: type[YamlFileError] = YamlFileError) -> M:
        """The value at ``at`` as ``model``. Raises ``error`` listing every mistake."""
        data = self.data
        for part in at:
            data = data[part]
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise error(self.problems_of(exc, at=at, label=label)) from None


def parse_yaml(text: str, *, source: str, error: type[YamlFileError] = YamlFileError) -> YamlDocument:
    """Parse ``text`` (YAML or JSON; safe loader). Raises ``error`` naming the line of a
    syntax mistake."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        what = exc.problem or str(exc)
        raise error([YamlProblem(source, line, "", f"not valid YAML ({what})")]) from None
    except yaml.YAMLError as exc:
        raise error([YamlProblem(source, None, "", f"not valid YAML ({exc})")]) from None
    return YamlDocument(source, data, root)


def read_yaml_text(path: Path, *, what: str, error: type[YamlFileError] = YamlFileError) -> str:
    """The text of ``path`` (UTF-8). Raises ``error`` ("cannot read the {what} …")."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise error([YamlProblem(str(path), None, "", f"cannot read the {what} ({reason})")]) from None


def load_yaml_model(model: type[M], text: str, *, source: str,
                    error: type[YamlFileError] = YamlFileError) -> M:
    """Parse ``text`` and validate the whole document as ``model``. Raises ``error``."""
    return parse_yaml(text, source=source, error=error).validate(model, error=error)
