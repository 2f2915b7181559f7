"""AssistantService over real sockets: the assistant, the real lookup on the full catalog, real accounts.

Each intent answered from the catalog, follow-ups, the stream, bad input (never counted), metering
and a lookup service that is down.
"""

from __future__ import annotations

import uuid

import grpc
import pytest
import pytest_asyncio
from medcode.assistant.v1 import assistant_pb2 as pb
from medcode.lookup.v1 import lookup_pb2

from services.common.errors import error_info
from tests.support.accounts_server import free_port, running_accounts, settings
from tests.support.assistant_server import bearer, running_assistant


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def accounts(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('assistant-accounts')}/accounts.db"
    async with running_accounts(url, settings(free_questions=10_000)) as harness:
        yield harness


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def assistant(lookup_server, accounts):
    async with running_assistant(
        f"127.0.0.1:{lookup_server.port}", f"127.0.0.1:{accounts.running.port}"
    ) as harness:
        yield harness


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def token(accounts):
    return (await accounts.account()).session_token


async def ask(assistant, token, question, **fields) -> pb.AskResponse:
    return await assistant.stub.Ask(pb.AskRequest(question=question, **fields), metadata=bearer(token))


def cited(response) -> list[str]:
    return [c.code for c in response.citations]


async def assert_citations_exist(lookup, response) -> None:
    for system in {c.system for c in response.citations}:
        codes = [c.code for c in response.citations if c.system == system]
        found = await lookup.BatchGetCodes(lookup_pb2.BatchGetCodesRequest(system=system, codes=codes))
        assert list(found.missing) == []


# -- what a code means -----------------------------------------------------------------------------


async def test_a_code_is_explained_with_its_title_billable_status_and_inherited_notes(
    assistant, token, lookup
):
    response = await ask(assistant, token, "What is E11.9?")

    assert response.intent == pb.INTENT_CODE_MEANING
    assert "### `E11.9` — Type 2 diabetes mellitus without complications" in response.answer
    assert "is **billable**" in response.answer
    assert "“gestational diabetes (O24.4-)” (from E11)" in response.answer
    assert "… and 2 more Excludes1 notes" in response.answer
    assert cited(response) == ["E11.9"]
    assert response.citations[0].title == "Type 2 diabetes mellitus without complications"
    assert response.citations[0].system == lookup_pb2.CODE_SYSTEM_ICD10CM
    await assert_citations_exist(lookup, response)


async def test_a_category_is_not_billable_and_the_codes_below_it_are_named(assistant, token):
    response = await ask(assistant, token, "Is E11 billable?")

    assert "**not billable**" in response.answer
    assert "`E11.9` Type 2 diabetes mellitus without complications (billable)" in response.answer
    assert (
        "`E11.6` Type 2 diabetes mellitus with other specified complications (not billable" in response.answer
    )


async def test_a_pcs_code_is_explained_character_by_character(assistant, token):
    response = await ask(assistant, token, "Explain 0DTJ4ZZ")

    assert response.intent == pb.INTENT_CODE_MEANING
    assert "| 3 | Root Operation | T | Resection |" in response.answer
    assert "| 5 | Approach | 4 | Percutaneous Endoscopic |" in response.answer
    assert "Root operation **Resection**: Cutting out or off, without replacement, all of a body part." in (
        response.answer
    )


async def test_one_pcs_character_is_explained_with_its_definition(assistant, token):
    response = await ask(assistant, token, "What does the third character T mean in 0DTJ4ZZ?")

    assert response.intent == pb.INTENT_PCS_CHARACTER
    assert (
        "character 3 is the **Root Operation** axis, and its value **T** means **Resection**"
        in response.answer
    )
    assert "Definition: Cutting out or off, without replacement, all of a body part." in response.answer


