"""Bulk invites: a CSV of candidates in, the rows checked, each problem named by line.

Columns (the first line names them, any order, case and spaces ignored): ``name``,
``email`` or ``reference``, ``field``, ``level``, ``role`` (or ``target_role``), and an
optional ``note``. Every row is checked before anything is created: a file with a bad row
creates nothing, so fixing it and uploading again never makes duplicates.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from vivavoce.interview.candidate import CandidateContext

__all__ = ["MAX_ROWS", "BulkRow", "RowProblem", "parse_bulk_csv"]

MAX_ROWS = 1000
_ALIASES = {
    "name": "name",
    "email": "reference",
    "reference": "reference",
    "email_or_reference": "reference",
    "field": "field",
    "level": "level",
    "role": "role",
    "target_role": "role",
    "note": "note",
}
_REQUIRED = ("name", "field", "level")


@dataclass(frozen=True)
class BulkRow:
    line: int
    candidate: CandidateContext
    reference: str | None
    note: str | None


@dataclass(frozen=True)
class RowProblem:
    line: int
    problems: list[str]

    def as_detail(self) -> dict[str, Any]:
        return {"line": self.line, "problems": self.problems}


def _decode(data: bytes) -> str:
    # Spreadsheets save UTF-8 with a BOM, or (older Excel) Windows-1252.
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _key(header: str) -> str:
    return "_".join(header.strip().lower().replace("-", " ").split())


def parse_bulk_csv(data: bytes) -> tuple[list[BulkRow], list[RowProblem]]:
    """The rows, and the problems (line numbers as a spreadsheet shows them: the header
    is line 1). A file-level problem (no header, unknown columns) is reported as line 1."""
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return [], [RowProblem(1, ["The file is empty: the first line must name the columns."])]
    names = [_key(h) for h in header]
    unknown = [h for h, n in zip(header, names, strict=True) if n and n not in _ALIASES]
    columns = [_ALIASES.get(n) for n in names]
    missing = [r for r in _REQUIRED if r not in columns]
    if unknown or missing:
        problems = []
        if missing:
            problems.append(f"Missing column(s): {', '.join(missing)}.")
        if unknown:
            problems.append(
                f"Unknown column(s): {', '.join(unknown)}. Use name, email or reference, "
                "field, level, role, note."
            )
        return [], [RowProblem(1, problems)]
    rows: list[BulkRow] = []
    bad: list[RowProblem] = []
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue  # blank lines are not candidates
            if len(rows) + len(bad) >= MAX_ROWS:
                bad.append(RowProblem(line, [f"More than {MAX_ROWS} rows: split the file."]))
                break
            values: dict[str, str] = {}
            for column, cell in zip(columns, record, strict=False):
                if column:
                    values[column] = cell.strip()
            problems = [f"'{c}' is empty." for c in _REQUIRED if not values.get(c)]
            if len(record) > len(columns):
                problems.append(f"{len(record)} cells but {len(columns)} columns.")
            if len(values.get("reference", "")) > 200:
                problems.append("'reference' is longer than 200 characters.")
            if len(values.get("note", "")) > 2000:
                problems.append("'note' is longer than 2000 characters.")
            candidate: CandidateContext | None = None
            if not problems:
                try:
                    candidate = CandidateContext(
                        name=values["name"], field=values["field"], level=values["level"],
                        target_role=values.get("role", ""),
                    )
                except ValidationError as exc:
                    problems = [
                        f"'{_shown(e['loc'])}': {e['msg']}" for e in exc.errors()
                    ]
            if problems or candidate is None:
                bad.append(RowProblem(line, problems))
                continue
            rows.append(
                BulkRow(line, candidate, values.get("reference") or None, values.get("note") or None)
            )
    except csv.Error as exc:
        bad.append(RowProblem(reader.line_num, [f"Not valid CSV here: {exc}."]))
    if not rows and not bad:
        bad.append(RowProblem(1, ["No candidates: the file has only its header line."]))
    return rows, bad


def _shown(loc: tuple[Any, ...]) -> str:
    name = str(loc[0]) if loc else "row"
    return "role" if name == "target_role" else name
