"""The OpenAPI document, fuzzed against the live platform with schemathesis: no 5xx, and every answer
matches its declared status, media type, headers and schema; invalid input is refused.

Schemathesis' Python API drives it (its lazy pytest fixture does not run under pytest 9): for each
operation, valid inputs and invalid ones, a bounded number of examples each, so that the whole
document takes a minute or two.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

EXAMPLES = {GenerationMode.POSITIVE: 60, GenerationMode.NEGATIVE: 40}
# Valid by the schema, refused by rules no schema can state: a page token must be one the server
# issued, a password must not be a common one, CPT/HCPCS are there only once an operator imports them,
# GEMs link only ICD-9 with ICD-10. Anything else refused with a 400 is a schema that says too little.
RULE_FIELDS = frozenset({"page_token", "password", "email", "target_system"})
RULE_REASONS = frozenset({"CODE_SYSTEM_NOT_LOADED"})


def schema_valid_input_is_accepted(ctx, response, case) -> bool | None:
    """positive_data_acceptance, except for the refusals RULE_FIELDS and RULE_REASONS explain.

    A 402 is the plan's answer, not the input's: the views of the caller (or its address) are used up.
    """
    if response.status_code == 402:
        return None
    if response.status_code == 400 and case.meta.generation.mode.is_positive:
        problem = response.json()
        fields = {error["field"] for error in problem.get("errors") or []}
        if problem.get("reason") in RULE_REASONS or (fields and fields <= RULE_FIELDS):
            return None
    return positive_data_acceptance(ctx, response, case)


def fuzz(operation, mode: GenerationMode) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES[mode], deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def run(case) -> None:
        case.call_and_validate(
            excluded_checks=[positive_data_acceptance], additional_checks=[schema_valid_input_is_accepted]
        )

    try:
        run()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE  # nothing to get wrong: no parameters, no body


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_every_operation_answers_as_documented(api_schema, mode):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    failures = []
    for operation in operations:
        try:
            fuzz(operation, mode)
        except Exception as failure:  # every operation's failures, reported together
            shown = str(failure)
            shown = shown if len(shown) < 3_000 else shown[:3_000] + " [...]"
            failures.append(f"{operation.method.upper()} {operation.path}:\n{shown}")
    assert not failures, "\n\n".join(failures)
