"""Where settings come from: pydantic-settings sources that also record *where*.

:class:`vivavoce.config.Settings` reads its values through the sources here, in order of
precedence (pydantic-settings merges them; the first that has a value wins):

1. :class:`EnvironmentSource` — the process environment (or the mapping a test passes);
2. :class:`DotenvSource` — a ``.env`` file, with the line of each variable;
3. :class:`KeyFileSource` — the OpenAI key from the file ``OPENAI_API_KEY_FILE`` names.

Each source also writes what it found into the :class:`SourceTrace` of the load (every
place a setting was given, not only the winning one), from which :func:`trace_result`
makes ``Settings.sources`` (where each value came from) and ``Settings.conflicts`` (a
setting given twice with different values; for the key, each masked with its
fingerprint).

The values go to pydantic as the raw strings found: the settings' own validators parse
them (``"a,b"`` lists, JSON lists), exactly as for any other input, and pydantic-settings'
JSON decoding of "complex" fields is not used.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dotenv.parser import parse_stream
from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from vivavoce.keys import KeyReport, inspect_key

__all__ = [
    "Conflict",
    "DotenvSource",
    "EnvironmentSource",
    "KeyFileSource",
    "SettingSource",
    "SourceTrace",
    "read_dotenv",
    "trace_result",
    "tracing",
    "variable_names",
]

KEY_FIELD = "openai_api_key"
KEY_FILE_FIELD = "openai_api_key_file"


@dataclass(frozen=True)
class SettingSource:
    """Where one setting's effective value came from."""

    kind: Literal["env", "dotenv", "file", "default"]
    name: str  # the variable name that supplied it (e.g. OPENAI_API_KEY)
    location: str  # human text: "environment", ".env line 3", "/run/secrets/openai", "default"

    def describe(self) -> str:
        if self.kind == "default":
            return "default"
        return f"{self.name} from {self.location}"


@dataclass(frozen=True)
class Conflict:
    """The same setting given different values in two places; ``used`` wins."""

    setting: str
    used: SettingSource
    ignored: SettingSource
    # For the OpenAI key only: each value masked, with its fingerprint, so an operator
    # can tell which key is where without either being shown.
    used_key: str | None = None
    ignored_key: str | None = None

    def describe(self) -> str:
        """One sentence naming both places (and, for the key, both masked values)."""
        used = self.used.describe() + (f" ({self.used_key})" if self.used_key else "")
        ignored = self.ignored.describe() + (f" ({self.ignored_key})" if self.ignored_key else "")
        return (
            f"{self.setting} is set in two places with different values: {used} is used, "
            f"{ignored} is ignored"
        )


@dataclass
class _Found:
    source: SettingSource
    value: str


@dataclass
class SourceTrace:
    """One load's inputs (the environment, the ``.env`` path) and what the sources found."""

    environ: Mapping[str, str]
    env_file: Path | None
    found: dict[str, list[_Found]] = field(default_factory=dict)
    dotenv_problem: str | None = None

    def add(self, field_name: str, source: SettingSource, value: str) -> None:
        self.found.setdefault(field_name, []).append(_Found(source, value))


# The load in progress. pydantic-settings builds its sources inside the Settings
# constructor, which takes no arguments of ours: this hands them the load's inputs (a
# test's own environment) and collects what they found. Unset: the process environment
# and ./.env, found values discarded.
_TRACE: ContextVar[SourceTrace | None] = ContextVar("vivavoce_settings_trace", default=None)


class tracing:  # noqa: N801 - used like a function: `with tracing(trace): Settings(...)`
    """Make ``trace`` the load in progress for the settings built inside the block."""

    def __init__(self, trace: SourceTrace) -> None:
        self._trace = trace

    def __enter__(self) -> SourceTrace:
        self._token = _TRACE.set(self._trace)
        return self._trace

    def __exit__(self, *exc: object) -> None:
        _TRACE.reset(self._token)


def _current_trace() -> SourceTrace:
    trace = _TRACE.get()
    return trace if trace is not None else SourceTrace(os.environ, Path(".env"))


def variable_names(settings_cls: type[BaseSettings]) -> dict[str, tuple[str, ...]]:
    """Field name -> the variable names that can set it, in order of precedence (the
    upper-case choices of its ``validation_alias``)."""
    names: dict[str, tuple[str, ...]] = {}
    for field_name, info in settings_cls.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            env_names = tuple(
                str(choice).upper()
                for choice in alias.choices
                if isinstance(choice, str) and choice.isupper()
            )
            if env_names:
                names[field_name] = env_names
    return names


