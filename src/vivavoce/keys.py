"""The OpenAI key, offline: normalise, check, classify, mask and fingerprint it.

Pure functions, no I/O. Everything here is safe to print: findings and masks never
contain the key, only its type prefix, its last four characters, positions and
Unicode names. :func:`inspect_key` is the one entry point; the doctor, the banner,
``/readyz`` and production start-up checks all read the same :class:`KeyReport`.

Positions in findings are 1-based character positions in the value *as found* (the raw
setting), so an operator can count along what they pasted.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "KeyFinding",
    "KeyReport",
    "KeyType",
    "Severity",
    "fingerprint",
    "inspect_key",
    "key_prefix",
    "mask_key",
]

KeyType = Literal[
    "project",
    "service_account",
    "legacy_user",
    "admin",
    "ephemeral",
    "test",
    "other_provider",
    "id_not_key",
    "placeholder",
    "unknown",
    "missing",
]
Severity = Literal["error", "warning", "info"]

# Longest prefix first: "sk-" must be tried last.
_PREFIXES: tuple[tuple[str, KeyType], ...] = (
    ("sk-proj-", "project"),
    ("sk-svcacct-", "service_account"),
    ("sk-admin-", "admin"),
    ("sk-test-", "test"),
    ("sk-ant-", "other_provider"),
    ("sk-or-", "other_provider"),
    ("ek_", "ephemeral"),
    ("org-", "id_not_key"),
    ("proj_", "id_not_key"),
    ("sk-", "legacy_user"),
)

# The shortest a complete key of each type has been seen. Early project keys were
# "sk-proj-" + 48 characters; today's are ~164. Legacy user keys are exactly 51.
_MIN_LENGTH: dict[KeyType, int] = {
    "project": 56,
    "service_account": 56,
    "admin": 56,
    "legacy_user": 51,
    "ephemeral": 20,
    "test": 16,
}

_OLD_PROJECT_LENGTH = 56
_NEW_PROJECT_LENGTH = 160

_TYPE_NAMES: dict[KeyType, str] = {
    "project": "a project key (sk-proj-)",
    "service_account": "a service-account key (sk-svcacct-)",
    "legacy_user": "a legacy user key (sk-)",
    "admin": "an admin key (sk-admin-)",
    "ephemeral": "an ephemeral Realtime secret (ek_)",
    "test": "a test key for the built-in fake (sk-test-)",
    "other_provider": "another provider's key",
    "id_not_key": "an OpenAI id, not a key",
    "placeholder": "placeholder text",
    "unknown": "not a recognised OpenAI key format",
    "missing": "not set",
}

# Characters OpenAI keys are made of. Anything else inside the key is a copy/paste slip.
_KEY_CHARS = re.compile(r"[A-Za-z0-9_\-]")
_QUOTES = {'"': '"', "'": "'", "`": "`", "\u201c": "\u201d", "\u2018": "\u2019"}
_SMART_QUOTES = "\u201c\u201d\u2018\u2019\u00ab\u00bb"
# Invisible or look-alike characters that survive a copy from a web page or chat.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00a0\u202f\u2007\u00ad"
_ASSIGNMENT = re.compile(r"^(?:export\s+)?OPENAI_API_KEY\s*[=:]\s*", re.IGNORECASE)
_BEARER = re.compile(r"^bearer\s+", re.IGNORECASE)
_PLACEHOLDER_WORDS = re.compile(
    r"your[-_ ]?(?:openai[-_ ]?)?(?:api[-_ ]?)?key|api[-_]?key[-_]?here|changeme|"
    r"replace[-_ ]?me|placeholder|insert[-_ ]?key|^<.*>$",
    re.IGNORECASE,
)
# "${OPENAI_API_KEY}", "$OPENAI_API_KEY", Railway's "${{shared.OPENAI_API_KEY}}": a
# reference nothing substituted.
_REFERENCE = re.compile(r"^\$(?:\{\{?[^}]*\}?\}|[A-Za-z_][A-Za-z0-9_]*)$")
_AZURE_KEY = re.compile(r"^[0-9a-fA-F]{32}$")
# A second key glued on: a typed prefix again, somewhere after the start.
_SECOND_KEY = re.compile(r"(?<=.)sk-(?:proj|svcacct|admin|test)-")


@dataclass(frozen=True)
class KeyFinding:
    """One thing noticed about the key. ``message`` never contains the key."""

    code: str
    severity: Severity
    message: str
    position: int | None = None  # 1-based, in the value as found


@dataclass(frozen=True)
class KeyReport:
    """What :func:`inspect_key` found out about one raw value."""

    normalised: str | None
    key_type: KeyType
    findings: list[KeyFinding] = field(default_factory=list)
    masked: str | None = None
    fingerprint: str | None = None

    @property
    def usable(self) -> bool:
        """A key we can send: present, and no finding of severity ``error``."""
        return self.normalised is not None and not any(
            f.severity == "error" for f in self.findings
        )

    @property
    def type_name(self) -> str:
        """Human words for :attr:`key_type` (e.g. "a project key (sk-proj-)")."""
        return _TYPE_NAMES[self.key_type]

    @property
    def errors(self) -> list[KeyFinding]:
        return [f for f in self.findings if f.severity == "error"]


def key_prefix(key: str) -> tuple[str, KeyType]:
    """The type prefix of ``key`` and the type it means (``("", "unknown")`` if none)."""
    for prefix, key_type in _PREFIXES:
        if key.startswith(prefix):
            return prefix, key_type
    return "", "unknown"


def mask_key(key: str) -> str:
    """Type prefix + "…" + last 4 characters, e.g. ``sk-proj-…wxyz``.

    When the secret part is short (under 12 characters), the last four would give away
    too much of it, so only the prefix is kept: ``sk-test-…``.
    """
    prefix, _ = key_prefix(key)
    rest = key[len(prefix) :]
    if len(rest) < 12:
        return f"{prefix}…"
    return f"{prefix}…{rest[-4:]}"


def fingerprint(key: str) -> str:
    """The first 8 hex digits of the key's SHA-256: compare two environments without the key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]


