"""vivavoce.keys: offline key inspection, table-driven.

Keys are built from an obviously fake repeating body so nothing here looks real.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest

from vivavoce.keys import KeyType, fingerprint, inspect_key, mask_key


def body(n: int) -> str:
    """n characters of an obviously fake key body."""
    return ("NotAKey0Fake_" * (n // 13 + 1))[:n]


PROJECT = "sk-proj-" + body(156)  # 164 characters, today's length
SVCACCT = "sk-svcacct-" + body(150)
LEGACY = "sk-" + body(48)  # legacy user keys are exactly 51
TEST = "sk-test-ok-" + body(24)


@dataclass(frozen=True)
class Case:
    id: str
    raw: str | None
    key_type: KeyType
    usable: bool
    codes: tuple[str, ...]  # finding codes expected (in any order; others allowed: no)
    normalised: str | None = None
    position: int | None = None  # expected position of the first error finding


CASES = [
    Case("missing", None, "missing", False, ("missing",)),
    Case("empty", "", "missing", False, ("empty",)),
    Case("only-spaces", "  \n", "missing", False, ("empty",)),
    Case("project", PROJECT, "project", True, (), PROJECT),
    Case("service-account", SVCACCT, "service_account", True, (), SVCACCT),
    Case("legacy", LEGACY, "legacy_user", True, ("legacy_key",), LEGACY),
    Case("test-key", TEST, "test", True, ("test_key",), TEST),
    Case("trailing-newline", PROJECT + "\n", "project", True, ("surrounding_whitespace",), PROJECT),
    Case("surrounding-spaces", "  " + PROJECT + " ", "project", True, ("surrounding_whitespace",), PROJECT),
    Case("crlf", PROJECT + "\r\n", "project", True, ("surrounding_whitespace",), PROJECT),
    Case("bom-at-start", "\ufeff" + PROJECT, "project", True, ("surrounding_whitespace",), PROJECT),
    Case("double-quotes", f'"{PROJECT}"', "project", True, ("surrounding_quotes",), PROJECT),
    Case("single-quotes", f"'{PROJECT}'", "project", True, ("surrounding_quotes",), PROJECT),
    Case("smart-quotes-around", f"\u201c{PROJECT}\u201d", "project", True, ("surrounding_quotes",), PROJECT),
    Case("bearer", "Bearer " + PROJECT, "project", True, ("bearer_prefix",), PROJECT),
    Case("assignment", "OPENAI_API_KEY=" + PROJECT, "project", True, ("assignment_prefix",), PROJECT),
    Case(
        "assignment-quoted-newline",
        f'export OPENAI_API_KEY="{PROJECT}"\n',
        "project",
        True,
        ("assignment_prefix", "surrounding_quotes", "surrounding_whitespace"),
        PROJECT,
    ),
    Case("space-inside", PROJECT[:40] + " " + PROJECT[40:], "project", False, ("whitespace_inside",), position=41),
    Case("line-break-inside", PROJECT[:80] + "\n" + PROJECT[80:], "project", False, ("whitespace_inside",), position=81),
    Case("zero-width-space", PROJECT[:30] + "\u200b" + PROJECT[30:], "project", False, ("invisible_character",), position=31),
    Case("nbsp-inside", PROJECT[:20] + "\u00a0" + PROJECT[20:], "project", False, ("invisible_character",), position=21),
    Case(
        "position-counts-raw",
        "  " + PROJECT[:10] + "\u200b" + PROJECT[10:],
        "project",
        False,
        ("surrounding_whitespace", "invisible_character"),
        position=13,
    ),
    Case("smart-quote-inside", PROJECT[:50] + "\u2019" + PROJECT[50:], "project", False, ("smart_quote",), position=51),
    Case("accented-letter", PROJECT[:60] + "é" + PROJECT[60:], "project", False, ("non_ascii_character",), position=61),
    Case("stray-punctuation", PROJECT[:70] + "." + PROJECT[70:], "project", False, ("unexpected_character",), position=71),
    Case("placeholder-your-key", "your-api-key", "placeholder", False, ("placeholder",)),
    Case("placeholder-sk-dots", "sk-...", "placeholder", False, ("placeholder",)),
    Case("placeholder-ellipsis", "sk-proj-…", "placeholder", False, ("placeholder",)),
    Case("placeholder-xxxx", "sk-xxxx", "placeholder", False, ("placeholder",)),
    Case("placeholder-angle", "<key>", "placeholder", False, ("placeholder",)),
    Case("placeholder-here", "YOUR_OPENAI_API_KEY_HERE", "placeholder", False, ("placeholder",)),
    Case("shell-reference", "${OPENAI_API_KEY}", "placeholder", False, ("unexpanded_reference",)),
    Case("railway-reference", "${{shared.OPENAI_API_KEY}}", "placeholder", False, ("unexpanded_reference",)),
    Case("masked-copy", "sk-proj-" + "*" * 40 + "wxyz", "placeholder", False, ("masked_copy",)),
    Case("truncated-project", PROJECT[:40], "project", False, ("too_short",)),
    Case("early-project-key", PROJECT[:56], "project", True, (), PROJECT[:56]),
    Case("cut-off-new-project-key", PROJECT[:120], "project", True, ("possibly_truncated",)),
    Case("truncated-legacy", LEGACY[:45], "legacy_user", False, ("legacy_key", "too_short")),
    Case("two-project-keys", PROJECT + PROJECT, "project", False, ("two_keys",), position=165),
    Case(
        "two-keys-newline",
        PROJECT + "\n" + SVCACCT,
        "project",
        False,
        ("two_keys", "whitespace_inside"),
        position=166,  # the line break is character 165
    ),
    Case(
        "mis-decoded-quotes-around",  # cp1252 smart quotes read as UTF-8: not a second key
        "\ufffd" + PROJECT + "\ufffd",
        "unknown",
        False,
        ("non_ascii_character", "non_ascii_character", "unknown_format"),
        position=1,
    ),
    Case("two-legacy-keys", LEGACY + LEGACY, "legacy_user", False, ("two_keys", "legacy_key"), position=52),
    Case("admin", "sk-admin-" + body(80), "admin", False, ("admin_key",)),
    Case("ephemeral", "ek_" + body(40), "ephemeral", False, ("ephemeral_key",)),
    Case("anthropic", "sk-ant-api03-" + body(80), "other_provider", False, ("other_provider",)),
    Case("openrouter", "sk-or-v1-" + body(64), "other_provider", False, ("other_provider",)),
    Case("azure-hex", "0123456789abcdef" * 2, "other_provider", False, ("other_provider",)),
    Case("org-id", "org-" + body(24), "id_not_key", False, ("id_not_key",)),
    Case("project-id", "proj_" + body(24), "id_not_key", False, ("id_not_key",)),
    Case("unknown-format", "gateway-" + body(30), "unknown", True, ("unknown_format",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_inspect_key(case: Case) -> None:
    report = inspect_key(case.raw)
    assert report.key_type == case.key_type
    assert report.usable is case.usable
    assert sorted(f.code for f in report.findings) == sorted(case.codes)
    if case.normalised is not None:
        assert report.normalised == case.normalised
    if case.position is not None:
        assert report.errors[0].position == case.position
    # Nothing a finding says may contain the key (or a long piece of it).
    if report.normalised and len(report.normalised) > 16:
        secret = report.normalised[len(report.normalised) // 2 :][:12]
        for finding in report.findings:
            assert secret not in finding.message


def test_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


def test_mask_shows_prefix_and_last_four() -> None:
    assert mask_key(PROJECT) == "sk-proj-…" + PROJECT[-4:]
    assert mask_key(SVCACCT) == "sk-svcacct-…" + SVCACCT[-4:]
    assert mask_key(LEGACY) == "sk-…" + LEGACY[-4:]
    assert mask_key("ek_" + body(40)).startswith("ek_…")
    # A short secret part would be half given away by its last four: prefix only.
    assert mask_key("sk-test-abcdefgh") == "sk-test-…"


def test_fingerprint_is_sha256_prefix_and_compares_environments() -> None:
    assert fingerprint(PROJECT) == hashlib.sha256(PROJECT.encode()).hexdigest()[:8]
    assert len(fingerprint(PROJECT)) == 8
    # The same key pasted with a trailing newline has the same fingerprint once normalised.
    assert inspect_key(PROJECT + "\n").fingerprint == inspect_key(PROJECT).fingerprint
    assert inspect_key(PROJECT).fingerprint != inspect_key(SVCACCT).fingerprint


def test_bad_characters_are_listed_up_to_five() -> None:
    five = PROJECT[:10] + "é" * 5 + PROJECT[10:]
    assert [f.code for f in inspect_key(five).findings] == ["non_ascii_character"] * 5
    six = PROJECT[:10] + "é" * 6 + PROJECT[10:]
    assert [f.code for f in inspect_key(six).findings] == ["non_ascii_character"] * 5 + [
        "many_bad_characters"
    ]


def test_report_masks_and_type_name() -> None:
    report = inspect_key(" " + PROJECT)
    assert report.masked == "sk-proj-…" + PROJECT[-4:]
    assert report.type_name.startswith("a project key")
    assert inspect_key(None).masked is None and inspect_key(None).fingerprint is None


@pytest.mark.parametrize(
    "raw", ["\x00", "sk-proj-\x00\x01", "\U0001f600" * 3, "=" * 500, "'", '""', "é" * 100_000]
)
def test_garbage_never_raises(raw: str) -> None:
    report = inspect_key(raw)
    assert not report.usable
    assert len(report.findings) <= 8  # a handful of findings, never one per character