class _TracedSource(PydanticBaseSettingsSource):
    """A source that offers every setting it finds (first variable name wins) and records
    each of them in the load's trace."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.trace = _current_trace()

    def found(self) -> dict[str, list[tuple[SettingSource, str]]]:
        """Field name -> every (source, raw value) this source has for it, in order."""
        raise NotImplementedError

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Not used: __call__ reads everything at once (the values are raw strings).
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for field_name, found in self.found().items():
            for source, value in found:
                self.trace.add(field_name, source, value)
            if found:
                values[field_name] = found[0][1]
        return values


class EnvironmentSource(_TracedSource):
    """The process environment (a test's own mapping while tracing)."""

    def found(self) -> dict[str, list[tuple[SettingSource, str]]]:
        environ = self.trace.environ
        return {
            name: [(SettingSource("env", var, "the environment"), environ[var])
                   for var in variables if var in environ]
            for name, variables in variable_names(self.settings_cls).items()
        }


class DotenvSource(_TracedSource):
    """A ``.env`` file: each value with the line it is on. A file that cannot be read or
    is not UTF-8 is reported (``SourceTrace.dotenv_problem``), never a crash."""

    def found(self) -> dict[str, list[tuple[SettingSource, str]]]:
        path = self.trace.env_file
        if path is None:
            return {}
        values, self.trace.dotenv_problem = read_dotenv(path)
        return {
            name: [(SettingSource("dotenv", var, f"{path} line {values[var][1]}"), values[var][0])
                   for var in variables if var in values]
            for name, variables in variable_names(self.settings_cls).items()
        }


class KeyFileSource(_TracedSource):
    """The OpenAI key from the file ``OPENAI_API_KEY_FILE`` names (a mounted secret).

    Lowest precedence: a key in the environment or ``.env`` wins over the file. The file's
    path is whatever the sources before this one settled on. An unreadable file gives no
    key (the doctor reports it); bytes that are not UTF-8 become U+FFFD, which the key
    checks point at by position."""

    def found(self) -> dict[str, list[tuple[SettingSource, str]]]:
        path = self.current_state.get(KEY_FILE_FIELD)
        if path is None or str(path) == "":
            return {}
        try:
            text = Path(path).read_bytes().decode("utf-8-sig", errors="replace")
        except OSError:
            return {}
        # A text file ends with one line end (`echo sk-… > key`, Docker and Kubernetes
        # secrets): that is the file's shape, not part of the key, so it goes without a
        # finding. Anything more (a blank line, a trailing space) is still reported.
        key = _without_final_line_end(text)
        return {KEY_FIELD: [(SettingSource("file", "OPENAI_API_KEY_FILE", str(path)), key)]}


def read_dotenv(path: Path) -> tuple[dict[str, tuple[str, int]], str | None]:
    """Variable -> (value, line number) from a .env file, and what was wrong with the file.

    A missing file gives ``({}, None)``. A file that cannot be read, or is not UTF-8
    (Windows editors save cp1252: a key pasted with smart quotes), is reported rather
    than crashing start-up or being ignored in silence; undecodable bytes become U+FFFD,
    which the key checks then point at. Never raises.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        return {}, f"{path} cannot be read ({exc.strerror or exc}); nothing in it was used"
    problem: str | None = None
    try:
        # utf-8-sig: a byte-order mark (Notepad) must not become part of the first name.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problem = (
            f"{path} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "save it as UTF-8 — values read from it may be wrong"
        )
        text = data.decode("utf-8-sig", errors="replace")
    found: dict[str, tuple[str, int]] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.key is not None and binding.value is not None:
            # A binding's original text starts with the blank lines before it, so its
            # line is where those start; count them to point at the key's own line.
            original = binding.original.string
            leading = original[: len(original) - len(original.lstrip())]
            line = binding.original.line + leading.count("\n")
            found[binding.key.upper()] = (binding.value, line)
    return found, problem


def _without_final_line_end(text: str) -> str:
    """``text`` without one final ``\\n`` or ``\\r\\n`` (only one)."""
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith("\n"):
        return text[:-1]
    return text


def _key_conflict(used: _Found, other: _Found) -> Conflict | None:
    # Two spellings of the same key (quotes, a trailing newline) are not a conflict.
    first, second = inspect_key(used.value), inspect_key(other.value)
    if first.normalised == second.normalised:
        return None

    def label(report: KeyReport) -> str:
        if report.normalised is None:
            return "empty"
        return f"{report.masked}, fingerprint {report.fingerprint}"

    return Conflict(KEY_FIELD, used.source, other.source, label(first), label(second))


def trace_result(
    trace: SourceTrace, overrides: Mapping[str, Any]
) -> tuple[dict[str, SettingSource], list[Conflict]]:
    """Where each setting's value came from, and the settings given twice with different
    values. ``overrides`` (the command line's flags) win over every source."""
    sources: dict[str, SettingSource] = {}
    conflicts: list[Conflict] = []
    for field_name in overrides:
        flag = "--" + field_name.replace("_", "-")
        sources[field_name] = SettingSource("env", flag, "the command line")
    for field_name, found in trace.found.items():
        if field_name in overrides or not found:
            continue
        used = found[0]
        sources[field_name] = used.source
        for other in found[1:]:
            if field_name == KEY_FIELD:
                conflict = _key_conflict(used, other)
                if conflict is not None:
                    conflicts.append(conflict)
            elif other.value.strip() != used.value.strip():
                conflicts.append(Conflict(field_name, used.source, other.source))
    return sources, conflicts
