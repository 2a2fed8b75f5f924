"""The catalogue of known causes, their remedies, and how to recognise each one.

The cause ids are a stable contract (``doctor --json``, ``/api/diagnostics``, the
relay's browser ``hint``): never rename one. Remedies are written for where the
service runs — Railway, Docker or a local ``.env`` — because "set the variable" means
a different click in each place.

:func:`classify_openai_error` turns what OpenAI said (HTTP status, error type/code and
message, or a Realtime close code and reason) into a cause id, following the table in
``OPENAI-FACTS.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vivavoce.config import Platform

__all__ = [
    "CAUSES",
    "STATUS_PAGE",
    "Cause",
    "CallChannel",
    "classify_openai_error",
    "fix_steps",
    "hint_for",
    "is_fatal_cause",
    "split_close_reason",
]

# Where the failing call went: a REST request, the Realtime WebSocket's upgrade, or an
# open Realtime session. (Not the interview's Phase: that is interview.session.Phase.)
CallChannel = Literal["rest", "realtime_upgrade", "realtime"]

STATUS_PAGE = "https://status.openai.com/"
KEYS_PAGE = "https://platform.openai.com/api-keys"
BILLING_PAGE = "https://platform.openai.com/settings/organization/billing"
LIMITS_PAGE = "https://platform.openai.com/settings/organization/limits"
PROJECTS_PAGE = "https://platform.openai.com/settings/organization/projects"

# "{set_key}" in a step is replaced by how to change OPENAI_API_KEY on the platform.
_SET_KEY: dict[Platform, str] = {
    "railway": (
        "In Railway open the service → Variables, edit OPENAI_API_KEY and paste the key "
        "(no quotes, no spaces); Railway redeploys by itself"
    ),
    "docker": (
        "Set OPENAI_API_KEY in the container's environment (docker run -e, the compose "
        "file's environment:, or a secret file named by OPENAI_API_KEY_FILE) and recreate "
        "the container — a restart keeps the old environment"
    ),
    "local": (
        "Put OPENAI_API_KEY=<the key> in the .env file in the directory you start vivavoce "
        "from (or export it in your shell), then restart vivavoce serve"
    ),
}
_SET_IDS: dict[Platform, str] = {
    "railway": "In Railway open the service → Variables and edit or delete {names}; Railway redeploys by itself",
    "docker": "Change {names} in the container's environment and recreate the container",
    "local": "Change {names} in .env (or your shell) and restart vivavoce serve",
}
_VERIFY = "Run `vivavoce doctor` again to confirm."


@dataclass(frozen=True)
class Cause:
    """One known reason the key or OpenAI does not work, and how to fix it."""

    id: str
    title: str
    explanation: str
    steps: tuple[str, ...]  # may contain {set_key} / {set_ids}
    hint: str  # one line for an operator, e.g. next to a failed interview
    fatal: bool = True  # False: retrying later may work without any change

    def fix(self, platform: Platform) -> list[str]:
        """The fix steps, written for ``platform``."""
        set_ids = _SET_IDS[platform].format(names="OPENAI_ORG_ID / OPENAI_PROJECT_ID")
        return [
            step.format(set_key=_SET_KEY[platform], set_ids=set_ids) for step in self.steps
        ]


def _cause(
    id: str, title: str, explanation: str, steps: list[str], hint: str, *, fatal: bool = True
) -> Cause:
    return Cause(id, title, explanation, (*steps, _VERIFY), hint, fatal)


CAUSES: dict[str, Cause] = {
    c.id: c
    for c in (
        _cause(
            "key_missing",
            "No OpenAI key is configured",
            "OPENAI_API_KEY was not found in the environment, in .env, or in a file named "
            "by OPENAI_API_KEY_FILE, so nothing can be sent to OpenAI. Outside production "
            "vivavoce falls back to its built-in simulator.",
            [
                f"Create a key at {KEYS_PAGE} (Create new secret key) and copy it at once: "
                "it is shown only when created.",
                "{set_key}.",
            ],
            "No OpenAI key is configured: set OPENAI_API_KEY.",
        ),
        _cause(
            "key_malformed",
            "The key is not well formed",
            "The configured value cannot be a working key: it has spaces, line breaks or "
            "invisible characters inside, is cut short, holds two keys, or is placeholder "
            "text or the masked form OpenAI displays. The doctor's key findings say "
            "exactly what and where.",
            [
                f"Copy the whole key again (or create a new one at {KEYS_PAGE}); do not "
                "copy it from a chat, a PDF or a masked display.",
                "{set_key}.",
            ],
            "The OpenAI key is malformed (see vivavoce doctor): paste it again, whole and "
            "without spaces.",
        ),
        _cause(
            "key_invalid",
            "OpenAI rejects the key (invalid_api_key)",
            "OpenAI does not know this key: it was mistyped, revoked or deleted, or belongs "
            "to another account. Keys do not expire on their own, but a deleted project "
            "takes its keys with it.",
            [
                f"Open {KEYS_PAGE} and check that the key (compare its last four "
                "characters) still exists; if not, create a new one.",
                "{set_key}.",
                "If the value there looks right, check that no other place (the environment "
                "vs .env) holds an older key: the doctor lists values set twice.",
            ],
            "OpenAI rejected the key (invalid_api_key): create a new key and set "
            "OPENAI_API_KEY.",
        ),
        _cause(
            "key_wrong_type",
            "This is not a key that can call the Realtime API",
            "The value is the wrong kind of credential: an admin key (manages the "
            "organization, cannot call models), an ephemeral ek_ secret (expires in minutes, "
            "meant for browsers), another provider's key, or an organization/project id.",
            [
                f"Create a project API key (it starts with sk-proj-) at {KEYS_PAGE}.",
                "{set_key}.",
            ],
            "OPENAI_API_KEY holds the wrong kind of credential: use a project key "
            "(sk-proj-).",
        ),
        _cause(
            "no_realtime_access",
            "The key works, but not for the Realtime API",
            "Listing models succeeds, yet the Realtime connection is refused (HTTP 403 at "
            "the WebSocket upgrade, or a permission error on the socket). The key's project "
            "or organization has no Realtime access, or the key is restricted.",
            [
                f"In {PROJECTS_PAGE} check the project's allowed models and that the "
                "Realtime models are not blocked.",
                f"Create a new key with All permissions (not Restricted) at {KEYS_PAGE}.",
                "{set_key}.",
            ],
            "The key has no Realtime API access: allow Realtime models for its project or "
            "use an unrestricted key.",
        ),
        _cause(
            "insufficient_permissions",
            "The key is restricted and lacks a permission",
            "The key is a restricted key whose scopes do not include what vivavoce needs "
            "(model requests, Realtime). OpenAI answers 401 with 'insufficient permissions' "
            "and names the missing scopes.",
            [
                f"At {KEYS_PAGE} edit the key's permissions to All, or to Restricted with "
                "Model capabilities and Realtime set to Write — or create a new key.",
                "If you created a new key: {set_key}.",
            ],
            "The OpenAI key is restricted and lacks a permission: give it model and "
            "Realtime access.",
        ),
        _cause(
            "org_project_mismatch",
            "OPENAI_ORG_ID / OPENAI_PROJECT_ID do not match the key",
            "An organization or project id is sent with every request and it is not the "
            "key's own. A project key already carries its project, so these are rarely "
            "needed.",
            [
                "{set_ids}: remove them, or set the ids shown for this key in the OpenAI "
                "dashboard.",
            ],
            "OPENAI_ORG_ID or OPENAI_PROJECT_ID does not match the key: remove them or fix "
            "them.",
        ),
        _cause(
            "account_deactivated",
            "The OpenAI account is deactivated",
            "The key belongs to an organization or account OpenAI has deactivated; no key "
            "of it will work until that is resolved.",
            [
                "Sign in at https://platform.openai.com/ and read the notice on the "
                "account; contact OpenAI support (help.openai.com) if it is unclear.",
                "Or use a key from another, active organization: {set_key}.",
            ],
            "The OpenAI account behind the key is deactivated: contact OpenAI or use another "
            "account's key.",
        ),
        _cause(
            "quota_exhausted",
            "No credit or quota left (insufficient_quota)",
            "The key is valid but the organization has no credit left or hit its monthly "
            "budget. Listing models still works; it shows only when something is generated, "
            "such as a Realtime session.",
            [
                f"Add credit or raise the budget at {BILLING_PAGE} and {LIMITS_PAGE}.",
                "Credit can take a few minutes to apply; no key change is needed.",
            ],
            "OpenAI says the account has no credit left (insufficient_quota): add credit "
            "in billing.",
        ),
        _cause(
            "rate_limited",
            "Rate limit reached",
            "Too many requests or tokens per minute for this organization's usage tier. It "
            "passes by itself; frequent limits mean the tier is too low for the load.",
            [
                "Wait a minute and retry.",
                f"Check the limits at {LIMITS_PAGE}; a higher usage tier raises them.",
            ],
            "OpenAI rate limit reached: retry in a minute.",
            fatal=False,
        ),
        _cause(
            "model_unavailable",
            "The realtime model is unavailable to this key",
            "The configured model (VIVAVOCE_REALTIME_MODEL) does not exist, was retired (the "
            "gpt-4o-realtime-preview models are shut down), or the key's project may not use "
            "it.",
            [
                "Set VIVAVOCE_REALTIME_MODEL to a current model such as gpt-realtime "
                "(or remove it to use the default).",
                f"If the name is right, allow the model for the key's project at "
                f"{PROJECTS_PAGE}.",
            ],
            "The realtime model is unavailable to this key: check VIVAVOCE_REALTIME_MODEL.",
        ),
        _cause(
            "region_unsupported",
            "OpenAI does not serve the country this server runs in",
            "OpenAI answered 403 unsupported_country_region_territory: requests from this "
            "server's location are refused, whatever the key.",
            [
                "Run the service in a supported region (on Railway: service → Settings → "
                "Region).",
                "A proxy set in OPENAI_BASE_URL in a supported region also works.",
            ],
            "OpenAI refuses requests from this server's country: deploy in a supported "
            "region.",
        ),
        _cause(
            "network_unreachable",
            "OpenAI cannot be reached from this server",
            "The API host could not be resolved, connected to, or spoken TLS with. That is "
            "DNS, a firewall, a proxy or a wrong OPENAI_BASE_URL — not the key.",
            [
                "Check OPENAI_BASE_URL (unset means https://api.openai.com/v1).",
                "From the server, try: curl -sS https://api.openai.com/v1/models "
                "(a 401 answer means the network is fine).",
                "If outbound traffic must go through a proxy, set HTTPS_PROXY.",
            ],
            "OpenAI is unreachable from the server (network, not the key).",
            fatal=False,
        ),
        _cause(
            "openai_unavailable",
            "OpenAI itself is having trouble",
            "OpenAI answered with a server error or timed out after the connection was "
            "made. This is on OpenAI's side; the key is not the problem.",
            [
                f"Check {STATUS_PAGE} for an ongoing incident.",
                "Retry in a few minutes; nothing needs to change here.",
            ],
            f"OpenAI is having trouble (see {STATUS_PAGE}); retry later.",
            fatal=False,
        ),
    )
}


def fix_steps(cause_id: str, platform: Platform) -> list[str]:
    """The steps that fix ``cause_id`` where the service runs. Raises KeyError if unknown."""
    return CAUSES[cause_id].fix(platform)


def hint_for(cause_id: str, platform: Platform) -> str:
    """One line for an operator. Raises KeyError for an unknown cause id."""
    cause = CAUSES[cause_id]
    if cause_id in ("key_missing", "key_malformed", "key_invalid", "key_wrong_type"):
        where = {
            "railway": "Railway: service → Variables → OPENAI_API_KEY (it redeploys).",
            "docker": "Docker: set OPENAI_API_KEY and recreate the container.",
            "local": "Local: OPENAI_API_KEY in .env, then restart.",
        }[platform]
        return f"{cause.hint} {where}"
    return cause.hint


def is_fatal_cause(cause_id: str) -> bool:
    """Whether retrying without changing anything is pointless (unknown ids: True)."""
    cause = CAUSES.get(cause_id)
    return True if cause is None else cause.fatal


def split_close_reason(reason: str | None) -> tuple[str | None, str | None]:
    """A Realtime close reason as (error type, code): in-band failures close with
    ``<type>.<code>``, e.g. ``invalid_request_error.invalid_api_key``; anything else is
    (None, None)."""
    if not reason or " " in reason.strip() or "." not in reason:
        return None, None
    error_type, _, code = reason.strip().partition(".")
    return error_type or None, code or None


def classify_openai_error(
    *,
    status: int | None = None,
    error_type: str | None = None,
    code: str | None = None,
    message: str | None = None,
    close_code: int | None = None,
    close_reason: str | None = None,
    phase: CallChannel = "rest",
) -> str | None:
    """The cause id for an error OpenAI returned, or None when it is none of ours.

    Never raises. ``phase`` says where it happened: a REST call, the Realtime WebSocket
    upgrade, or an event/close on an open Realtime socket.
    """
    reason_type, reason_code = split_close_reason(close_reason)
    error_type = error_type or reason_type
    code = code or reason_code
    text = (message or "").lower()

    by_code = {
        "invalid_api_key": "key_invalid",
        "account_deactivated": "account_deactivated",
        "mismatched_organization": "org_project_mismatch",
        "mismatched_project": "org_project_mismatch",
        "invalid_organization": "org_project_mismatch",
        "invalid_project": "org_project_mismatch",
        "insufficient_quota": "quota_exhausted",
        "billing_hard_limit_reached": "quota_exhausted",
        "rate_limit_exceeded": "rate_limited",
        "model_not_found": "model_unavailable",
        "unsupported_country_region_territory": "region_unsupported",
        "server_error": "openai_unavailable",
        "server_overloaded": "openai_unavailable",
    }
    if code in by_code:
        return by_code[code]
    if error_type == "insufficient_quota" or "exceeded your current quota" in text:
        return "quota_exhausted"
    if "incorrect api key" in text:
        return "key_invalid"
    if "didn't provide an api key" in text or "did not provide an api key" in text:
        return "key_missing"
    if "deactivated" in text:
        return "account_deactivated"
    if "openai-organization header" in text or "openai-project header" in text:
        return "org_project_mismatch"
    if "do not have access to the realtime api" in text:
        return "no_realtime_access"
    if "insufficient permissions" in text or "missing scopes" in text:
        if "realtime" in text and phase != "rest":
            return "no_realtime_access"
        return "insufficient_permissions"
    if "country, region, or territory" in text or error_type == "request_forbidden":
        return "region_unsupported"
    if error_type in ("tokens", "requests") or "rate limit" in text:
        return "rate_limited"
    if "does not exist or you do not have access" in text:
        return "model_unavailable"
    if error_type == "server_error":
        return "openai_unavailable"
    if code == "permission_denied" or error_type == "permission_error":
        return "insufficient_permissions" if phase == "rest" else "no_realtime_access"

    if status is not None:
        if status == 403 and phase == "realtime_upgrade":
            return "no_realtime_access"
        if status == 401:
            return "key_invalid"
        if status == 403:
            return "insufficient_permissions"
        if status == 429:
            return "rate_limited"
        if status == 404 and phase == "realtime_upgrade":
            return "model_unavailable"
        if status >= 500:
            return "openai_unavailable"
    if close_code in (1011, 1012, 1013, 1014):
        return "openai_unavailable"
    if close_code == 1006:
        # Closed without a close frame: a keepalive went unanswered or the connection
        # broke. The network path to OpenAI was lost, as when a connect cannot reach it.
        return "network_unreachable"
    return None
