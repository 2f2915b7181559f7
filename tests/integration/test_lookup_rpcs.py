"""LookupService over a real socket, on the real catalog: answers, bad input, and error reasons."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from medcode.lookup.v1 import lookup_pb2 as pb

from services.common.errors import error_info

pytestmark = pytest.mark.asyncio(loop_scope="session")

CM = pb.CODE_SYSTEM_ICD10CM
PCS = pb.CODE_SYSTEM_ICD10PCS


async def rpc_error(call) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


# -- GetCode --------------------------------------------------------------------------------------


async def test_get_code_accepts_any_case_without_the_dot(lookup):
    response = await lookup.GetCode(pb.GetCodeRequest(system=CM, code=" e1165 "))
    code = response.code
    assert code.code == "E11.65"
    assert code.title == "Type 2 diabetes mellitus with hyperglycemia"
    assert code.billable and code.kind == pb.CODE_KIND_CODE
    assert code.parent == "E11.6"
    assert [a.code for a in code.ancestors] == ["4", "E08-E13", "E11", "E11.6"]
    assert code.lay_description
    assert "public domain" in code.licence.lower()


async def test_get_code_carries_inherited_notes_with_their_source(lookup):
    code = (await lookup.GetCode(pb.GetCodeRequest(system=CM, code="E11.65"))).code
    excludes1 = [n for n in code.inherited_notes if n.kind == pb.NOTE_KIND_EXCLUDES1 and n.source == "E11"]
    assert any("E10.-" in n.codes for n in excludes1), excludes1
    use_additional = [n for n in code.inherited_notes if n.kind == pb.NOTE_KIND_USE_ADDITIONAL_CODE]
    assert any(any(c.startswith("Z79.4") for c in n.codes) for n in use_additional)


async def test_seventh_character_code_is_generated_with_its_meaning(lookup):
    code = (await lookup.GetCode(pb.GetCodeRequest(system=CM, code="S52.521A"))).code
    assert code.billable and code.parent == "S52.521"
    assert code.title.endswith("initial encounter for closed fracture")
    parent = (await lookup.GetCode(pb.GetCodeRequest(system=CM, code="S52.521"))).code
    assert not parent.billable
    assert "S52.521A" in [c.code for c in parent.children]


async def test_pcs_code_explains_each_character(lookup):
    code = (await lookup.GetCode(pb.GetCodeRequest(system=PCS, code="0dtj4zz"))).code
    assert code.code == "0DTJ4ZZ"
    assert code.title == "Resection of Appendix, Percutaneous Endoscopic Approach"
    assert [c.position for c in code.pcs_characters] == [1, 2, 3, 4, 5, 6, 7]
    root_operation = code.pcs_characters[2]
    assert root_operation.value == "T" and root_operation.meaning == "Resection"
    assert "all of a body part" in root_operation.definition
    assert code.pcs_characters[3].meaning == "Appendix"


async def test_icd9_procedure_titles_are_the_sound_cms_ones(lookup):
    code = (await lookup.GetCode(pb.GetCodeRequest(system=pb.CODE_SYSTEM_ICD9PCS, code="4701"))).code
    assert code.code == "47.01"
    assert code.title == "Laparoscopic appendectomy"


async def test_unknown_code_is_not_found_with_the_nearest_codes(lookup):
    error = await rpc_error(lookup.GetCode(pb.GetCodeRequest(system=CM, code="E11.99")))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "E11.9" in error.details()
    info = error_info(error)
    assert info.reason == "CODE_NOT_FOUND"
    assert "E11.9" in info.metadata["nearest"].split(",")


async def test_code_of_another_system_is_named_in_the_not_found_message(lookup):
    error = await rpc_error(lookup.GetCode(pb.GetCodeRequest(system=pb.CODE_SYSTEM_ICD9CM, code="E11.9")))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "ICD-10-CM" in error.details()


@pytest.mark.parametrize(
    ("system", "code", "reason"),
    [
        (CM, "", "INVALID_CODE"),
        (CM, "E11$9", "INVALID_CODE"),
        (CM, "E" * 40, "INVALID_CODE"),
        (pb.CODE_SYSTEM_UNSPECIFIED, "E11.9", "UNKNOWN_SYSTEM"),
        (99, "E11.9", "UNKNOWN_SYSTEM"),
    ],
)
async def test_bad_input_is_invalid_argument_with_a_reason(lookup, system, code, reason):
    error = await rpc_error(lookup.GetCode(pb.GetCodeRequest(system=system, code=code)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(error).reason == reason
    assert error.details()


async def test_cpt_before_import_says_how_to_import_it(lookup):
    error = await rpc_error(lookup.GetCode(pb.GetCodeRequest(system=pb.CODE_SYSTEM_CPT, code="99213")))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "import-cpt" in error.details()


# -- BatchGetCodes --------------------------------------------------------------------------------


async def test_batch_get_keeps_order_and_lists_missing(lookup):
    response = await lookup.BatchGetCodes(
        pb.BatchGetCodesRequest(system=CM, codes=["I10", "E11.99", "e119", "J45.909"])
    )
    assert [c.code for c in response.codes] == ["I10", "E11.9", "J45.909"]
    assert list(response.missing) == ["E11.99"]


async def test_batch_get_refuses_more_than_1000_codes(lookup):
    error = await rpc_error(lookup.BatchGetCodes(pb.BatchGetCodesRequest(system=CM, codes=["I10"] * 1001)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "1,000" in error.details()


async def test_batch_get_of_1000_codes_answers_all(lookup):
    children = await lookup.ListChildren(pb.ListChildrenRequest(system=CM, code="S52.521"))
    codes = [c.code for c in children.children] * 200
    response = await lookup.BatchGetCodes(
        pb.BatchGetCodesRequest(system=CM, codes=codes[:1000], view=pb.CODE_VIEW_BASIC)
    )
    assert len(response.codes) == 1000 and not response.missing
    assert not response.codes[0].notes  # the basic view


# -- SearchCodes ----------------------------------------------------------------------------------


async def test_search_by_code_prefix_lists_the_code_first(lookup):
    response = await lookup.SearchCodes(pb.SearchCodesRequest(query="e11.6", systems=[CM]))
    assert response.results[0].code.code == "E11.6"
    assert all(r.code.code.startswith("E11.6") for r in response.results)


async def test_search_pages_are_stable_and_complete(lookup):
    whole = await lookup.SearchCodes(pb.SearchCodesRequest(query="asthma", systems=[CM], page_size=100))
    assert 20 < whole.total_size <= 100
    paged, token = [], ""
    while True:
        page = await lookup.SearchCodes(
            pb.SearchCodesRequest(query="asthma", systems=[CM], page_size=7, page_token=token)
        )
        paged += [r.code.code for r in page.results]
        assert page.total_size == whole.total_size
        token = page.next_page_token
        if not token:
            break
    assert paged == [r.code.code for r in whole.results]


async def test_search_billable_only(lookup):
    response = await lookup.SearchCodes(pb.SearchCodesRequest(query="E11", systems=[CM], billable_only=True))
    assert response.results and all(r.code.billable for r in response.results)


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"query": "x" * 257}, "query"),
        ({"query": "   "}, "query"),
        ({"query": "asthma", "page_token": "not-a-token"}, "page_token"),
        ({"query": "asthma", "page_size": -1}, "page_size"),
        ({"query": "asthma", "systems": [42]}, "systems"),
    ],
)
async def test_search_bad_input(lookup, request_fields, field):
    error = await rpc_error(lookup.SearchCodes(pb.SearchCodesRequest(**request_fields)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(error).metadata["field"] == field


async def test_page_token_of_another_query_is_refused(lookup):
    first = await lookup.SearchCodes(pb.SearchCodesRequest(query="asthma", page_size=5))
    error = await rpc_error(
        lookup.SearchCodes(
            pb.SearchCodesRequest(query="fracture", page_size=5, page_token=first.next_page_token)
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


# -- ListChildren ---------------------------------------------------------------------------------


async def test_top_level_of_icd10cm_is_its_22_chapters(lookup):
    response = await lookup.ListChildren(pb.ListChildrenRequest(system=CM, page_size=100))
    assert response.total_size == 22
    assert all(c.kind == pb.CODE_KIND_CHAPTER for c in response.children)


async def test_children_page_through(lookup):
    first = await lookup.ListChildren(pb.ListChildrenRequest(system=CM, code="E11", page_size=3))
    assert first.next_page_token and len(first.children) == 3
    second = await lookup.ListChildren(
        pb.ListChildrenRequest(system=CM, code="E11", page_size=100, page_token=first.next_page_token)
    )
    assert len(first.children) + len(second.children) == first.total_size
    assert not second.next_page_token


# -- GetCrosswalk ---------------------------------------------------------------------------------


async def test_icd9_procedure_to_pcs(lookup):
    response = await lookup.GetCrosswalk(pb.GetCrosswalkRequest(system=pb.CODE_SYSTEM_ICD9PCS, code="47.01"))
    assert response.source.title == "Laparoscopic appendectomy"
    assert "0DTJ4ZZ" in [m.target.code for m in response.mappings]
    assert all(m.target.title for m in response.mappings if not m.no_map)


async def test_icd9_diagnosis_to_icd10cm_and_back(lookup):
    forward = await lookup.GetCrosswalk(pb.GetCrosswalkRequest(system=pb.CODE_SYSTEM_ICD9CM, code="250.00"))
    assert "E11.9" in [m.target.code for m in forward.mappings]
    backward = await lookup.GetCrosswalk(pb.GetCrosswalkRequest(system=CM, code="E11.9"))
    assert "250.00" in [m.target.code for m in backward.mappings]


async def test_crosswalk_to_the_same_system_is_refused(lookup):
    error = await rpc_error(
        lookup.GetCrosswalk(pb.GetCrosswalkRequest(system=CM, code="E11.9", target_system=CM))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


# -- CheckCodePair --------------------------------------------------------------------------------


async def test_excludes1_conflict_quotes_the_inherited_note(lookup):
    response = await lookup.CheckCodePair(
        pb.CheckCodePairRequest(system=CM, first_code="E11.9", second_code="E10.9")
    )
    assert response.verdict == pb.PAIR_VERDICT_EXCLUDES1_CONFLICT
    decisive = [f for f in response.findings if f.kind == pb.FINDING_KIND_EXCLUDES1]
    assert decisive and decisive[0].note.source in {"E11", "E10"}


async def test_use_additional_code_sequences_the_pair(lookup):
    response = await lookup.CheckCodePair(
        pb.CheckCodePairRequest(system=CM, first_code="Z79.4", second_code="E11.9")
    )
    assert response.verdict == pb.PAIR_VERDICT_ALLOWED_WITH_SEQUENCING
    assert response.sequence_first == "E11.9"


async def test_a_code_with_its_own_ancestor_is_redundant(lookup):
    response = await lookup.CheckCodePair(
        pb.CheckCodePairRequest(system=CM, first_code="E11.6", second_code="E11.65")
    )
    assert response.verdict == pb.PAIR_VERDICT_REDUNDANT


async def test_unrelated_codes_are_allowed(lookup):
    response = await lookup.CheckCodePair(
        pb.CheckCodePairRequest(system=CM, first_code="I10", second_code="J45.909")
    )
    assert response.verdict == pb.PAIR_VERDICT_ALLOWED


# -- ListCodeSystems, categories, guidelines ------------------------------------------------------


async def test_code_systems_report_counts_and_licences(lookup):
    systems = {s.system: s for s in (await lookup.ListCodeSystems(pb.ListCodeSystemsRequest())).code_systems}
    cm = systems[CM]
    assert (cm.code_count, cm.billable_count) == (98_505, 74_719)
    assert cm.loaded and cm.licence and cm.version
    assert systems[PCS].code_count > 78_000
    assert not systems[pb.CODE_SYSTEM_CPT].loaded
    assert "import" in systems[pb.CODE_SYSTEM_CPT].coverage


async def test_clinical_categories_browse(lookup):
    categories = (
        await lookup.ListClinicalCategories(pb.ListClinicalCategoriesRequest(body_system="END"))
    ).categories
    assert categories and all(c.body_system == "END" for c in categories)
    codes = await lookup.ListCategoryCodes(
        pb.ListCategoryCodesRequest(category_id=categories[0].id, page_size=5)
    )
    assert codes.total_size > 0 and codes.codes


async def test_pcs_guidelines(lookup):
    guidelines = (await lookup.ListGuidelines(pb.ListGuidelinesRequest(system=PCS))).guidelines
    assert len(guidelines) >= 50
    assert any(g.id == "A1" for g in guidelines)


# -- health and reflection ------------------------------------------------------------------------


async def test_health_reports_serving(lookup_channel):
    health = health_pb2_grpc.HealthStub(lookup_channel)
    for service in ("", "medcode.lookup.v1.LookupService"):
        response = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_service(lookup_channel):
    stub = reflection_pb2_grpc.ServerReflectionStub(lookup_channel)
    responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    async for response in responses:
        names = [s.name for s in response.list_services_response.service]
        assert "medcode.lookup.v1.LookupService" in names
        assert "grpc.health.v1.Health" in names
        break


async def test_the_nearest_seventh_character_definition_wins(lookup):
    # S52.01 defines its own 7th characters below S52's: only S52.01's apply to S52.011A.
    code = (await lookup.GetCode(pb.GetCodeRequest(system=CM, code="S52.011A"))).code
    sources = {n.source for n in code.inherited_notes if n.kind == pb.NOTE_KIND_SEVENTH_CHARACTER}
    assert sources == {"S52.01"}


async def test_a_gem_target_deleted_since_the_gem_is_flagged(lookup):
    response = await lookup.GetCrosswalk(pb.GetCrosswalkRequest(system=pb.CODE_SYSTEM_ICD9PCS, code="38.05"))
    gone = [m for m in response.mappings if m.target.code == "03C00Z6"]
    assert gone and gone[0].target_not_in_catalog and not gone[0].target.title
    assert not any(m.target_not_in_catalog for m in response.mappings if m.target.title)
