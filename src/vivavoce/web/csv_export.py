"""Interviews as a CSV a spreadsheet opens as it should.

UTF-8 with a byte-order mark (Excel otherwise reads UTF-8 as the local code page and
garbles names), CRLF line ends (RFC 4180), and no cell a spreadsheet would run as a
formula: a text starting with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage return,
which some spreadsheets strip before looking) gets a leading apostrophe, the OWASP
advice for CSV injection. Numbers we write ourselves are left as numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["BOM", "csv_document", "safe_cell"]

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str | int | float:
    """The value as a cell: numbers as they are, text neutralised when it could be run as
    a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_document(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """The whole document, BOM first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return BOM + out.getvalue()
