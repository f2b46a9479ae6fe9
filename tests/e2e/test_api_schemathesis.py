"""Fuzz the JSON API of a running worker from its own OpenAPI document (schemathesis).

Every operation of ``/api/v1/openapi.json`` is called with generated valid and invalid
inputs and an admin token: no 5xx, only documented status codes and content types,
bodies matching their schemas, invalid input rejected with 4xx, and authentication not
ignored. Bounded: ``MAX_EXAMPLES`` per operation.
"""

from __future__ import annotations

import aiohttp
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from tests.e2e import webstack
from tests.e2e.webstack import WebWorker

pytestmark = pytest.mark.e2e
web_worker = webstack.web_worker  # the module's worker (fixture)
MAX_EXAMPLES = 15
CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_schema_conformance,
          checks.negative_data_rejection, checks.ignored_auth]


def auth_for(path: str, web: WebWorker) -> dict[str, str]:
    scope = "ingest" if path == "/api/v1/logs" else "admin"  # the gateway takes ingest tokens
    return {"Authorization": f"Bearer {web.tokens[scope]}"}


def test_api_conforms_to_its_openapi_document(web_worker: WebWorker) -> None:
    schema = schemathesis.openapi.from_url(f"{web_worker.url}/api/v1/openapi.json",
                                           headers=auth_for("", web_worker))
    failures: dict[str, str] = {}
    operations = 0
    statuses: dict[int, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case) -> None:
            response = case.call_and_validate(headers=auth_for(case.path, web_worker),
                                              checks=CHECKS, timeout=30)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        try:
            run()
        except Exception as exc:  # collect: one report for every operation
            failures[operation.label] = str(exc)[:3000]
    print(f"{operations} operations, responses by status: {sorted(statuses.items())}")
    assert operations >= 7
    assert sum(statuses.values()) >= operations * 5  # it really called the API
    assert {200, 201, 202, 204, 400} <= set(statuses), statuses
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())


async def test_openapi_document_lists_the_api_and_needs_authentication(
        web_worker: WebWorker) -> None:
    url = f"{web_worker.url}/api/v1/openapi.json"
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as response:
            assert response.status == 401
            assert response.content_type == "application/problem+json"
        read = {"Authorization": f"Bearer {web_worker.tokens['read']}"}
        async with http.get(url, headers=read) as response:
            assert response.status == 200
            document = await response.json()
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/me", "/api/v1/services", "/api/v1/services/{service}/summary",
            "/api/v1/tokens", "/api/v1/tokens/{name}", "/api/v1/logs",
            "/api/v1/openapi.json"} <= set(document["paths"])
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