def _char_name(ch: str) -> str:
    name = unicodedata.name(ch, "")
    code = f"U+{ord(ch):04X}"
    return f"{code} {name}" if name else code


def _describe_edge(stripped: str) -> str:
    if "\n" in stripped or "\r" in stripped:
        return "a line break"
    if any(ch in _INVISIBLE for ch in stripped):
        return "an invisible character (" + ", ".join(
            sorted({_char_name(ch) for ch in stripped if ch in _INVISIBLE})
        ) + ")"
    return "spaces"


class _Cursor:
    """The key as a window ``raw[start:end]`` shrinking from both ends.

    Keeping indexes into the raw value (rather than new strings) is what lets every
    finding report a position in what the operator actually pasted.
    """

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.start = 0
        self.end = len(raw)

    @property
    def text(self) -> str:
        return self.raw[self.start : self.end]

    def strip_edges(self) -> str:
        """Strip whitespace and invisible characters from both ends; return what went."""
        removed = []
        while self.start < self.end and (
            self.raw[self.start].isspace() or self.raw[self.start] in _INVISIBLE
        ):
            removed.append(self.raw[self.start])
            self.start += 1
        while self.end > self.start and (
            self.raw[self.end - 1].isspace() or self.raw[self.end - 1] in _INVISIBLE
        ):
            removed.append(self.raw[self.end - 1])
            self.end -= 1
        return "".join(removed)


def _normalise(cursor: _Cursor, findings: list[KeyFinding]) -> None:
    """Apply the safe fixes (each reported), repeating until nothing changes.

    Repeating handles stacked slips such as ``OPENAI_API_KEY="sk-…"\\n``.
    """
    seen: set[str] = set()

    def note(code: str, message: str) -> None:
        if code not in seen:
            seen.add(code)
            findings.append(KeyFinding(code, "warning", message))

    while True:
        before = (cursor.start, cursor.end)
        removed = cursor.strip_edges()
        if removed:
            note(
                "surrounding_whitespace",
                f"The value has {_describe_edge(removed)} around it; it was removed. "
                "Store the key without it.",
            )
        match = _ASSIGNMENT.match(cursor.text)
        if match:
            cursor.start += match.end()
            note(
                "assignment_prefix",
                "The value starts with 'OPENAI_API_KEY='; the whole line was pasted "
                "as the value. It was removed.",
            )
        text = cursor.text
        if len(text) >= 2 and text[0] in _QUOTES and text[-1] == _QUOTES[text[0]]:
            cursor.start += 1
            cursor.end -= 1
            note(
                "surrounding_quotes",
                "The value is wrapped in quotes; they were removed. Quotes belong in "
                "a .env file at most, never inside a platform variable.",
            )
        match = _BEARER.match(cursor.text)
        if match:
            cursor.start += match.end()
            note(
                "bearer_prefix",
                "The value starts with 'Bearer '; that belongs in the HTTP header, not "
                "the variable. It was removed.",
            )
        if (cursor.start, cursor.end) == before:
            return


