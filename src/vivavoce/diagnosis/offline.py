"""The doctor's checks that need no network: the configuration and the key itself."""

from __future__ import annotations

from vivavoce.config import Settings
from vivavoce.diagnosis.report import Check, CheckStatus
from vivavoce.keys import KeyReport, inspect_key
from vivavoce.openai_client import DEFAULT_BASE_URL, base_url_for
from vivavoce.secret_strength import secret_warnings

__all__ = ["cause_for_key", "check_configuration", "check_key", "key_report_for"]

# Key types that are a credential, just the wrong one for calling models.
_WRONG_TYPES = ("admin", "ephemeral", "other_provider", "id_not_key")


def key_report_for(settings: Settings, api_key: str | None = None) -> KeyReport:
    """Inspect ``api_key`` if given, else the configured key."""
    if api_key is not None:
        return inspect_key(api_key)
    raw = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return inspect_key(raw)


def cause_for_key(report: KeyReport) -> str | None:
    """The catalogue cause an offline key report points at (None: the key looks usable)."""
    if report.key_type == "missing":
        return "key_missing"
    if report.usable:
        return None
    if report.key_type in _WRONG_TYPES:
        return "key_wrong_type"
    return "key_malformed"


def check_configuration(settings: Settings) -> Check:
    """Settings are valid (we got here) — report where the key came from and conflicts."""
    parts = [f"platform {settings.platform}", f"environment {settings.env}"]
    if settings.use_simulator:
        parts.append("interviews use the BUILT-IN SIMULATOR, not OpenAI")
    parts.append(f"realtime model {settings.realtime_model}")
    base_url = base_url_for(settings)
    if base_url != DEFAULT_BASE_URL:
        parts.append(f"OPENAI_BASE_URL {base_url}")
    if settings.openai_org_id:
        parts.append(f"OPENAI_ORG_ID {settings.openai_org_id}")
    if settings.openai_project_id:
        parts.append(f"OPENAI_PROJECT_ID {settings.openai_project_id}")
    parts.append(f"proxy headers believed from {settings.describe_forwarded_allow_ips()}")
    status: CheckStatus = "pass"
    key_file = settings.openai_api_key_file
    if key_file is not None:
        try:
            key_file.read_bytes()  # readable at all (its content is the key check's job)
        except OSError as exc:
            status = "fail"
            parts.append(
                f"OPENAI_API_KEY_FILE {key_file} cannot be read ({exc.strerror or exc})"
            )
    if settings.dotenv_problem:
        status = "warn" if status == "pass" else status
        parts.append(settings.dotenv_problem)
    for conflict in settings.conflicts:
        status = "warn" if status == "pass" else status
        parts.append(conflict.describe())
    if settings.allow_open_interviews:
        parts.append("open interviews ON (anyone who reaches the service can start one)")
    for warning in secret_warnings(settings):
        status = "warn" if status == "pass" else status
        parts.append(warning)
    return Check("configuration", status, "; ".join(parts))



def check_key(settings: Settings, report: KeyReport, *, source: str | None = None) -> Check:
    """The offline key findings as one check (fail on any error finding).

    ``source`` describes a key that did not come from the settings (None: it did)."""
    cause = cause_for_key(report)
    if report.key_type == "missing":
        detail = "; ".join(f.message for f in report.findings)
        if source is None:
            detail += (
                " Looked in the environment, .env"
                + (f" and {settings.openai_api_key_file}" if settings.openai_api_key_file else "")
                + "."
            )
        return Check("key", "fail", detail, cause=cause)
    where = source if source is not None else settings.source_of("openai_api_key").describe()
    head = f"{report.masked} ({report.type_name}), {where}, fingerprint {report.fingerprint}"
    notes = [f.message for f in report.findings if f.severity != "info"]
    infos = [f.message for f in report.findings if f.severity == "info"]
    if report.key_type == "test" and base_url_for(settings) == DEFAULT_BASE_URL:
        notes.append("A test key is set but OPENAI_BASE_URL points at OpenAI, which will reject it.")
    status: CheckStatus
    if not report.usable:
        status = "fail"
    elif notes:
        status = "warn"
    else:
        status = "pass"
    detail = " ".join([head + ".", *notes, *infos])
    return Check("key", status, detail, cause=cause)
