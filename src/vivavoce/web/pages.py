"""Placeholder feature module: install(), on_startup() and on_shutdown()."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from vivavoce.runtime import Runtime

router = APIRouter()


def install(app: FastAPI, runtime: Runtime) -> None:
    app.include_router(router)


async def on_startup(app: FastAPI, runtime: Runtime) -> None:
    return None


async def on_shutdown(app: FastAPI, runtime: Runtime) -> None:
    return None
