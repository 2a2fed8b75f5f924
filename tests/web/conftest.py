"""An app for page tests: the real factory, driven in-process, its lifespan run (the
operator's sessions and the limits on guessing live in the database, a SQLite file in the
test's data directory)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.fixtures.settings import MakeSettings
from vivavoce.web.app import create_app

ADMIN_TOKEN = "admin-token-for-page-tests-0123456789"
TEST_KEY = "sk-test-pages-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789wxyz"
# What a browser on the test client's own address sends with a form or a fetch.
SAME_ORIGIN = {"Origin": "http://testserver"}

MakeClient = Callable[..., TestClient]


def log_in(client: TestClient, token: str = ADMIN_TOKEN) -> None:
    """Log in through the real form (the cookie then names a server-side session)."""
    response = client.post(
        "/admin/login", data={"token": token, "next": "/admin/interviews"}, headers=SAME_ORIGIN
    )
    assert response.status_code == 303, response.text


@pytest.fixture
def make_client(make_settings: MakeSettings) -> Iterator[MakeClient]:
    """make_client(**ENV) -> a TestClient on create_app(settings), lifespan started."""
    with contextlib.ExitStack() as stack:

        def make(**environ: str) -> TestClient:
            env = {"VIVAVOCE_ADMIN_TOKEN": ADMIN_TOKEN, **environ}
            app: FastAPI = create_app(make_settings(**env))
            return stack.enter_context(TestClient(app, follow_redirects=False))

        yield make


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client()
