"""What a file is, judged by its bytes (the name and the declared type can lie)."""

from __future__ import annotations

import io
import zipfile
from typing import Literal

__all__ = ["FileKind", "sniff"]

FileKind = Literal["pdf", "docx", "txt", "zip", "doc", "image", "binary", "empty"]

_IMAGES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")
_TEXT_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def _looks_like_text(data: bytes) -> bool:
    sample = data[:8192]
    if sample.startswith(_TEXT_BOMS):
        return True
    if b"\x00" in sample:
        return False
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sample boundary is still text.
        if exc.start < len(sample) - 4:
            try:
                text = sample.decode("cp1252")
            except UnicodeDecodeError:
                return False
        else:
            text = sample[: exc.start].decode("utf-8")
    if not text:
        return False
    printable = sum(ch.isprintable() or ch in "\n\r\t" for ch in text)
    return printable / len(text) > 0.95


def sniff(data: bytes) -> FileKind:
    """Classify by content. Never raises."""
    if not data.strip():
        return "empty"
    # The PDF header may follow a little junk (some generators add a BOM or whitespace).
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return "binary"
        return "docx" if "word/document.xml" in names else "zip"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "doc"
    if data.startswith(_IMAGES) or data[8:12] == b"WEBP":
        return "image"
    return "txt" if _looks_like_text(data) else "binary"