async def test_an_icd9_code_is_found_in_its_own_system(assistant, token):
    response = await ask(assistant, token, "What is 47.01?")

    assert response.intent == pb.INTENT_CODE_MEANING
    assert response.citations[0].system == lookup_pb2.CODE_SYSTEM_ICD9PCS
    assert "Laparoscopic appendectomy" in response.answer


# -- which code fits ---------------------------------------------------------------------------------


async def test_a_description_gets_the_best_code_and_what_tells_the_candidates_apart(assistant, token):
    response = await ask(assistant, token, "What's the code for a torn ACL of the right knee, first visit?")

    assert response.intent == pb.INTENT_FIND_CODE
    assert cited(response)[0] == "S83.511A"
    assert (
        "**Best match:** `S83.511A` — Sprain of anterior cruciate ligament of right knee, initial encounter"
        in (response.answer)
    )
    assert "- Laterality: right `S83.511A` · left `S83.512A` · unspecified `S83.519A`" in response.answer
    assert "subsequent encounter `S83.511D`" in response.answer
    assert "Missing detail" not in response.answer


async def test_a_description_without_the_side_or_encounter_is_asked_for_them(assistant, token):
    response = await ask(assistant, token, "What code do I use for a torn ACL of the knee?")

    assert "**Missing detail:** the question does not say which side" in response.answer
    assert "which encounter (initial, subsequent or sequela)" in response.answer
    assert {"S83.511A", "S83.512A"} <= set(cited(response))


async def test_with_and_without_in_the_question_decide_between_variants(assistant, token):
    response = await ask(assistant, token, "What's the ICD-10-CM code for GERD without esophagitis?")

    assert cited(response)[0] == "K21.9"


async def test_a_procedure_in_plain_words_finds_its_pcs_code(assistant, token):
    response = await ask(assistant, token, "PCS code for laparoscopic cholecystectomy")

    assert cited(response)[0] == "0FT44ZZ"
    assert "- Approach (5th character): Open Approach `0FT40ZZ`" in response.answer
    assert "Missing detail" not in response.answer  # "laparoscopic" is the approach


async def test_a_procedure_without_its_approach_is_asked_for_it(assistant, token):
    response = await ask(
        assistant, token, "PCS code for insertion of an endotracheal airway into the trachea"
    )

    assert "**Missing detail:** the question does not say the approach" in response.answer
    assert {"0BH17EZ", "0BH18EZ"} <= set(cited(response))


# -- pairs and sequencing ----------------------------------------------------------------------------


async def test_an_excludes1_pair_is_refused_quoting_the_note(assistant, token, lookup):
    response = await ask(assistant, token, "Can E11.9 and E10.9 be coded together?")

    assert response.intent == pb.INTENT_CODE_PAIR
    assert response.answer.startswith("**Not together (Excludes1).**")
    assert "Note: “type 1 diabetes mellitus (E10.-)”" in response.answer
    await assert_citations_exist(lookup, response)


async def test_a_pair_no_note_forbids_but_whose_titles_contradict_is_said_so(assistant, token):
    response = await ask(assistant, token, "Can I report E11.9 with E11.65?")

    assert response.answer.startswith("**Allowed together.** No note of the tabular list stands against")
    assert "**The titles contradict each other:**" in response.answer
    assert "report E11.65 instead of E11.9" in response.answer


async def test_two_codes_are_sequenced_by_the_note_that_orders_them(assistant, token):
    response = await ask(assistant, token, "Which goes first, N18.6 or Z99.2?")

    assert response.intent == pb.INTENT_SEQUENCING
    assert "**Sequence:** `N18.6` first, then `Z99.2`." in response.answer
    assert "“code to identify dialysis status (Z99.2)”" in response.answer


async def test_one_code_gets_its_code_first_notes(assistant, token):
    response = await ask(assistant, token, "What should be coded first with F02.80?")

    assert response.intent == pb.INTENT_SEQUENCING
    assert "**Code first**" in response.answer
    assert "“Alzheimer's (G30.-)” (from F02)" in response.answer


# -- crosswalks, conventions, guidelines, modifiers --------------------------------------------------


