"""The fake OpenAI server's ``POST /v1/responses`` (stub: the full endpoint lands soon)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter()
