"""Text out of a PDF, DOCX or plain-text résumé, with a clear error for everything else.

Blocking and CPU-bound (pypdf, python-docx). Inputs are bounded before parsing (size,
pages, uncompressed DOCX size), but a hostile file can still keep a parser busy or make
it allocate without end: the server runs :func:`read_resume` through
:class:`vivavoce.resume.isolated.ResumeReader` (a separate process, killed at a deadline,
memory-limited), never in its own process. A MemoryError is let through, not reported as
a corrupt file, so that the reader can say what happened.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from dataclasses import dataclass
from typing import Literal

from vivavoce.interview.candidate import RESUME_MAX, clean_text
from vivavoce.resume.errors import ResumeError
from vivavoce.resume.sniff import sniff

__all__ = ["MAX_BYTES", "MAX_PAGES", "ResumeText", "read_resume"]

log = logging.getLogger("vivavoce.resume")

MAX_BYTES = 5 * 1024 * 1024
MAX_PAGES = 30  # a résumé is a few pages; beyond this we stop reading
MAX_DOCX_UNCOMPRESSED = 40 * 1024 * 1024  # zip-bomb guard
MIN_TEXT_CHARS = 30  # less than this from a PDF means "scanned" for practical purposes

_PASTE_INSTEAD = "Paste your résumé text instead, or upload a PDF, DOCX or TXT file."


@dataclass(frozen=True)
class ResumeText:
    kind: Literal["pdf", "docx", "txt"]
    text: str
    truncated: bool
    pages: int | None = None


def read_resume(data: bytes) -> ResumeText:
    """Extract clean text from a résumé file (judged by content, not its name).

    Raises :class:`ResumeError`: 413 too large; 415 not a PDF, DOCX or text file; 422 an
    encrypted, corrupt or text-less PDF, a corrupt DOCX, or a file with no text.
    """
    if len(data) > MAX_BYTES:
        raise ResumeError(
            413, "too_large", f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB."
        )
    kind = sniff(data)
    pages: int | None = None
    if kind == "pdf":
        raw, pages = _pdf_text(data)
    elif kind == "docx":
        raw = _docx_text(data)
    elif kind == "txt":
        raw = _decode_text(data)
    elif kind == "empty":
        raise ResumeError(422, "empty_file", "The file is empty. " + _PASTE_INSTEAD)
    elif kind == "doc":
        raise ResumeError(
            415,
            "unsupported_type",
            "This is an old Word (.doc) file. Save it as .docx or PDF, or paste the text.",
        )
    elif kind == "image":
        raise ResumeError(
            415, "unsupported_type", "This is an image, not a document. " + _PASTE_INSTEAD
        )
    else:
        raise ResumeError(
            415, "unsupported_type", "This is not a PDF, DOCX or text file. " + _PASTE_INSTEAD
        )
    text, truncated = tidy(raw)
    if kind == "pdf" and len(text.replace(" ", "").replace("\n", "")) < MIN_TEXT_CHARS:
        raise ResumeError(
            422,
            "pdf_no_text",
            "This PDF has no text (it looks scanned or made of images); "
            "paste your résumé instead.",
        )
    if not text:
        raise ResumeError(422, "no_text", "No text was found in the file. " + _PASTE_INSTEAD)
    return ResumeText(kind=kind, text=text, truncated=truncated, pages=pages)


_RUNS = re.compile(r"([^\w\s]|_)\1{4,}")  # "__________" / "••••••" rules and leaders
_LONG_TOKEN = re.compile(r"\S{80,}")  # no word or URL in a résumé is this long


def tidy(raw: str) -> tuple[str, bool]:
    """Clean extracted text and cap its length; returns (text, truncated)."""
    text = clean_text(raw)
    text = _RUNS.sub(lambda m: m.group(1) * 3, text)
    text = _LONG_TOKEN.sub(lambda m: m.group(0)[:80], text)
    if len(text) <= RESUME_MAX:
        return text, False
    cut = text[:RESUME_MAX]
    # End at a line or word boundary rather than mid-word.
    boundary = max(cut.rfind("\n"), cut.rfind(" "))
    return (cut[:boundary] if boundary > RESUME_MAX * 0.9 else cut).rstrip(), True


def _pdf_text(data: bytes) -> tuple[str, int]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    # pypdf raises a wide variety of exception types on malformed input (ValueError,
    # KeyError, TypeError, RecursionError…), hence the broad catches below: any of them
    # means "this PDF cannot be read", never a server error.
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                # Owner-password-only PDFs open with an empty user password.
                opened = bool(reader.decrypt(""))
            except (DependencyError, NotImplementedError, PdfReadError):
                opened = False  # e.g. AES without the optional crypto library
            if not opened:
                raise ResumeError(
                    422,
                    "pdf_encrypted",
                    "This PDF is password-protected. Remove the password (print it to a "
                    "new PDF) or paste your résumé instead.",
                )
        count = len(reader.pages)
        parts = []
        for page in reader.pages[:MAX_PAGES]:
            parts.append(page.extract_text() or "")
    except (ResumeError, MemoryError):
        raise
    except FileNotDecryptedError:
        raise ResumeError(422, "pdf_encrypted", "This PDF is password-protected. " + _PASTE_INSTEAD) from None
    except Exception as exc:  # see above: corrupt input, whatever pypdf raises
        log.info("unreadable PDF résumé: %s", type(exc).__name__)
        raise ResumeError(
            422, "pdf_corrupt", "This PDF is damaged or incomplete and cannot be read. " + _PASTE_INSTEAD
        ) from None
    return "\n".join(parts), count


def _docx_text(data: bytes) -> str:
    import docx

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
        if total > MAX_DOCX_UNCOMPRESSED:
            raise ResumeError(413, "too_large", "This Word document is too large once unpacked.")
        document = docx.Document(io.BytesIO(data))
        lines = [p.text for p in document.paragraphs]
        for table in document.tables:
            for row in table.rows:
                cells = []
                for cell in row.cells:
                    if cell.text not in cells:  # merged cells repeat their text
                        cells.append(cell.text)
                lines.append(" | ".join(cells))
    except (ResumeError, MemoryError):
        raise
    except Exception as exc:  # zipfile, lxml and python-docx errors all mean "corrupt"
        log.info("unreadable DOCX résumé: %s", type(exc).__name__)
        raise ResumeError(
            422, "docx_corrupt", "This Word document is damaged and cannot be read. " + _PASTE_INSTEAD
        ) from None
    return "\n".join(lines)


def _decode_text(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Older Windows editors save cp1252; it decodes nearly any byte sequence.
        return data.decode("cp1252", errors="replace")
