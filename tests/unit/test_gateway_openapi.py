"""The OpenAPI 3.1 document front-end teams build on: every route, every error as problem+json."""

from __future__ import annotations

import pytest

from gateway.app import create_app
from gateway.errors import PROBLEM_JSON
from gateway.settings import GatewaySettings

ROUTES = {
    ("get", "/v1/code-systems"),
    ("get", "/v1/search"),
    ("get", "/v1/codes/{system}/{code}"),
    ("get", "/v1/codes/{system}/{code}/children"),
    ("get", "/v1/crosswalks/{system}/{code}"),
    ("post", "/v1/code-pairs:check"),
    ("post", "/v1/accounts"),
    ("post", "/v1/sessions"),
    ("delete", "/v1/sessions/current"),
    ("get", "/v1/me"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/v1/clinical-categories"),
    ("get", "/v1/guidelines/{system}"),
}


@pytest.fixture(scope="module")
def document() -> dict:
    return create_app(GatewaySettings()).openapi()


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def test_the_document_is_openapi_3_1_with_every_route_of_the_issue(document):
    assert document["openapi"].startswith("3.1")
    assert ROUTES <= {(method, path) for method, path, _ in operations(document)}


def test_every_error_answer_is_declared_as_problem_json_and_none_as_422(document):
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            assert status != "422", (method, path)
            if int(status) >= 400:
                assert list(response["content"]) == [PROBLEM_JSON], (method, path, status)


def test_the_statuses_front_ends_branch_on_are_declared_where_they_happen(document):
    paths = document["paths"]
    assert {"200", "400", "401", "402", "404", "429", "503"} <= set(
        paths["/v1/codes/{system}/{code}"]["get"]["responses"]
    )
    assert {"201", "400", "403", "409", "413", "415", "503"} <= set(
        paths["/v1/accounts"]["post"]["responses"]
    )
    assert {"200", "401", "403"} <= set(paths["/v1/code-pairs:check"]["post"]["responses"])
    assert "429" in paths["/v1/search"]["get"]["responses"]
    assert "Retry-After" in paths["/v1/search"]["get"]["responses"]["429"]["headers"]


def test_refusals_and_misses_carry_their_own_schemas(document):
    page = document["paths"]["/v1/codes/{system}/{code}"]["get"]["responses"]
    assert page["402"]["content"][PROBLEM_JSON]["schema"]["$ref"].endswith("/QuotaProblem")
    assert page["404"]["content"][PROBLEM_JSON]["schema"]["$ref"].endswith("/CodeNotFoundProblem")
    assert "X-Quota-Remaining" in page["200"]["headers"]
    quota = document["components"]["schemas"]["QuotaProblem"]
    assert {"remaining", "plan", "actions", "period_end"} <= set(quota["properties"])


def test_inputs_are_bounded_in_the_document(document):
    search = {p["name"]: p["schema"] for p in document["paths"]["/v1/search"]["get"]["parameters"]}
    assert search["q"]["maxLength"] == 256
    assert (search["page_size"]["minimum"], search["page_size"]["maximum"]) == (1, 100)
    credentials = document["components"]["schemas"]["Credentials"]
    assert credentials["additionalProperties"] is False
