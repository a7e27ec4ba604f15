"""API fuzzing with schemathesis against our own OpenAPI schema (/api/schema/), through the WSGI app.

For every operation, a small, derandomised batch of generated requests (valid and invalid) is sent as a program
manager with a personal API token. Every answer must be no 5xx, and it must match the schema for its status.

Left out:
- the Jira webhook: signature-protected; `jira_bridge` tests it with signed payloads (it is not in the schema);
- nothing else. Path parameters the generator cannot guess are pointed at real rows: `{reference}` at a filed
  request, `{token_id}` at a spare token and `{slug}` at the Bihar calendar, so the bodies are fuzzed against real
  objects and the token the fuzzer authenticates with is never the one it revokes. `{run_id}` stays random
  (answers 404).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from portal.tokens import api_token_create
from requests_app.choices import RequestState
from requests_app.testing.workflow import walk_to
from sla.defaults import ensure_defaults

EXCLUDED_PATHS = r"^/api/v1/webhooks/"
MAX_EXAMPLES = 10


@pytest.fixture
def wsgi_keeps_the_test_transaction():
    """Django's WSGI handler closes the database connection after each request, which would drop the test's
    transaction; its own test client stops that the same way, by unhooking `close_old_connections`."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_targets(world, wsgi_keeps_the_test_transaction, settings, tmp_path) -> dict[str, str]:
    """The rows the fuzzer aims at, and the PM's bearer token. Fuzzed uploads are stored under `tmp_path`."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    service_request = walk_to(world, RequestState.IN_PROGRESS)
    # Every scope, so token creation is fuzzed too (a token without `tokens` gets 403 there before any input check).
    _, key = api_token_create(user=world.pm, name="fuzzer", scopes=["read", "write", "tokens"])
    spare, _ = api_token_create(user=world.pm, name="to revoke")
    ensure_defaults()  # the calendars `{slug}` points at
    return {"reference": service_request.reference, "token_id": str(spare.pk), "slug": "bihar", "key": key}


# Loaded at collection: building the schema answers anonymous GET /api/schema/ and touches no database.
# (schemathesis.pytest.from_fixture would load it per test, but its lazy loader fails on pytest 9.2.)
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application()).exclude(path_regex=EXCLUDED_PATHS)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    # The world and the token are built once per operation, not once per example, on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_answers_every_generated_request_without_5xx_and_as_documented(case, fuzz_targets):
    for name in ("reference", "token_id", "slug"):
        if case.path_parameters and name in case.path_parameters:
            case.path_parameters[name] = fuzz_targets[name]

    # call_and_validate raises on a 5xx, an undocumented status or a body that breaks the schema.
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {fuzz_targets['key']}"},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
    assert response.status_code < 500


def test_every_operation_is_a_case_with_an_id_of_its_own(request):
    """pytest-xdist schedules by node id: cases sharing one ran once between them (root conftest names them)."""
    cases = [item for item in request.session.items if getattr(item, "operation_label", None)]
    if not cases:  # selected alone (-k): no case was collected to look at
        pytest.skip("no schemathesis case selected")

    ids = [case.nodeid for case in cases]
    assert len(ids) == len(set(ids))
    assert all(case.nodeid.endswith(f"[{case.operation_label}]") for case in cases), ids
