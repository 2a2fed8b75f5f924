"""``run_doctor``: every check in order, then the causes they point at.

Order: configuration, the key offline, DNS/TCP/TLS to the API host, ``GET /v1/models``,
the realtime model is listed, a Realtime handshake. A check that cannot run because an
earlier one failed is reported as ``skip`` with the reason, so the output always lists
the same steps. Used by ``vivavoce doctor``, ``/api/diagnostics``, the setup page and
key reload.
"""

from __future__ import annotations

import asyncio
import time

from vivavoce.config import Settings
from vivavoce.diagnosis.live import (
    check_models,
    check_realtime,
    check_realtime_model,
    check_webrtc,
)
from vivavoce.diagnosis.network import check_network
from vivavoce.diagnosis.offline import check_configuration, check_key, key_report_for
from vivavoce.diagnosis.report import Check, DoctorReport, KeyInfo
from vivavoce.openai_client import base_url_for, make_async_client

__all__ = ["LIVE_CHECKS", "run_doctor", "run_doctor_sync"]

LIVE_CHECKS = ("dns", "tcp", "tls", "models", "realtime_model", "realtime")

# The SDK retries 429/5xx twice with back-off by default; one retry keeps the doctor
# quick while riding out a single hiccup.
_MAX_RETRIES = 1
_REST_TIMEOUT = 15.0


def _skip_live(reason: str) -> list[Check]:
    return [Check(name, "skip", reason) for name in LIVE_CHECKS]


def _collect_causes(checks: list[Check]) -> list[str]:
    causes: list[str] = []
    for check in checks:
        if check.cause and check.status in ("fail", "warn") and check.cause not in causes:
            causes.append(check.cause)
    return causes


async def run_doctor(
    settings: Settings,
    *,
    offline: bool = False,
    api_key: str | None = None,
    base_url: str | None = None,
    key_source: str = "given to the doctor",
) -> DoctorReport:
    """Run the checks for ``settings`` (or for ``api_key``/``base_url`` instead of the
    configured ones) and name the causes. ``key_source`` describes a given ``api_key``.
    Never raises for anything OpenAI or the network does; those become failed checks."""
    report = key_report_for(settings, api_key)
    provided = api_key is not None
    start = time.perf_counter()
    configuration = check_configuration(settings)
    configuration.ms = int((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    key_check = check_key(settings, report, source=key_source if provided else None)
    key_check.ms = int((time.perf_counter() - start) * 1000)
    checks = [configuration, key_check]

    url = base_url_for(settings, base_url)
    if offline:
        checks += _skip_live("--offline: no network checks")
    else:
        network = await check_network(url)
        checks += network
        network_ok = all(c.status != "fail" for c in network)
        if not network_ok:
            checks += [Check(n, "skip", "the API host cannot be reached") for n in LIVE_CHECKS[3:]]
        elif not report.usable or report.normalised is None:
            checks += [Check(n, "skip", "no usable key to call with") for n in LIVE_CHECKS[3:]]
        else:
            checks += await _api_checks(settings, report.normalised, url)

    source = (
        key_source
        if provided
        else (settings.source_of("openai_api_key").describe() if report.normalised else None)
    )
    return DoctorReport(
        checks=checks,
        key=KeyInfo(source, report.key_type, report.masked, report.fingerprint),
        platform=settings.platform,
        causes=_collect_causes(checks),
    )


async def _api_checks(settings: Settings, key: str, url: str) -> list[Check]:
    client = make_async_client(
        settings, api_key=key, base_url=url, timeout=_REST_TIMEOUT, max_retries=_MAX_RETRIES
    )
    try:
        models, ids = await check_models(client)
        checks = [models, check_realtime_model(settings.realtime_model, ids)]
        if models.cause in ("network_unreachable", "openai_unavailable"):
            checks.append(Check("realtime", "skip", "OpenAI did not answer the REST call"))
        elif models.status == "fail" and models.cause not in ("rate_limited",):
            # The key itself was refused: a handshake would only repeat it.
            checks.append(Check("realtime", "skip", "the key was refused by GET /v1/models"))
        elif checks[1].status == "fail":
            checks.append(Check("realtime", "skip", "the realtime model is not available"))
        else:
            checks.append(await check_realtime(client, settings.realtime_model))
        if settings.transport == "relay":
            checks.append(Check("webrtc", "skip", "VIVAVOCE_TRANSPORT=relay: not used"))
        elif checks[-1].status != "pass":
            checks.append(Check("webrtc", "skip", "no Realtime session could be opened"))
        else:
            checks.append(await check_webrtc(client, settings.realtime_model,
                                             required=settings.transport == "webrtc"))
        return checks
    finally:
        await client.close()


def run_doctor_sync(
    settings: Settings,
    *,
    offline: bool = False,
    api_key: str | None = None,
    base_url: str | None = None,
) -> DoctorReport:
    """:func:`run_doctor` for code without an event loop (the CLI)."""
    return asyncio.run(run_doctor(settings, offline=offline, api_key=api_key, base_url=base_url))
