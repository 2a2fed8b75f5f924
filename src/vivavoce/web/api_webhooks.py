"""Webhooks for the operator: endpoints (the settings' one and those added here), the
delivery log with every attempt, and "send again". Starts and stops the worker.

A secret goes in (when an endpoint is added) and never comes out: responses show it
masked (``whsec_…abcd``), and :mod:`vivavoce.redact` masks the shape in every log line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Query, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import delete, func, select

from vivavoce.redact import mask_webhook_secret, register_secret
from vivavoce.runtime import Runtime
from vivavoce.store.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from vivavoce.web.api_interviews import ERROR_RESPONSES
from vivavoce.web.deps import AdminDep, RuntimeDep, SessionDep
from vivavoce.web.errors import ApiError
from vivavoce.webhook_secrets import webhook_secret_problem
from vivavoce.webhooks.deliveries import send_again
from vivavoce.webhooks.worker import WebhookWorker

__all__ = ["install", "on_shutdown", "on_startup", "router"]

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"], responses=ERROR_RESPONSES)


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000)
    secret: str = Field(max_length=200, description="whsec_ and base64 (Standard Webhooks).")
    description: str = Field(default="", max_length=200)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str) -> str:
        value = value.strip()
        problem = webhook_secret_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class EndpointOut(BaseModel):
    id: int | None = Field(description="null: the endpoint of VIVAVOCE_WEBHOOK_URL.")
    url: str
    description: str
    enabled: bool
    secret: str = Field(description="Masked; the secret itself is never returned.")
    source: Literal["settings", "pages"]


class WebhooksOut(BaseModel):
    endpoints: list[EndpointOut]
    public_url: str | None


class AttemptOut(BaseModel):
    at: datetime
    status_code: int | None
    error: str | None


class DeliveryOut(BaseModel):
    id: int
    event_id: str
    type: str
    interview_id: str | None
    url: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    attempt_log: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    total: int


def _endpoint_out(e: WebhookEndpoint) -> EndpointOut:
    return EndpointOut(id=e.id, url=e.url, description=e.description, enabled=e.enabled,
                       secret=mask_webhook_secret(e.secret), source="pages")


@router.get("", response_model=WebhooksOut)
async def list_endpoints(_admin: AdminDep, runtime: RuntimeDep, session: SessionDep) -> WebhooksOut:
    """Every endpoint: the settings' one first (read-only here), then those added."""
    settings = runtime.settings
    out: list[EndpointOut] = []
    if settings.webhook_url:
        secret = settings.webhook_secret
        out.append(EndpointOut(
            id=None, url=settings.webhook_url, description="VIVAVOCE_WEBHOOK_URL",
            enabled=True, source="settings",
            secret=mask_webhook_secret(secret.get_secret_value()) if secret else "(not set)",
        ))
    rows = await session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))
    out.extend(_endpoint_out(e) for e in rows)
    return WebhooksOut(endpoints=out, public_url=settings.public_url)


@router.post("/endpoints", status_code=201, response_model=EndpointOut)
async def add_endpoint(body: EndpointIn, _admin: AdminDep, session: SessionDep) -> EndpointOut:
    """Add an endpoint; events from now on are delivered to it too."""
    register_secret(body.secret)
    endpoint = WebhookEndpoint(url=body.url, secret=body.secret,
                               description=body.description.strip(), enabled=True)
    session.add(endpoint)
    await session.commit()
    return _endpoint_out(endpoint)


@router.delete("/endpoints/{endpoint_id}", status_code=204)
async def remove_endpoint(endpoint_id: int, _admin: AdminDep, session: SessionDep) -> Response:
    """Remove an endpoint and its deliveries."""
    result = await session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))
    await session.commit()
    if not getattr(result, "rowcount", 0):
        raise ApiError(404, "not_found", "No webhook endpoint with this id.")
    return Response(status_code=204)


@router.get("/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    _admin: AdminDep,
    session: SessionDep,
    status: Annotated[Literal["pending", "sending", "delivered", "failed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeliveryPage:
    """The delivery log, newest first, with each attempt."""
    conditions = [WebhookDelivery.status == status] if status else []
    total = await session.scalar(
        select(func.count()).select_from(WebhookDelivery).where(*conditions)
    )
    rows = list(await session.execute(
        select(WebhookDelivery, WebhookEvent.type, WebhookEvent.interview_id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(*conditions)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit).offset(offset)
    ))
    ids = [r[0].id for r in rows]
    attempts: dict[int, list[AttemptOut]] = {i: [] for i in ids}
    if ids:
        for a in await session.scalars(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids))
            .order_by(WebhookAttempt.id)
        ):
            attempts[a.delivery_id].append(AttemptOut(at=a.at, status_code=a.status_code,
                                                      error=a.error))
    items = [
        DeliveryOut(
            id=d.id, event_id=d.event_id, type=type_, interview_id=interview_id, url=d.url,
            status=d.status, attempts=d.attempts,
            next_attempt_at=d.next_attempt_at if d.status == "pending" else None,
            last_status_code=d.last_status_code, last_error=d.last_error,
            created_at=d.created_at, delivered_at=d.delivered_at, attempt_log=attempts[d.id],
        )
        for d, type_, interview_id in rows
    ]
    return DeliveryPage(items=items, total=int(total or 0))


@router.post("/deliveries/{delivery_id}/resend", response_model=dict[str, Any])
async def resend(
    delivery_id: int, _admin: AdminDep, runtime: RuntimeDep, session: SessionDep
) -> dict[str, Any]:
    """Send a delivery again now (a fresh day of retries), whatever its status."""
    if not await send_again(session, delivery_id):
        exists = await session.get(WebhookDelivery, delivery_id)
        if exists is None:
            raise ApiError(404, "not_found", "No delivery with this id.")
        raise ApiError(409, "delivery_sending", "It is being sent right now; try again shortly.")
    if runtime.webhooks is not None:
        runtime.webhooks.wake()
    return {"id": delivery_id, "status": "pending"}


def install(app: FastAPI, runtime: Runtime) -> None:
    app.include_router(router)


async def on_startup(app: FastAPI, runtime: Runtime) -> None:
    if runtime.settings.webhook_secret is not None:
        register_secret(runtime.settings.webhook_secret.get_secret_value())
    if runtime.webhooks is None:
        runtime.webhooks = WebhookWorker(runtime.db, runtime.settings)
    runtime.webhooks.start()


async def on_shutdown(app: FastAPI, runtime: Runtime) -> None:
    if runtime.webhooks is not None:
        await runtime.webhooks.stop()
