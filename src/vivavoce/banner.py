"""The startup banner: what matters about this run, readable in a platform's log view.

In the spirit of the seed guide's "what a healthy start looks like": is the key set
(masked, where it came from, its type, anything wrong with it, values set twice),
which realtime model, which database (password hidden), which mode — real OpenAI or
the built-in simulator, impossible to miss — where it listens, and whose
X-Forwarded-For/-Proto it believes. In development a generated admin token is printed
here, once; it is never logged.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from vivavoce import __version__
from vivavoce.config import Settings
from vivavoce.keys import inspect_key
from vivavoce.openai_client import base_url_for
from vivavoce.redact import redact
from vivavoce.runtime import Runtime
from vivavoce.secret_strength import secret_warnings

__all__ = ["database_display", "render_banner"]

_SIMULATOR = "SIMULATOR MODE: interviews run against the built-in fake OpenAI, not the real AI"


def database_display(url: str) -> str:
    """The database URL with any password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        # Not parseable: show nothing of it rather than risk showing a password.
        return "(a URL that cannot be parsed; see DATABASE_URL)"


def _key_lines(runtime: Runtime) -> list[str]:
    settings = runtime.settings
    raw = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    # The key new interviews use can differ from the settings after a reload.
    if runtime.api_key is not None and inspect_key(runtime.api_key).normalised != inspect_key(raw).normalised:
        raw, source = runtime.api_key, "reloaded"
    else:
        source = settings.source_of("openai_api_key").describe()
    report = inspect_key(raw)
    lines: list[str] = []
    if report.key_type == "missing":
        tail = " (the simulator is used instead)" if settings.use_simulator else ""
        lines.append(f"  ✘ OpenAI key    not set{tail}")
    else:
        mark = "✔" if report.usable else "✘"
        lines.append(
            f"  {mark} OpenAI key    {report.masked} — {report.type_name}, {source}, "
            f"fingerprint {report.fingerprint}"
        )
    for finding in report.findings:
        if finding.severity != "info" and finding.code not in ("missing",):
            mark = "✘" if finding.severity == "error" else "!"
            lines.append(f"      {mark} {finding.message}")
    if settings.dotenv_problem:
        lines.append(f"      ! {settings.dotenv_problem}")
    for conflict in settings.conflicts:
        lines.append(
            f"      ! {conflict.describe()}"
        )
    if not report.usable and report.key_type != "missing":
        lines.append("      → run `vivavoce doctor` for the cause and the fix")
    return lines


def _proxy_lines(settings: Settings) -> list[str]:
    source = settings.source_of("forwarded_allow_ips")
    if source.kind != "default":
        where = source.describe()
    else:
        where = "default on Railway" if settings.platform == "railway" else "default"
    lines = [
        f"    proxy headers X-Forwarded-For/-Proto believed from "
        f"{settings.describe_forwarded_allow_ips()} ({where})"
    ]
    if settings.effective_forwarded_allow_ips == ["*"] and settings.platform != "railway":
        lines.append(
            "      ! any client can claim another address or https: right only if nothing "
            "but your proxy can reach this port (else set VIVAVOCE_FORWARDED_ALLOW_IPS to "
            "the proxy's address)"
        )
    return lines


def _access_lines(settings: Settings) -> list[str]:
    """Open interviews when they are on, and secrets that are set but weak."""
    lines: list[str] = []
    if settings.allow_open_interviews:
        why = (
            "VIVAVOCE_OPEN_INTERVIEWS"
            if settings.open_interviews is not None
            else "default in development on loopback"
        )
        lines.append(
            f"    open interviews ON ({why}): anyone who reaches this service can start "
            "interviews without a link"
        )
    lines += [f"      ! {warning}" for warning in secret_warnings(settings)]
    return lines


def render_banner(runtime: Runtime) -> str:
    """The banner text (several lines, no trailing newline). Never contains the key."""
    s = runtime.settings
    lines = [f"vivavoce {__version__} — {s.env} ({s.platform})"]
    lines += _key_lines(runtime)
    lines.append(f"    realtime      {s.realtime_model} (voice {s.voice})")
    lines.append(f"    database      {database_display(s.effective_database_url)}")
    if s.use_simulator:
        bar = "█" * (len(_SIMULATOR) + 4)
        lines += [f"    mode          {bar}", f"                  █ {_SIMULATOR} █", f"                  {bar}"]
    else:
        lines.append(f"    mode          OpenAI Realtime API at {base_url_for(s)}")
    # An IPv6 address needs brackets in a URL ("::" would read as http://:::8000).
    host = f"[{s.host}]" if ":" in s.host else s.host
    lines.append(f"    listening     http://{host}:{s.port}")
    if s.workers > 1:
        lines.append(f"    workers       {s.workers} processes share the port, each a full relay")
    else:
        lines.append("    workers       1 process (--workers N or VIVAVOCE_WORKERS for more cores)")
    lines += _proxy_lines(s)
    lines += _access_lines(s)
    # Belt and braces: nothing above should hold a key, but redact anyway (not the
    # admin token below: printing it is the point).
    lines = [redact(line) for line in lines]
    if runtime.admin_token_generated and not s.is_production:
        lines.append(
            f"    admin token   {runtime.admin_token}  (generated for this run; set "
            "VIVAVOCE_ADMIN_TOKEN to keep one)"
        )
    return "\n".join(lines)
