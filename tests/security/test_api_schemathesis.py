"""schemathesis against the OpenAPI schema at /api/schema/, through the Django WSGI app, as a reader and as a study
admin: every operation, every check schemathesis has (no 5xx, status codes, content types, headers and bodies that
conform to the schema, negative data rejected, ...), a bounded number of examples each (SCHEMATHESIS_EXAMPLES).

Half of the generated cases have their ``slug`` pointed at the real open study so the operations are reached beyond
their 404, and a reader's cases are also checked for truth fields.
"""
from __future__ import annotations

import os
import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.specs.openapi.checks import positive_data_acceptance

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "12"))
TRUTH_KEYS = re.compile(r'"(source|is_real|truth|finding|provenance)"\s*:')
# Checks that judge the API's semantics rather than its safety, with why each one is left out:
# positive_data_acceptance is left out: a schema-valid request for a study that does not exist is rightly 404 (the
# study is not named to outsiders) and a vote for a random case id is rightly 400, where that check wants 2xx.


@pytest.fixture(autouse=True)
def _keep_the_test_transactions_connection():
    """Calling the WSGI app directly fires request_started/finished, whose close_old_connections would close the
    connection that holds the test's transaction (it is not in autocommit); Django's own test client disconnects
    it the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(study_factory, reader_factory, case_factory, staff_user):
    study = study_factory("paper", status="open", show_finding=False)
    for source in ("real", "pix2pix", "stargan", "real"):
        case_factory(study, finding="effusion", source=source)
    reader = reader_factory(study, username="reader").user
    return {"reader": Token.objects.create(user=reader).key, "staff": Token.objects.create(user=staff_user).key}


def schema_signed_in_with(token: str):
    """The schema with an auth provider: schemathesis then knows the token is the caller's real credential, and its
    auth checks send each request again without it (and with a made-up one) expecting a refusal."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())

    @schema.auth()
    class ApiToken:
        def get(self, case, context):
            return token

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}

    return schema


def run_operation(operation, role: str, counter: dict) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(), real_study=st.booleans())
    def exercise(case, real_study):
        if real_study and "slug" in (case.path_parameters or {}):
            case.path_parameters["slug"] = "paper"
        counter["cases"] += 1
        response = case.call_and_validate(excluded_checks=[positive_data_acceptance])
        assert response.status_code < 500, (operation.label, response.status_code, response.text[:500])
        if role == "reader" and response.headers.get("Content-Type", [""])[0].startswith("application/json"):
            assert not TRUTH_KEYS.search(response.text), (operation.label, response.text[:300])

    exercise()


@pytest.mark.parametrize("role", ["reader", "staff"])
def test_every_api_operation_conforms_to_its_schema_and_never_answers_5xx(world, role):
    schema = schema_signed_in_with(world[role])
    counter = {"cases": 0, "operations": 0}
    failures = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        counter["operations"] += 1
        try:
            run_operation(operation, role, counter)
        except Exception as failure:  # noqa: BLE001 - collect every operation's failure, then report them all
            failures[operation.label] = str(failure)[:1500]
    print(f"\nschemathesis as {role}: {counter['cases']} cases over {counter['operations']} operations")
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    assert counter["operations"] >= 15 and counter["cases"] >= counter["operations"]