def _classify(key: str) -> KeyType:
    if _AZURE_KEY.match(key):
        return "other_provider"
    return key_prefix(key)[1]


def _is_placeholder(key: str, key_type: KeyType) -> bool:
    if _PLACEHOLDER_WORDS.search(key):
        return True
    prefix, _ = key_prefix(key)
    rest = key[len(prefix) :]
    if "..." in key or "…" in key:
        return True
    # "sk-xxxx", "sk-proj-XXXXXXXX", "sk-******": a template, not a key.
    return bool(rest) and set(rest.lower()) <= set("x*-_") and key_type != "unknown"


def _masked_copy(key: str) -> bool:
    # OpenAI shows keys as "sk-proj-****abcd" (error messages, dashboard).
    return "****" in key or "•" in key


# Past this many bad characters the value is not a key at all; listing more helps no one.
_MAX_CHARACTER_FINDINGS = 5


def _check_characters(cursor: _Cursor, all_findings: list[KeyFinding]) -> None:
    text = cursor.text
    reported_space = False
    findings: list[KeyFinding] = []
    for index, ch in enumerate(text):
        if len(findings) > _MAX_CHARACTER_FINDINGS:
            break
        position = cursor.start + index + 1
        if ch.isspace() and ch not in _INVISIBLE:
            if not reported_space:
                what = "a line break" if ch in "\r\n" else "whitespace"
                findings.append(
                    KeyFinding(
                        "whitespace_inside",
                        "error",
                        f"There is {what} inside the key at character {position}: the "
                        "key was split or wrapped when it was copied.",
                        position,
                    )
                )
                reported_space = True
        elif ch in _INVISIBLE:
            findings.append(
                KeyFinding(
                    "invisible_character",
                    "error",
                    f"Character {position} is an invisible {_char_name(ch)}, picked up "
                    "when copying from a web page or chat. Retype or re-copy the key.",
                    position,
                )
            )
        elif ch in _SMART_QUOTES:
            findings.append(
                KeyFinding(
                    "smart_quote",
                    "error",
                    f"Character {position} is a typographic quote ({_char_name(ch)}); an "
                    "editor replaced a plain quote. Remove it.",
                    position,
                )
            )
        elif not ch.isascii():
            findings.append(
                KeyFinding(
                    "non_ascii_character",
                    "error",
                    f"Character {position} is {_char_name(ch)}, which never appears in "
                    "an OpenAI key.",
                    position,
                )
            )
        elif not _KEY_CHARS.match(ch):
            findings.append(
                KeyFinding(
                    "unexpected_character",
                    "error",
                    f"Character {position} is {ch!r}, which never appears in an OpenAI "
                    "key.",
                    position,
                )
            )
    if len(findings) > _MAX_CHARACTER_FINDINGS:
        findings[_MAX_CHARACTER_FINDINGS:] = [
            KeyFinding(
                "many_bad_characters",
                "error",
                "There are more characters that never appear in an OpenAI key; this does "
                "not look like a key at all.",
            )
        ]
    all_findings.extend(findings)


def _two_keys(cursor: _Cursor) -> int | None:
    """Where a second key starts (1-based, raw), if two were run together."""
    text = cursor.text
    parts = text.split()
    if len(parts) > 1 and sum(1 for p in parts if key_prefix(p)[1] not in ("unknown",)) > 1:
        second = text.find(parts[1], len(parts[0]))
        return cursor.start + second + 1
    # Only after something that is itself a key: stray bytes in front of one key
    # (a mis-decoded smart quote, say) are bad characters, not a second key.
    match = _SECOND_KEY.search(text) if key_prefix(text)[1] != "unknown" else None
    if match:
        return cursor.start + match.start() + 1
    # Two legacy keys back to back: "sk-" again exactly where the first one ends.
    if key_prefix(text)[1] == "legacy_user" and text[51:54] == "sk-":
        return cursor.start + 52
    return None