async def test_an_icd9_procedure_maps_to_pcs_with_the_gem_flag_explained(assistant, token):
    response = await ask(assistant, token, "ICD-9 procedure 47.01 in ICD-10-PCS?")

    assert response.intent == pb.INTENT_CROSSWALK
    assert (
        "- `0DTJ4ZZ` — Resection of Appendix, Percutaneous Endoscopic Approach · approximate"
        in response.answer
    )
    assert "**approximate** — the two codes do not mean exactly the same thing" in response.answer


async def test_a_combination_mapping_lists_its_scenario_and_choice_lists(assistant, token):
    response = await ask(assistant, token, "crosswalk for 250.13")

    assert "- Combination, scenario 1: report together one code from each list" in response.answer
    assert "choice list 1: `E10.10`" in response.answer
    assert "choice list 2: `E10.65`" in response.answer


async def test_a_convention_is_explained_with_a_note_from_the_catalog(assistant, token):
    response = await ask(assistant, token, "What does Excludes2 mean?")

    assert response.intent == pb.INTENT_CONVENTION
    assert "**“not included here”**" in response.answer
    assert "carries this Excludes2 note" in response.answer
    assert cited(response)  # the example code


async def test_a_pcs_guideline_is_quoted_by_its_topic(assistant, token):
    response = await ask(assistant, token, "What is the PCS guideline for biopsy procedures?")

    assert response.intent == pb.INTENT_GUIDELINE
    assert "**B3.4a** — Root Operation: Biopsy Procedures" in response.answer
    assert "> Biopsy procedures are coded using the root operations Excision, Extraction, or Drainage" in (
        response.answer
    )


async def test_a_root_operation_is_defined_from_the_pcs_tables(assistant, token):
    response = await ask(assistant, token, "What is the root operation Excision?")

    assert response.intent == pb.INTENT_GUIDELINE
    assert (
        "**Definition:** Cutting out or off, without replacement, a portion of a body part."
        in response.answer
    )
    assert "**B3.8** (Excision vs Resection)" in response.answer


async def test_a_hcpcs_modifier_is_explained_and_a_cpt_one_is_not(assistant, token):
    xs = await ask(assistant, token, "What is modifier XS?")
    cpt = await ask(assistant, token, "What is modifier 59?")

    assert xs.intent == pb.INTENT_MODIFIER
    assert "**XS** — Separate structure" in xs.answer
    assert "**59** is a CPT (Level I) modifier" in cpt.answer
    assert all(m in cpt.answer for m in ("**XE**", "**XS**", "**XP**", "**XU**"))


# -- what cannot be grounded -------------------------------------------------------------------------


async def test_a_code_that_does_not_exist_is_said_so_with_the_nearest_codes(assistant, token):
    response = await ask(assistant, token, "What is E11.99?")

    assert response.intent == pb.INTENT_CANNOT_GROUND
    assert "**E11.99 is not in ICD-10-CM**" in response.answer
    assert "`E11.99`" not in response.answer
    assert cited(response) == ["E11.9"]


@pytest.mark.parametrize(
    "question", ["Who won the world cup?", "What is the code for a purple flying elephant bite?"]
)
async def test_what_the_catalog_cannot_ground_gets_no_code_and_the_closest_searches(
    assistant, token, question
):
    response = await ask(assistant, token, question)

    assert response.intent == pb.INTENT_CANNOT_GROUND
    assert "**I can't" in response.answer
    assert cited(response) == []
    assert "The closest searches to try" in response.answer


async def test_payment_questions_are_out_of_scope(assistant, token):
    response = await ask(assistant, token, "How much does Medicare pay for an MRI?")

    assert response.intent == pb.INTENT_CANNOT_GROUND
    assert "it holds no payment amounts" in response.answer


