"""Résumé intake: judge the file by its content, extract clean text, guess a few fields.

Use :func:`read_resume` (bytes in, :class:`ResumeText` out, :class:`ResumeError` with an
HTTP status and a message for the candidate when the file cannot be used) and
:func:`guess_fields`. The server calls :func:`read_resume` only through
:class:`ResumeReader`, which runs it in a separate process it can kill (deadline, memory
limit, a few at a time).
"""

from vivavoce.resume.errors import ResumeError
from vivavoce.resume.extract import MAX_BYTES, ResumeText, read_resume
from vivavoce.resume.fields import ResumeFields, guess_fields
from vivavoce.resume.isolated import ReaderLimits, ResumeReader
from vivavoce.resume.sniff import FileKind, sniff

__all__ = [
    "MAX_BYTES",
    "FileKind",
    "ReaderLimits",
    "ResumeError",
    "ResumeFields",
    "ResumeReader",
    "ResumeText",
    "guess_fields",
    "read_resume",
    "sniff",
]
