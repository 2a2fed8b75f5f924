"""Settings: where every value comes from, and what to do when two places disagree.

Values are read by pydantic-settings from, in order of precedence:

1. the process environment (what Railway's Variables tab or ``docker run -e`` sets);
2. a ``.env`` file in the working directory;
3. for the OpenAI key only, ``OPENAI_API_KEY_FILE`` (a mounted secret; the one line end a
   text file ends with is not part of the key);
4. the defaults below.

Each of those is a pydantic-settings source (:mod:`vivavoce.config_sources`) that also
records, for every field, *where* its value came from (``env``, ``.env`` and the line, a
file, or the default) and whether another place holds a different value. "I changed the variable but nothing changed" is nearly always a value
set twice; :attr:`Settings.conflicts` names both places so the doctor can say so.

The OpenAI key is kept raw (as found) in :attr:`Settings.openai_api_key`; use
:mod:`vivavoce.keys` to normalise and inspect it, never the raw value.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from vivavoce.config_sources import (
    Conflict,
    DotenvSource,
    EnvironmentSource,
    KeyFileSource,
    SettingSource,
    SourceTrace,
    trace_result,
    tracing,
    variable_names,
)

__all__ = [
    "RAILWAY_MARKERS",
    "Platform",
    "Settings",
    "describe_settings_errors",
    "detect_platform",
    "load_settings",
]

# Variables Railway sets in every deployment; any of them means "we run on Railway".
RAILWAY_MARKERS = (
    "RAILWAY_ENVIRONMENT",
    "RAILWAY_ENVIRONMENT_NAME",
    "RAILWAY_PROJECT_ID",
    "RAILWAY_SERVICE_ID",
)

Platform = Literal["railway", "docker", "local"]


class Settings(BaseSettings):
    """All of vivavoce's configuration. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        # No env_file: pydantic-settings' own .env source stays empty (DotenvSource reads
        # the file, with line numbers, and reports one that is not UTF-8).
        env_file=None,
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

    # --- OpenAI (the SDK's own variable names) ---
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key")
    )
    openai_api_key_file: Path | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY_FILE", "openai_api_key_file")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url")
    )
    openai_org_id: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_ORG_ID", "openai_org_id")
    )
    openai_project_id: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_PROJECT_ID", "openai_project_id")
    )

    # --- vivavoce ---
    env: Literal["development", "production"] = Field(
        default="development", validation_alias=AliasChoices("VIVAVOCE_ENV", "env")
    )
    realtime_model: str = Field(
        default="gpt-realtime",
        min_length=1,
        validation_alias=AliasChoices("VIVAVOCE_REALTIME_MODEL", "realtime_model"),
    )
    voice: str = Field(default="marin", validation_alias=AliasChoices("VIVAVOCE_VOICE", "voice"))
    transcription_model: str = Field(
        default="gpt-4o-mini-transcribe",
        validation_alias=AliasChoices("VIVAVOCE_TRANSCRIPTION_MODEL", "transcription_model"),
    )
    turn_detection: Literal["server_vad", "semantic_vad"] = Field(
        default="server_vad",
        validation_alias=AliasChoices("VIVAVOCE_TURN_DETECTION", "turn_detection"),
    )
    transport: Literal["relay", "webrtc", "auto"] = Field(  # docs/configuration.md
        default="auto", validation_alias=AliasChoices("VIVAVOCE_TRANSPORT", "transport"))
    webrtc_connect_timeout_s: float = Field(default=5.0, gt=0, le=60, validation_alias=AliasChoices(
        "VIVAVOCE_WEBRTC_CONNECT_TIMEOUT_S", "webrtc_connect_timeout_s"))
    evaluation_model: str = Field(
        default="gpt-5-mini",
        validation_alias=AliasChoices("VIVAVOCE_EVALUATION_MODEL", "evaluation_model"),
    )
    max_interview_seconds: int = Field(
        default=1800,
        ge=60,
        le=3500,  # OpenAI closes a session at 60 minutes; keep a margin for the wrap-up
        validation_alias=AliasChoices("VIVAVOCE_MAX_INTERVIEW_SECONDS", "max_interview_seconds"),
    )
    idle_timeout_seconds: int = Field(
        default=300,
        ge=10,
        validation_alias=AliasChoices("VIVAVOCE_IDLE_TIMEOUT_SECONDS", "idle_timeout_seconds"),
    )
    # uvicorn's WebSocket keepalive (a browser silent past the timeout is gone); SIGTERM drain.
    ws_ping_interval_seconds: float = Field(default=5.0, gt=0, le=300, validation_alias=AliasChoices(
        "VIVAVOCE_WS_PING_INTERVAL_SECONDS", "ws_ping_interval_seconds"))
    ws_ping_timeout_seconds: float = Field(default=10.0, gt=0, le=300, validation_alias=AliasChoices(
        "VIVAVOCE_WS_PING_TIMEOUT_SECONDS", "ws_ping_timeout_seconds"))
    drain_timeout_seconds: float = Field(  # on SIGTERM, web/graceful.py
        20.0, ge=0, le=600, validation_alias=AliasChoices("VIVAVOCE_DRAIN_TIMEOUT_SECONDS"))
    # /voice admission (web/connection_limits.py): a deadline to start, caps on sockets.
    voice_start_deadline_seconds: float = Field(
        default=30.0, gt=0, le=600,
        description="A /voice connection that has not started an interview by then is closed.",
        validation_alias=AliasChoices(
            "VIVAVOCE_VOICE_START_DEADLINE_SECONDS", "voice_start_deadline_seconds"
        ),
    )
    voice_max_unstarted_per_address: int = Field(
        default=300, ge=1,
        description="/voice connections not yet started, per client address (a classroom "
        "behind one NAT address must fit).",
        validation_alias=AliasChoices(
            "VIVAVOCE_VOICE_MAX_UNSTARTED_PER_ADDRESS", "voice_max_unstarted_per_address"
        ),
    )
    voice_max_connections: int = Field(
        default=2000, ge=1,
        description="/voice connections open at once on one process.",
        validation_alias=AliasChoices("VIVAVOCE_VOICE_MAX_CONNECTIONS", "voice_max_connections"),
    )
    max_live_interviews: int = Field(
        default=200,
        ge=0,
        description="Interviews started at once on one process; a new start past it is "
        "refused with server_busy (0: refuse every start, e.g. while draining).",
        validation_alias=AliasChoices("VIVAVOCE_MAX_LIVE_INTERVIEWS", "max_live_interviews"),
    )
    simulator: bool | None = Field(
        default=None,
        description="Force the built-in simulator on or off; unset = on when no key (dev only).",
        validation_alias=AliasChoices("VIVAVOCE_SIMULATOR", "simulator"),
    )
    open_interviews: bool | None = Field(
        default=None,
        description="Let a token-less original client start an interview; unset = on only "
        "in development on a loopback address.",
        validation_alias=AliasChoices("VIVAVOCE_OPEN_INTERVIEWS", "open_interviews"),
    )
    data_dir: Path = Field(
        default=Path(".vivavoce"),
        validation_alias=AliasChoices("VIVAVOCE_DATA_DIR", "data_dir"),
    )
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "database_url")
    )
    admin_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("VIVAVOCE_ADMIN_TOKEN", "admin_token")
    )
    secret_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("VIVAVOCE_SECRET_KEY", "secret_key")
    )
    # Operator sessions (web/sessions.py): the login cookie names a server-side session.
    session_idle_seconds: int = Field(
        default=2 * 3600,
        ge=60,
        description="An operator session unused this long is over (log in again).",
        validation_alias=AliasChoices("VIVAVOCE_SESSION_IDLE_SECONDS", "session_idle_seconds"),
    )
    session_max_seconds: int = Field(
        default=12 * 3600,
        ge=300,
        description="An operator session is over this long after login, used or not.",
        validation_alias=AliasChoices("VIVAVOCE_SESSION_MAX_SECONDS", "session_max_seconds"),
    )
    # Limits on guessing (web/auth_guard.py): failed admin logins, Bearer tokens and
    # interview links, counted per client address in the database.
    auth_free_failures: int = Field(
        default=20,
        ge=1,
        le=10_000,
        description="Failed attempts of one kind an address may make before it must wait.",
        validation_alias=AliasChoices("VIVAVOCE_AUTH_FREE_FAILURES", "auth_free_failures"),
    )
    auth_window_seconds: int = Field(
        default=900,
        ge=10,
        description="Failures older than this (with none since) are forgotten.",
        validation_alias=AliasChoices("VIVAVOCE_AUTH_WINDOW_SECONDS", "auth_window_seconds"),
    )
    auth_backoff_max_seconds: int = Field(
        default=900,
        ge=1,
        description="The longest wait (it doubles with each failure past the free ones).",
        validation_alias=AliasChoices(
            "VIVAVOCE_AUTH_BACKOFF_MAX_SECONDS", "auth_backoff_max_seconds"
        ),
    )
    auth_target_slowdown_after: int = Field(
        default=100,
        ge=1,
        description="Failures against one target (all addresses) in the window after which "
        "each further failure is answered slowly (never refused).",
        validation_alias=AliasChoices(
            "VIVAVOCE_AUTH_TARGET_SLOWDOWN_AFTER", "auth_target_slowdown_after"
        ),
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to open /voice and call the API from a browser.",
        validation_alias=AliasChoices("VIVAVOCE_ALLOWED_ORIGINS", "allowed_origins"),
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL used in candidate links; unset = derived from the request.",
        validation_alias=AliasChoices("VIVAVOCE_PUBLIC_URL", "public_url"),
    )
    # Webhooks (vivavoce.webhooks, docs/webhooks.md) and spend limits (vivavoce.budget).
    webhook_url: str | None = Field(
        default=None, validation_alias=AliasChoices("VIVAVOCE_WEBHOOK_URL", "webhook_url"))
    webhook_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("VIVAVOCE_WEBHOOK_SECRET", "webhook_secret"))
    daily_budget_usd: float | None = Field(
        default=None, gt=0,
        validation_alias=AliasChoices("VIVAVOCE_DAILY_BUDGET_USD", "daily_budget_usd"))
    monthly_budget_usd: float | None = Field(
        default=None, gt=0,
        validation_alias=AliasChoices("VIVAVOCE_MONTHLY_BUDGET_USD", "monthly_budget_usd"))
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body accepted (résumé uploads have their own limit).",
        validation_alias=AliasChoices("VIVAVOCE_MAX_BODY_BYTES", "max_body_bytes"),
    )
    prices_file: Path | None = Field(
        default=None, validation_alias=AliasChoices("VIVAVOCE_PRICES_FILE", "prices_file")
    )
    rubric_file: Path | None = Field(
        default=None, validation_alias=AliasChoices("VIVAVOCE_RUBRIC_FILE", "rubric_file")
    )
    # Résumé parsing runs in separate processes (vivavoce.resume.isolated): these bound
    # how long, how much memory and how many at once.
    resume_timeout_seconds: float = Field(
        default=20.0,
        gt=0,
        le=600,
        description="A résumé still being parsed after this long is given up (process killed).",
        validation_alias=AliasChoices("VIVAVOCE_RESUME_TIMEOUT_SECONDS", "resume_timeout_seconds"),
    )
    resume_memory_mb: int = Field(
        default=512,
        ge=128,
        description="Address-space limit of each résumé-parsing process, in MiB.",
        validation_alias=AliasChoices("VIVAVOCE_RESUME_MEMORY_MB", "resume_memory_mb"),
    )
    resume_parallel: int = Field(
        default=2,
        ge=1,
        le=64,
        description="How many résumés are parsed at once (each in its own process).",
        validation_alias=AliasChoices("VIVAVOCE_RESUME_PARALLEL", "resume_parallel"),
    )
    resume_queue_seconds: float = Field(
        default=10.0,
        ge=0,
        le=120,
        description="How long an upload waits for a free parsing slot before 503 busy.",
        validation_alias=AliasChoices("VIVAVOCE_RESUME_QUEUE_SECONDS", "resume_queue_seconds"),
    )
    resume_uploads_per_address: int = Field(
        default=30,
        ge=1,
        description="Résumé uploads one client address may make per window (then 429).",
        validation_alias=AliasChoices(
            "VIVAVOCE_RESUME_UPLOADS_PER_ADDRESS", "resume_uploads_per_address"
        ),
    )
    resume_uploads_per_interview: int = Field(
        default=5,
        ge=1,
        description="Résumé uploads one interview's token may make per window (then 429).",
        validation_alias=AliasChoices(
            "VIVAVOCE_RESUME_UPLOADS_PER_INTERVIEW", "resume_uploads_per_interview"
        ),
    )
    resume_upload_window_seconds: int = Field(
        default=600,
        ge=10,
        description="The window the résumé upload limits count in.",
        validation_alias=AliasChoices(
            "VIVAVOCE_RESUME_UPLOAD_WINDOW_SECONDS", "resume_upload_window_seconds"
        ),
    )
    log_format: Literal["text", "json"] | None = Field(
        default=None,
        description="Unset = json in production, text otherwise.",
        validation_alias=AliasChoices("VIVAVOCE_LOG_FORMAT", "log_format"),
    )
    log_level: str = Field(
        default="INFO", validation_alias=AliasChoices("VIVAVOCE_LOG_LEVEL", "log_level")
    )
    host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("VIVAVOCE_HOST", "host"))
    allow_insecure: bool = Field(
        default=False,
        description="Let development mode listen on a non-loopback address (unsafe: "
        "generated secrets, a printed admin token, unchecked configuration).",
        validation_alias=AliasChoices("VIVAVOCE_ALLOW_INSECURE", "allow_insecure"),
    )
    port: int = Field(
        default=8000,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("PORT", "VIVAVOCE_PORT", "port"),
    )
    workers: int = Field(default=1, ge=1, le=64, description="Processes sharing the port "
                         "(serve --workers), each a full relay with its own heartbeat row.",
                         validation_alias=AliasChoices("VIVAVOCE_WORKERS", "workers"))
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Also serve /metrics, without the admin token, on this port (unset = off).",
        validation_alias=AliasChoices("VIVAVOCE_METRICS_PORT", "metrics_port"),
    )
    forwarded_allow_ips: list[str] | None = Field(
        default=None,
        description="Peers whose X-Forwarded-For/-Proto are believed: IPs, CIDR networks or "
        "'*'; unset = '*' on Railway, loopback otherwise.",
        validation_alias=AliasChoices("VIVAVOCE_FORWARDED_ALLOW_IPS", "forwarded_allow_ips"),
    )

    # Filled by load_settings(); not settings themselves.
    platform: Platform = "local"
    sources: dict[str, SettingSource] = Field(default_factory=dict, exclude=True)
    conflicts: list[Conflict] = Field(default_factory=list, exclude=True)
    # What was wrong with the .env file (unreadable, not UTF-8), for the doctor/banner.
    dotenv_problem: str | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, data: Any) -> Any:
        # Accept "a,b" as well as a JSON list for VIVAVOCE_ALLOWED_ORIGINS.
        if isinstance(data, dict):
            for key in ("VIVAVOCE_ALLOWED_ORIGINS", "allowed_origins"):
                value = data.get(key)
                if isinstance(value, str):
                    if value.lstrip().startswith("["):
                        data[key] = json.loads(value)
                    else:
                        data[key] = [o.strip() for o in value.split(",") if o.strip()]
        return data

    @field_validator("openai_org_id", "openai_project_id")
    @classmethod
    def _header_safe_id(cls, value: str | None) -> str | None:
        """Organization/project ids travel as HTTP headers (``OpenAI-Organization``,
        ``OpenAI-Project``): surrounding whitespace is dropped (an empty value means
        unset); anything a header cannot carry is refused here, with its position,
        rather than crashing every call later. Raises ValueError."""
        if value is None:
            return None
        value = value.strip()
        if not value:
            return None
        for position, char in enumerate(value, start=1):
            if not ("!" <= char <= "~"):
                raise ValueError(
                    f"must be printable ASCII with no spaces (an id like org-… or proj_…); "
                    f"character {position} is {ascii(char)}"
                )
        return value

    @field_validator("webhook_url", "webhook_secret")
    @classmethod
    def _webhook(cls, value: Any, info: ValidationInfo) -> Any:
        """An http(s) URL; a ``whsec_`` base64 secret (never quoted). Empty = unset."""
        from vivavoce.webhook_secrets import check_webhook_setting

        return check_webhook_setting(info.field_name or "", value)

    @field_validator("forwarded_allow_ips", mode="before")
    @classmethod
    def _trusted_proxies(cls, value: Any) -> Any:
        """Comma-separated text or a list -> canonical addresses and networks (empty means
        unset). uvicorn quietly keeps an entry it cannot parse as a name no peer ever has
        (a host name, ``10.0.0.1/33``), so the headers would silently never be believed:
        refused here instead. Raises ValueError."""
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple):
            return value  # pydantic reports the wrong type
        entries = [str(item).strip() for item in items if str(item).strip()]
        if not entries:
            return None
        if "*" in entries:
            if len(entries) > 1:
                raise ValueError("'*' trusts every address, so it must be given alone")
            return ["*"]
        canonical: list[str] = []
        for entry in entries:
            try:
                parsed: Any = (
                    ipaddress.ip_network(entry, strict=False)
                    if "/" in entry
                    else ipaddress.ip_address(entry)
                )
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or a network such as 10.0.0.0/8 "
                    "(host names never match: the proxy's address is compared); give "
                    "addresses and networks separated by commas, or '*'"
                ) from None
            if str(parsed) not in canonical:
                canonical.append(str(parsed))
        return canonical

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init values (the command line's flags), then our sources, which also record
        where each value came from (see vivavoce.config_sources)."""
        return (
            init_settings,
            EnvironmentSource(settings_cls),
            DotenvSource(settings_cls),
            KeyFileSource(settings_cls),
        )

    # --- derived values -------------------------------------------------
    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def api_key_present(self) -> bool:
        return self.openai_api_key is not None and self.openai_api_key.get_secret_value() != ""

    @property
    def use_simulator(self) -> bool:
        """Whether interviews run against the built-in simulator instead of OpenAI."""
        if self.simulator is not None:
            return self.simulator
        return not self.api_key_present and not self.is_production

    @property
    def on_loopback(self) -> bool:
        """Whether the service listens only on a loopback address (reachable from this
        machine alone)."""
        host = self.host.strip().strip("[]")
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    @property
    def local_development(self) -> bool:
        """Development mode on a loopback address: the one case with open defaults."""
        return not self.is_production and self.on_loopback

    @property
    def allow_open_interviews(self) -> bool:
        """Whether anyone may start an interview without a link. An explicit opt-in
        everywhere except development on loopback (issue 14: a default must not open the
        door)."""
        if self.open_interviews is not None:
            return self.open_interviews
        return self.local_development

    @property
    def effective_database_url(self) -> str:
        """The SQLAlchemy async URL (platform-style ``postgres://`` URLs converted)."""
        if not self.database_url:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'vivavoce.db').resolve()}"
        return to_async_database_url(self.database_url)

    @property
    def effective_log_format(self) -> Literal["text", "json"]:
        if self.log_format is not None:
            return self.log_format
        return "json" if self.is_production else "text"

    @property
    def effective_forwarded_allow_ips(self) -> list[str]:
        """The peers whose X-Forwarded-For/-Proto uvicorn believes (``["*"]``: any). Unset:
        any on Railway (only Railway's proxy reaches the service), else loopback only,
        uvicorn's own default, so a port reachable directly cannot be lied to."""
        if self.forwarded_allow_ips is not None:
            return self.forwarded_allow_ips
        return ["*"] if self.platform == "railway" else ["127.0.0.1", "::1"]

    def describe_forwarded_allow_ips(self) -> str:
        """Those peers in words, for the banner and the doctor."""
        peers = self.effective_forwarded_allow_ips
        return "any address" if peers == ["*"] else ", ".join(peers)

    def source_of(self, name: str) -> SettingSource:
        return self.sources.get(name, SettingSource("default", name, "default"))


