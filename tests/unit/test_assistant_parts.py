"""The assistant's parts without a server: title axes, chunks, conversations, the tables, settings."""

from __future__ import annotations

import re

import pytest
from medcode.lookup.v1 import lookup_pb2

from services.assistant.code_axes import extra_words, fit, read_axes, word_overlap
from services.assistant.compose_find import axes_of_variants
from services.assistant.compose_guidance import conventions_asked, load_conventions, root_operation_name
from services.assistant.conversations import ConversationStore
from services.assistant.engine import split_markdown
from services.assistant.errors import InvalidQuestion
from services.assistant.modifiers import load_modifiers, modifiers_described, modifiers_named
from services.assistant.question_cues import Refinement
from services.assistant.settings import AssistantSettings
from services.common.settings import SettingsError

# -- what tells sibling codes apart ------------------------------------------------------------------


def test_a_title_is_read_into_its_condition_side_and_encounter():
    axes = read_axes("Sprain of anterior cruciate ligament of right knee, initial encounter")

    assert axes.base == "sprain of anterior cruciate ligament of knee"
    assert (axes.laterality, axes.encounter, axes.complication) == ("right", "initial encounter", "")


def test_unspecified_is_a_side_only_where_the_family_has_sides():
    title = "Sprain of anterior cruciate ligament of unspecified knee, sequela"

    assert read_axes(title, sides_in_family=True).laterality == "unspecified"
    assert read_axes(title, sides_in_family=False).laterality == ""


def test_with_and_without_are_one_axis():
    without = read_axes("Gastro-esophageal reflux disease without esophagitis")
    with_ = read_axes("Gastro-esophageal reflux disease with esophagitis")

    assert without.base == with_.base
    assert (without.complication, with_.complication) == ("without", "with")


def test_a_title_that_contradicts_the_question_ranks_below_one_that_meets_it():
    wanted = Refinement(laterality="left", encounter="subsequent")

    assert fit("Sprain of ACL of left knee, subsequent encounter", wanted) == 4
    assert fit("Sprain of ACL of right knee, subsequent encounter", wanted) == -1
    assert fit("Sprain of ACL of knee", wanted) == 0


def test_without_in_the_question_prefers_the_title_that_says_without():
    wanted = Refinement(with_phrases=(("without", "esophagitis"),))

    assert fit("Gastro-esophageal reflux disease without esophagitis", wanted) > 0
    assert fit("Gastro-esophageal reflux disease with esophagitis, without bleeding", wanted) < 0


def test_word_overlap_compares_stems_and_ignores_axis_words():
    assert (
        word_overlap("hypertension with chronic kidney disease", "Hypertensive chronic kidney disease") == 1.0
    )
    assert word_overlap("torn ACL of the right knee, first visit", "Sprain of ACL of knee") == pytest.approx(
        2 / 3
    )


def _code(code: str, title: str) -> lookup_pb2.Code:
    return lookup_pb2.Code(system=lookup_pb2.CODE_SYSTEM_ICD10CM, code=code, title=title, billable=True)


def test_variants_of_the_best_code_are_grouped_by_the_axis_they_differ_on():
    family = [
        _code("S83.511A", "Sprain of anterior cruciate ligament of right knee, initial encounter"),
        _code("S83.511D", "Sprain of anterior cruciate ligament of right knee, subsequent encounter"),
        _code("S83.512A", "Sprain of anterior cruciate ligament of left knee, initial encounter"),
        _code("S83.519A", "Sprain of anterior cruciate ligament of unspecified knee, initial encounter"),
        _code("S83.521A", "Sprain of posterior cruciate ligament of right knee, initial encounter"),
    ]

    axes = axes_of_variants(family[0], family)

    assert {value: c.code for value, c in axes["laterality"].items()} == {
        "right": "S83.511A",
        "left": "S83.512A",
        "unspecified": "S83.519A",
    }
    assert {value: c.code for value, c in axes["encounter"].items()} == {
        "initial encounter": "S83.511A",
        "subsequent encounter": "S83.511D",
    }


# -- chunks -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [20, 160])
def test_chunks_join_back_to_the_answer_and_end_at_a_line_or_a_word(size):
    markdown = "### `E11.9` — Type 2 diabetes mellitus\n\n" + "word " * 200 + "\n- a line\n" + "x" * 400

    chunks = split_markdown(markdown, size)

    assert "".join(chunks) == markdown
    assert all(len(chunk) <= size for chunk in chunks)
    assert all(chunk.endswith((" ", "\n")) for chunk in chunks[:-1] if "x" * size not in chunk)


# -- conversations ----------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_conversation_is_kept_until_it_is_idle_too_long():
    clock = Clock()
    store = ConversationStore(idle_seconds=60, clock=clock)
    conversation = store.open()
    conversation.record("What is E11.9?", "code_meaning", [("icd10cm", "E11.9")], "")
    store.save(conversation)

    clock.now += 59
    assert store.open(conversation.id).subject == [("icd10cm", "E11.9")]
    clock.now += 61
    assert store.open(conversation.id).id != conversation.id
    assert len(store) == 0


def test_the_least_recently_used_conversations_go_past_the_bound():
    store = ConversationStore(max_conversations=2, clock=Clock())
    first, second, third = (store.open() for _ in range(3))
    for conversation in (first, second):
        store.save(conversation)
    store.save(first)  # used again: second is now the oldest
    store.save(third)

    assert len(store) == 2
    assert store.open(first.id) is first
    assert store.open(second.id) is not second