def inspect_key(raw: str | None) -> KeyReport:
    """Normalise and inspect a raw key value, as found in a setting.

    Never raises; every problem is a :class:`KeyFinding`. ``normalised`` is the value
    after the safe fixes (surrounding whitespace, quotes, ``Bearer ``, a pasted
    ``OPENAI_API_KEY=``), or None when nothing is left.
    """
    if raw is None or not raw.strip(" \t\r\n" + _INVISIBLE):
        return KeyReport(
            None,
            "missing",
            [KeyFinding("missing", "error", "No OpenAI key is set.")]
            if raw is None
            else [KeyFinding("empty", "error", "OPENAI_API_KEY is set but empty.")],
        )

    findings: list[KeyFinding] = []
    cursor = _Cursor(raw)
    _normalise(cursor, findings)
    key = cursor.text
    if not key:
        findings.append(KeyFinding("empty", "error", "Nothing is left once the quotes and "
                                   "prefixes are removed: the key itself is missing."))
        return KeyReport(None, "missing", findings)

    key_type = _classify(key)
    if _REFERENCE.match(key):
        key_type = "placeholder"
        findings.append(
            KeyFinding(
                "unexpanded_reference",
                "error",
                "The value is a variable reference that was never substituted. Check the "
                "referenced variable exists (on Railway: the name inside ${{…}}), or paste "
                "the key itself.",
            )
        )
    elif _masked_copy(key):
        key_type = "placeholder"
        findings.append(
            KeyFinding(
                "masked_copy",
                "error",
                "This is the masked form OpenAI displays (with asterisks), not the key. "
                "The full key is shown only once, when it is created: create a new one.",
            )
        )
    elif _is_placeholder(key, key_type):
        key_type = "placeholder"
        findings.append(
            KeyFinding(
                "placeholder",
                "error",
                "This is placeholder text from an example, not a real key.",
            )
        )
    else:
        second = _two_keys(cursor)
        if second is not None:
            findings.append(
                KeyFinding(
                    "two_keys",
                    "error",
                    f"Two keys seem to be run together; the second starts at character "
                    f"{second}. Keep only one.",
                    second,
                )
            )
        _check_characters(cursor, findings)
        findings.extend(_type_findings(key, key_type))

    return KeyReport(
        normalised=key,
        key_type=key_type,
        findings=findings,
        masked=mask_key(key),
        fingerprint=fingerprint(key),
    )


def _type_findings(key: str, key_type: KeyType) -> list[KeyFinding]:
    found: list[KeyFinding] = []
    if key_type == "admin":
        found.append(KeyFinding("admin_key", "error", "This is an admin key: it manages "
                                "the organization and cannot call model endpoints. Use a "
                                "project key (sk-proj-)."))
    elif key_type == "ephemeral":
        found.append(KeyFinding("ephemeral_key", "error", "This is an ephemeral Realtime "
                                "secret (ek_): it expires within minutes and is meant for "
                                "a browser, not a server. Use a project key (sk-proj-)."))
    elif key_type == "other_provider":
        if key.startswith("sk-ant-"):
            whose = "an Anthropic key (sk-ant-)"
        elif key.startswith("sk-or-"):
            whose = "an OpenRouter key (sk-or-)"
        else:
            whose = "an Azure OpenAI key (32 hex digits)"
        found.append(KeyFinding("other_provider", "error", f"This looks like {whose}, not "
                                "an OpenAI key; api.openai.com will reject it."))
    elif key_type == "id_not_key":
        what = "organization id (org-…)" if key.startswith("org-") else "project id (proj_…)"
        found.append(KeyFinding("id_not_key", "error", f"This is an {what}, not a key. "
                                "Ids go in OPENAI_ORG_ID / OPENAI_PROJECT_ID; the key starts "
                                "with sk-proj-."))
    elif key_type == "unknown":
        found.append(KeyFinding("unknown_format", "warning", "This does not look like an "
                                "OpenAI key (they start with sk-proj-, sk-svcacct- or sk-). "
                                "It may work with a proxy set in OPENAI_BASE_URL."))
    elif key_type == "test":
        found.append(KeyFinding("test_key", "info", "A test key (sk-test-): it only works "
                                "with the built-in fake OpenAI server."))
    elif key_type == "legacy_user":
        found.append(KeyFinding("legacy_key", "info", "A legacy user key (sk-): still "
                                "accepted, no longer issued. Project keys (sk-proj-) are "
                                "preferred."))
    minimum = _MIN_LENGTH.get(key_type)
    if key_type == "project" and _OLD_PROJECT_LENGTH < len(key) < _NEW_PROJECT_LENGTH:
        # Between the two lengths project keys have had: likely a cut-off copy of a new one.
        found.append(
            KeyFinding(
                "possibly_truncated",
                "warning",
                f"The key has {len(key)} characters; project keys created since 2024 have "
                f"about {_NEW_PROJECT_LENGTH + 4}. If OpenAI rejects it, it was probably cut "
                "off when copied.",
            )
        )
    if minimum is not None and len(key) < minimum:
        found.append(
            KeyFinding(
                "too_short",
                "error",
                f"The key has {len(key)} characters; {_TYPE_NAMES[key_type]} has at "
                f"least {minimum}. It was probably cut off when copied.",
            )
        )
    return found
