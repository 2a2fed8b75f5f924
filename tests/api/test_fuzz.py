"""Fuzz the interviews and résumé API from its own OpenAPI schema (schemathesis).

The app runs under uvicorn on a real socket; every generated request (valid and
invalid) must get an answer that is not a 5xx and that matches the documented schema.
Bounded: a few dozen examples per operation, so this stays well under a minute.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.fixtures.database import ADMIN_TOKEN, make_runtime
from vivavoce.config import Settings
from vivavoce.store.database import Database
from vivavoce.testing import serve_in_background
from vivavoce.web.app import create_app

MAX_EXAMPLES = 40


@pytest.mark.slow
def test_api_survives_fuzzing(
    migrated_database_url: str, make_settings: Callable[..., Settings]
) -> None:
    runtime = make_runtime(
        make_settings(VIVAVOCE_SIMULATOR="1"), Database(migrated_database_url)
    )
    app = create_app(runtime=runtime)
    with serve_in_background(app) as server:
        schema = schemathesis.openapi.from_url(f"{server.http_url}/openapi.json").include(
            tag=["interviews", "resume"]  # this area's operations, not other areas'
        )
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == 6  # create, list, get, transcript, delete, résumé
        for operation in operations:
            _fuzz(operation, server.http_url)


def _fuzz(operation: Any, base_url: str) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        # As the operator, so requests reach the code behind the auth check.
        response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert response.status_code < 500, (case.method, case.formatted_path, response.text)
        # Schema-valid input may still be refused with a 4xx: an uploaded file is judged by
        # its content (a PNG is a 415), text is cleaned before its limits apply (a name of
        # only control characters is empty afterwards). Everything else is checked.
        case.validate_response(response, excluded_checks=[positive_data_acceptance])

    run()