@pytest.mark.parametrize(
    "question",
    [
        "?",
        "🙂",
        "What is 4?",
        "糖尿病のコード",
        "Robert'); DROP TABLE codes;--",
        "what does the 9th character mean in 0DTJ4ZZ",
        "modifier ZZ",
        "E11.9 " * 300,
        "code for \u200b diabetes",
        "and with?",
        "0000000",
        "Can 99213 go with 99214?",
    ],
)
async def test_odd_questions_get_an_answer_whose_codes_exist(assistant, token, lookup, question):
    response = await ask(assistant, token, question)

    assert response.answer.strip()
    await assert_citations_exist(lookup, response)


# -- conversations and context -------------------------------------------------------------------------


async def test_a_follow_up_refines_the_code_of_the_conversation(assistant, token):
    first = await ask(assistant, token, "What is E11.9?")
    follow_up = await ask(assistant, token, "and with hyperglycemia?", conversation_id=first.conversation_id)

    assert follow_up.conversation_id == first.conversation_id
    assert follow_up.intent == pb.INTENT_FIND_CODE
    assert cited(follow_up)[0] == "E11.65"


async def test_a_follow_up_changes_the_side_of_the_description_searched(assistant, token):
    first = await ask(assistant, token, "What's the code for a torn ACL of the right knee, first visit?")
    follow_up = await ask(
        assistant, token, "what about the left knee?", conversation_id=first.conversation_id
    )

    assert cited(follow_up)[0] == "S83.512A"


async def test_a_follow_up_pairs_the_code_of_the_conversation_with_a_new_one(assistant, token):
    first = await ask(assistant, token, "What is E11.9?")
    follow_up = await ask(
        assistant, token, "Can I report it with E10.9?", conversation_id=first.conversation_id
    )

    assert follow_up.intent == pb.INTENT_CODE_PAIR
    assert follow_up.answer.startswith("**Not together (Excludes1).**")


async def test_without_the_conversation_id_a_follow_up_has_nothing_to_refer_to(assistant, token):
    await ask(assistant, token, "What is E11.9?")
    alone = await ask(assistant, token, "is it billable?")

    assert alone.intent == pb.INTENT_CANNOT_GROUND


async def test_an_unknown_conversation_id_starts_a_new_conversation(assistant, token):
    response = await ask(assistant, token, "What is I10?", conversation_id="conv_gone")

    assert response.conversation_id.startswith("conv_")
    assert response.conversation_id != "conv_gone"


async def test_the_code_in_view_is_what_this_refers_to(assistant, token):
    response = await ask(assistant, token, "What should be coded first?", context_code="F02.80")

    assert response.intent == pb.INTENT_SEQUENCING
    assert "Alzheimer's (G30.-)" in response.answer


# -- the stream ---------------------------------------------------------------------------------------


async def test_the_stream_sends_the_answer_in_chunks_then_the_citations_then_done(assistant, token):
    whole = await ask(assistant, token, "Can E11.9 and E10.9 be coded together?")
    events = [
        event
        async for event in assistant.stub.AskStream(
            pb.AskStreamRequest(question="Can E11.9 and E10.9 be coded together?"), metadata=bearer(token)
        )
    ]

    kinds = [event.WhichOneof("event") for event in events]
    assert kinds[-2:] == ["citations", "done"]
    assert set(kinds[:-2]) == {"chunk"} and len(kinds) > 3
    assert "".join(event.chunk for event in events[:-2]) == whole.answer
    assert [c.code for c in events[-2].citations.citations] == cited(whole)
    assert events[-1].done.intent == pb.INTENT_CODE_PAIR
    assert events[-1].done.conversation_id.startswith("conv_")


async def test_a_stream_keeps_the_conversation_for_follow_ups(assistant, token):
    events = [
        e
        async for e in assistant.stub.AskStream(
            pb.AskStreamRequest(question="What is E10.9?"), metadata=bearer(token)
        )
    ]
    follow_up = await ask(
        assistant, token, "and with hyperglycemia?", conversation_id=events[-1].done.conversation_id
    )

    assert cited(follow_up)[0] == "E10.65"


