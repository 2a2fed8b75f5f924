"""An app for page tests: the real factory, driven in-process (pages need no database)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.fixtures.settings import MakeSettings
from vivavoce.web.app import create_app

ADMIN_TOKEN = "admin-token-for-page-tests-0123456789"
TEST_KEY = "sk-test-pages-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789wxyz"

MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(make_settings: MakeSettings) -> MakeClient:
    """make_client(**ENV) -> a TestClient on create_app(settings) (no lifespan: no DB)."""

    def make(**environ: str) -> TestClient:
        env = {"VIVAVOCE_ADMIN_TOKEN": ADMIN_TOKEN, **environ}
        app: FastAPI = create_app(make_settings(**env))
        return TestClient(app, follow_redirects=False)

    return make


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client()
