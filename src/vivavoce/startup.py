"""Whether the service may start: production refuses a configuration that cannot be safe.

Outside production anything goes (a missing key means the built-in simulator, missing
secrets are generated). In production (``VIVAVOCE_ENV=production``, or Railway's variables
present) ``vivavoce serve`` refuses to start when:

- the OpenAI key is missing, malformed, or the wrong kind of credential (judged offline by
  :func:`vivavoce.keys.inspect_key`; the cause and its fix come from the doctor's catalogue,
  so the operator reads the same words as in ``vivavoce doctor``);
- ``VIVAVOCE_SECRET_KEY`` (signs candidate links) or ``VIVAVOCE_ADMIN_TOKEN`` is missing,
  too short, or trivially weak (one repeated character, fewer than 10 distinct ones —
  :mod:`vivavoce.secret_strength`);
- ``VIVAVOCE_ALLOWED_ORIGINS`` is unset, ``*``, or holds something that is not an origin;
- the simulator is forced on (``VIVAVOCE_SIMULATOR=1``): candidates would talk to a fake.

Development mode on an address other than loopback refuses to start unless
``VIVAVOCE_ALLOW_INSECURE=1`` says the operator means it: development's defaults (generated
secrets, a printed admin token, unchecked configuration) are for one machine, not a
network.

Refusing is deliberate: a production service that starts half-configured fails later, in
front of a candidate, with a far less helpful message. Nothing here contacts OpenAI (a
restart loop must not hammer it); the live checks are ``vivavoce doctor`` and ``/readyz``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from vivavoce.config import Settings
from vivavoce.diagnosis.catalogue import CAUSES
from vivavoce.diagnosis.offline import cause_for_key
from vivavoce.keys import inspect_key
from vivavoce.redact import redact
from vivavoce.secret_strength import GENERATE_COMMAND, weakness

__all__ = [
    "MIN_SECRET_LENGTH",
    "StartupProblem",
    "check_can_start",
    "insecure_development_problem",
    "production_problems",
    "render_problems",
]

# token_urlsafe(16) is 22 characters; anything shorter is a password someone typed.
MIN_SECRET_LENGTH = 16

_GENERATE = (
    f'{GENERATE_COMMAND} (or: python3 -c "import secrets; print(secrets.token_urlsafe(32))")'
)

# How to change a variable, where the service runs ({name} = the variable).
# ({to} = what to set it to, e.g. " to 0").
_SET_VARIABLE = {
    "railway": "In Railway open the service → Variables and set {name}{to}; Railway "
    "redeploys by itself",
    "docker": "Set {name}{to} in the container's environment (docker run -e, or the compose "
    "file's environment:) and recreate the container",
    "local": "Set {name}{to} in the .env file (or export it in the shell) and start again",
}


@dataclass(frozen=True)
class StartupProblem:
    """One reason production will not start; never contains a secret."""

    id: str  # a catalogue cause id for key problems, else a setting-specific id
    title: str
    explanation: str
    fix: tuple[str, ...]


def _set(settings: Settings, name: str, to: str = "") -> str:
    return _SET_VARIABLE[settings.platform].format(name=name, to=f" {to}" if to else "")


def _key_problem(settings: Settings) -> StartupProblem | None:
    raw = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    report = inspect_key(raw)
    if report.usable:
        return None
    cause = CAUSES[cause_for_key(report) or "key_malformed"]
    # The findings say exactly what is wrong (never the key itself); the source says where
    # the value was read, which matters when it is set in two places.
    details = " ".join(f.message for f in report.errors)
    source = settings.source_of("openai_api_key").describe()
    where = "" if report.key_type == "missing" else f" (read from {source})"
    explanation = f"{cause.explanation} Found{where}: {details}".rstrip()
    return StartupProblem(cause.id, cause.title, explanation, tuple(cause.fix(settings.platform)))


def _secret_problem(
    settings: Settings, value: str | None, name: str, problem_id: str, purpose: str
) -> StartupProblem | None:
    value = (value or "").strip()
    weak = weakness(value) if len(value) >= MIN_SECRET_LENGTH else None
    if len(value) >= MIN_SECRET_LENGTH and weak is None:
        return None
    if weak is not None:
        title = f"{name} is too weak"
        why = f"It {purpose}, so it must be hard to guess, and {weak}. A random value " \
            "is needed, not a typed one."
    elif not value:
        title = f"{name} is not set"
        why = f"It {purpose}. Outside production one is generated, but a generated value " \
            "would differ on every instance and after every restart."
    else:
        title = f"{name} is too short"
        why = f"It {purpose}, so it must be hard to guess: it has {len(value)} characters, " \
            f"at least {MIN_SECRET_LENGTH} are needed."
    return StartupProblem(
        problem_id.replace("_missing", "_weak") if weak is not None else problem_id,
        title,
        why,
        (f"Generate a value: {_GENERATE}", f"{_set(settings, name)}."),
    )


def _is_origin(value: str) -> bool:
    parts = urlsplit(value)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.path in ("", "/")
        and not parts.query
        and not parts.fragment
    )


def _origins_problem(settings: Settings) -> StartupProblem | None:
    origins = [o.strip() for o in settings.allowed_origins if o.strip()]
    example = settings.public_url or "https://interviews.example.com"
    fix = (
        _set(
            settings,
            "VIVAVOCE_ALLOWED_ORIGINS",
            f"to the address candidates open, e.g. {example.rstrip('/')} (several: "
            "comma-separated)",
        )
        + ".",
    )
    name = "VIVAVOCE_ALLOWED_ORIGINS"
    if not origins:
        return StartupProblem(
            "origins_missing",
            f"{name} is not set",
            "Browsers may open /voice and call the API only from the listed origins; with "
            "none listed, any web page could open interviews on this service.",
            fix,
        )
    if "*" in origins:
        return StartupProblem(
            "origins_wildcard",
            f"{name} allows every origin (*)",
            "A wildcard lets any web page open interviews on this service in its visitors' "
            "browsers. List the real address instead.",
            fix,
        )
    bad = [o for o in origins if not _is_origin(o)]
    if bad:
        return StartupProblem(
            "origins_invalid",
            f"{name} holds something that is not an origin",
            f"An origin is scheme://host[:port] with no path, e.g. https://example.com; "
            f"these are not: {', '.join(repr(o[:80]) for o in bad)}.",
            fix,
        )
    return None


def production_problems(settings: Settings) -> list[StartupProblem]:
    """Everything that stops ``settings`` from running in production, in fix order.

    Empty when the settings are not production settings. Never raises.
    """
    if not settings.is_production:
        return []
    problems: list[StartupProblem | None] = []
    if settings.simulator:
        problems.append(
            StartupProblem(
                "simulator_in_production",
                "The built-in simulator is switched on (VIVAVOCE_SIMULATOR)",
                "In production candidates would talk to the simulator, not to the AI "
                "interviewer. The simulator is for trying vivavoce out and for tests.",
                (f"{_set(settings, 'VIVAVOCE_SIMULATOR', 'to 0')} (or remove it).",),
            )
        )
    problems.append(_key_problem(settings))
    problems.append(
        _secret_problem(
            settings,
            settings.secret_key.get_secret_value() if settings.secret_key else None,
            "VIVAVOCE_SECRET_KEY",
            "secret_key_missing",
            "signs candidate links and sessions",
        )
    )
    problems.append(
        _secret_problem(
            settings,
            settings.admin_token.get_secret_value() if settings.admin_token else None,
            "VIVAVOCE_ADMIN_TOKEN",
            "admin_token_missing",
            "protects the operator pages, the API and /metrics",
        )
    )
    problems.append(_origins_problem(settings))
    return [p for p in problems if p is not None]


def render_problems(
    problems: list[StartupProblem], platform: str = "local", *, railway_implied: bool = False
) -> str:
    """The operator's message: each problem, why it matters, and the steps that fix it.

    ``railway_implied``: production mode comes from Railway's variables, not VIVAVOCE_ENV.
    """
    count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
    where = {"railway": " on Railway", "docker": " in Docker"}.get(platform, "")
    lines = [
        f"vivavoce will not start in production mode{where}: {count} to fix first.",
        "",
    ]
    for number, problem in enumerate(problems, start=1):
        lines.append(f"{number}. {problem.title} [{problem.id}]")
        lines.append(f"   {problem.explanation}")
        lines.append("   How to fix it:")
        lines.extend(f"   - {step}" for step in problem.fix)
        lines.append("")
    lines.append(
        "Production mode is on because "
        + (
            "Railway's variables are present (set VIVAVOCE_ENV=development to try it out)."
            if railway_implied
            else "VIVAVOCE_ENV=production is set."
        )
    )
    # Belt and braces: nothing above should hold a key, but an origin or a finding is
    # operator input, and this text goes to logs.
    return redact("\n".join(lines))


def insecure_development_problem(settings: Settings) -> str | None:
    """Why development mode may not listen on this address, or None (loopback, production,
    or ``VIVAVOCE_ALLOW_INSECURE=1``). Never raises."""
    if settings.is_production or settings.on_loopback or settings.allow_insecure:
        return None
    where = {"railway": " on Railway", "docker": " in Docker"}.get(settings.platform, "")
    lines = [
        f"vivavoce will not start{where}: development mode on {settings.host}, an address "
        "other machines can reach.",
        "",
        "Development mode is for one machine: the admin token and the signing key are "
        "generated (the token printed in the log), the configuration is not checked as "
        "production checks it, the API docs are public, and open interviews "
        "(VIVAVOCE_OPEN_INTERVIEWS) are one setting away from anyone starting interviews "
        "billed to your OpenAI key.",
        "How to fix it:",
        f"- To serve others: {_set(settings, 'VIVAVOCE_ENV', 'to production')} (it then "
        "tells you what else it needs).",
        f"- To try it out on this machine only: {_set(settings, 'VIVAVOCE_HOST', 'to 127.0.0.1')}.",
        f"- If you really mean an unprotected development server on {settings.host}: "
        f"{_set(settings, 'VIVAVOCE_ALLOW_INSECURE', 'to 1')}.",
    ]
    return redact("\n".join(lines))


def check_can_start(settings: Settings) -> str | None:
    """None when the service may start; otherwise the message to print before exiting.

    The message holds causes and fixes (never a stack trace, never a secret). Never raises.
    """
    insecure = insecure_development_problem(settings)
    if insecure is not None:
        return insecure
    problems = production_problems(settings)
    if not problems:
        return None
    railway_implied = settings.platform == "railway" and settings.source_of("env").kind == "default"
    return render_problems(problems, settings.platform, railway_implied=railway_implied)