# -- bad input, metering, a lookup service that is down ------------------------------------------------


@pytest.mark.parametrize(
    ("question", "reason", "words"),
    [
        ("", "QUESTION_EMPTY", "question is empty"),
        ("   \n ", "QUESTION_EMPTY", "question is empty"),
        ("x" * 2_001, "QUESTION_TOO_LONG", "the limit is 2,000"),
        ("What is E11.9?\x00\x01", "QUESTION_NOT_TEXT", "not text (U+0000, U+0001)"),
    ],
)
@pytest.mark.parametrize("streamed", [False, True])
async def test_bad_input_is_invalid_argument_with_its_reason_and_is_not_counted(
    assistant, accounts, question, reason, words, streamed
):
    account = await accounts.account()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        if streamed:
            async for _ in assistant.stub.AskStream(
                pb.AskStreamRequest(question=question), metadata=bearer(account.session_token)
            ):
                pass
        else:
            await ask(assistant, account.session_token, question)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert words in refused.value.details()
    assert error_info(refused.value).reason == reason
    used = accounts.count(
        "SELECT COALESCE(SUM(used), 0) FROM question_counters WHERE account_id = :id", id=account.account.id
    )
    assert used == 0


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"context_code": "E11.9; DROP TABLE codes"}, "INVALID_CONTEXT_CODE"),
        ({"conversation_id": "not an id!"}, "INVALID_CONVERSATION_ID"),
        ({"context_code": "E11.9", "context_system": 99}, "UNKNOWN_SYSTEM"),
    ],
)
async def test_bad_fields_beside_the_question_are_invalid_argument(assistant, token, fields, reason):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ask(assistant, token, "What is this?", **fields)

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(refused.value).reason == reason


async def test_without_a_session_token_the_assistant_says_to_sign_in(assistant):
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await assistant.stub.Ask(pb.AskRequest(question="What is E11.9?"))

    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "register" in refused.value.details()


async def test_a_guest_is_told_the_assistant_is_for_accounts(assistant, accounts):
    guest = await accounts.guest()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ask(assistant, guest, "What is E11.9?")

    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_info(refused.value).reason == "ACCOUNT_REQUIRED"


async def test_each_question_is_counted_once_and_a_retry_with_its_request_id_is_free(assistant, accounts):
    account = await accounts.account()
    request_id = str(uuid.uuid4())
    for _ in range(2):
        await assistant.stub.Ask(
            pb.AskRequest(question="What is I10?"), metadata=bearer(account.session_token, request_id)
        )
    await ask(assistant, account.session_token, "What is I10?")

    used = accounts.count(
        "SELECT COALESCE(SUM(used), 0) FROM question_counters WHERE account_id = :id", id=account.account.id
    )
    assert used == 2


async def test_a_plan_whose_questions_are_used_up_is_resource_exhausted(lookup_server, tmp_path):
    async with running_accounts(f"sqlite:///{tmp_path}/accounts.db", settings(free_questions=1)) as accounts:
        async with running_assistant(
            f"127.0.0.1:{lookup_server.port}", f"127.0.0.1:{accounts.running.port}"
        ) as assistant:
            token = (await accounts.account()).session_token
            await ask(assistant, token, "What is I10?")
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                async for _ in assistant.stub.AskStream(
                    pb.AskStreamRequest(question="What is I10?"), metadata=bearer(token)
                ):
                    pass

    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "questions for today are used up" in refused.value.details()


async def test_a_lookup_service_that_is_down_is_unavailable_with_a_message(accounts, token):
    nobody = f"127.0.0.1:{free_port()}"
    async with running_assistant(nobody, f"127.0.0.1:{accounts.running.port}") as assistant:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await ask(assistant, token, "What is E11.9?")

    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "the lookup service cannot be reached" in refused.value.details()
    assert error_info(refused.value).reason == "LOOKUP_UNAVAILABLE"