def test_a_turn_without_codes_keeps_the_subject_of_the_conversation():
    conversation = ConversationStore(clock=Clock()).open()
    conversation.record("What is E11.9?", "code_meaning", [("icd10cm", "E11.9")], "")
    conversation.record("What does Excludes1 mean?", "convention", [], "")

    assert conversation.subject == [("icd10cm", "E11.9")]
    assert [turn.intent for turn in conversation.turns] == ["code_meaning", "convention"]


@pytest.mark.parametrize("conversation_id", ["has spaces", "x" * 65, "semi;colon"])
def test_a_conversation_id_the_service_cannot_have_given_is_refused(conversation_id):
    with pytest.raises(InvalidQuestion) as refused:
        ConversationStore().open(conversation_id)

    assert refused.value.reason == "INVALID_CONVERSATION_ID"


# -- the modifier and convention tables ------------------------------------------------------------------


def test_the_modifier_table_has_the_anatomic_and_x_families():
    table = load_modifiers()

    assert {"LT", "RT", "FA", "F9", "TA", "T9", "E1", "E4", "LC", "LD", "RC"} <= set(table)
    assert {m.code for m in table.values() if m.cpt_related == "59"} == {"XE", "XS", "XP", "XU"}
    assert all(re.fullmatch(r"[A-Z0-9]{2}", code) for code in table)


@pytest.mark.parametrize(
    ("question", "modifier"),
    [
        ("which modifier for the left hand thumb", "FA"),
        ("modifier for the right great toe", "T5"),
        ("left anterior descending coronary artery", "LD"),
        ("upper right eyelid", "E3"),
    ],
)
def test_a_modifier_is_found_by_what_it_means(question, modifier):
    assert modifiers_described(load_modifiers(), question)[0].code == modifier


def test_two_digit_modifiers_are_named_as_cpt_and_ours_by_their_code():
    assert modifiers_named(load_modifiers(), ("XS", "59", "ZZ")) == ["XS", "59"]


@pytest.mark.parametrize(
    ("question", "key"),
    [
        ("what does excludes1 mean?", "excludes1"),
        ("what is an excludes 2 note", "excludes2"),
        ("what does nec mean?", "nec"),
        ("what does nos stand for?", "nos"),
        ("what is the 7th character for?", "seventh_character"),
        ("why is there an x in s06.0x0a?", "placeholder"),
        ("what does 'code first' mean?", "code_first"),
        ("what does use additional code mean?", "use_additional_code"),
        ("what does 'code also' mean?", "code_also"),
        ("what does the word 'and' mean in a code title?", "and"),
        ("what does 'with' mean in icd-10-cm?", "with"),
        ("what are inclusion terms?", "inclusion_terms"),
    ],
)
def test_each_convention_is_found_by_the_way_coders_ask_for_it(question, key):
    assert key in [c.key for c in conventions_asked(load_conventions(), question)]


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("what is the root operation excision?", "excision"),
        ("define the root operation resection", "resection"),
        ("what does the drainage root operation mean", "drainage"),
        ("what is a root operation?", ""),
    ],
)
def test_the_root_operation_named_is_read_from_either_side(question, name):
    assert root_operation_name(question) == name


# -- settings -----------------------------------------------------------------------------------------------


def test_without_a_model_url_the_engine_answers_alone():
    assert AssistantSettings.from_env({}).llm_url == ""


def test_a_model_url_needs_a_model_name_and_an_http_scheme():
    with pytest.raises(SettingsError, match="MEDCODE_LLM_MODEL"):
        AssistantSettings.from_env({"MEDCODE_LLM_URL": "http://127.0.0.1:8000/v1"})
    with pytest.raises(SettingsError, match="not an http"):
        AssistantSettings.from_env({"MEDCODE_LLM_URL": "ftp://x/v1", "MEDCODE_LLM_MODEL": "m"})
    with pytest.raises(SettingsError, match="above 0"):
        AssistantSettings.from_env({"MEDCODE_LLM_TIMEOUT_SECONDS": "0"})

    ready = AssistantSettings.from_env(
        {"MEDCODE_LLM_URL": "http://127.0.0.1:8000/v1/", "MEDCODE_LLM_MODEL": "m", "MEDCODE_LLM_API_KEY": "k"}
    )
    assert (ready.llm_url, ready.llm_model, ready.llm_api_key) == ("http://127.0.0.1:8000/v1", "m", "k")


def test_titles_that_add_fewer_words_of_their_own_are_nearer_the_description():
    assert extra_words("COVID-19", "COVID-19") == 0
    assert extra_words("COVID-19", "Post COVID-19 condition, unspecified") == 2
    assert (
        extra_words("stage 4 pressure ulcer of sacral region", "Pressure ulcer of sacral region, stage 4")
        == 0
    )


def _pcs(code: str, title: str) -> lookup_pb2.Code:
    return lookup_pb2.Code(system=lookup_pb2.CODE_SYSTEM_ICD10PCS, code=code, title=title, billable=True)


def test_pcs_variants_differ_by_approach_device_and_qualifier_named_from_their_titles():
    family = [
        _pcs("0DTJ0ZZ", "Resection of Appendix, Open Approach"),
        _pcs("0DTJ4ZZ", "Resection of Appendix, Percutaneous Endoscopic Approach"),
        _pcs("0DTJ4ZG", "Resection of Appendix, Percutaneous Endoscopic Approach, Hand-Assisted"),
    ]

    axes = axes_of_variants(family[1], family)

    assert {value: c.code for value, c in axes["approach"].items()} == {
        "Open Approach": "0DTJ0ZZ",
        "Percutaneous Endoscopic Approach": "0DTJ4ZZ",
    }
    assert {value: c.code for value, c in axes["qualifier"].items()} == {
        "none (Z)": "0DTJ4ZZ",
        "Hand-Assisted": "0DTJ4ZG",
    }