def to_async_database_url(url: str) -> str:
    """Turn what hosting platforms hand out into a URL for SQLAlchemy's async drivers."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    lowered = scheme.lower()
    if lowered in ("postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        return f"postgresql+asyncpg://{rest}"
    if lowered == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    return url


def detect_platform(environ: Mapping[str, str]) -> Platform:
    if any(environ.get(name) for name in RAILWAY_MARKERS):
        return "railway"
    if environ.get("VIVAVOCE_IN_DOCKER") or Path("/.dockerenv").exists():
        return "docker"
    return "local"


# Field name -> the variable names that can set it (first is the canonical one).
def describe_settings_errors(exc: ValidationError) -> list[str]:
    """One line per invalid setting, named by the variable an operator sets
    (``OPENAI_ORG_ID: …``) rather than the internal field name."""
    names = variable_names(Settings)
    lines: list[str] = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        if loc and loc[0] in names:
            loc[0] = names[loc[0]][0]
        lines.append(f"{'.'.join(loc) or 'settings'}: {err.get('msg', '')}")
    return lines


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    env_file: Path | str | None = ".env",
    **overrides: Any,
) -> Settings:
    """Read the settings and record where each value came from.

    ``environ`` defaults to ``os.environ``; tests pass their own mapping so nothing of the
    developer's shell leaks in. ``overrides`` win over everything (used by the CLI flags).
    Raises ``pydantic.ValidationError`` for invalid values (the CLI turns it into a clear
    message).
    """
    env = os.environ if environ is None else environ
    trace = SourceTrace(env, Path(env_file) if env_file is not None else None)
    with tracing(trace):
        settings = Settings(**overrides)
    sources, conflicts = trace_result(trace, overrides)
    settings.platform = detect_platform(env)
    if settings.platform == "railway" and "env" not in sources:
        settings.env = "production"
    settings.sources = sources
    settings.conflicts = conflicts
    settings.dotenv_problem = trace.dotenv_problem
    return settings
