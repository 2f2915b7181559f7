"""How the assistant reads a question: code shapes, cues, descriptions, follow-ups and the intent."""

from __future__ import annotations

import pytest
from medcode.lookup.v1 import lookup_pb2

from services.assistant.code_mentions import codes_in_markdown, find_code_mentions
from services.assistant.compose_guidance import load_conventions
from services.assistant.intents import Context, classify, description_of, refine
from services.assistant.modifiers import load_modifiers
from services.assistant.question_cues import Refinement, read_cues

CONVENTIONS = load_conventions()
MODIFIERS = load_modifiers()
LOADED = {"icd10cm", "icd10pcs", "icd9cm", "icd9pcs"}


def code(system: str, text: str, title: str = "", *, pcs: bool = False) -> lookup_pb2.Code:
    message = lookup_pb2.Code(
        system=lookup_pb2.CodeSystem.Value(f"CODE_SYSTEM_{system.upper()}"),
        code=text,
        title=title,
        billable=True,
    )
    if pcs:
        message.pcs_characters.add(position=3, axis="Root Operation", value="T", meaning="Resection")
    return message


def read(question: str, codes=(), unresolved=(), context: Context | None = None):
    cues = read_cues(question)
    return classify(
        question, cues, list(codes), list(unresolved), context or Context(), CONVENTIONS, MODIFIERS, LOADED
    )


# -- code shapes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is E11.9?", [("E11.9", ("icd10cm",))]),
        ("e119", [("E119", ("icd10cm", "icd9cm"))]),
        ("Why is there an X in S06.0X0A?", [("S06.0X0A", ("icd10cm",))]),
        ("Explain 0DTJ4ZZ", [("0DTJ4ZZ", ("icd10pcs",))]),
        ("What is 47.01?", [("47.01", ("icd9pcs",))]),
        ("ICD-9 250.00 to ICD-10", [("250.00", ("icd9cm",))]),
        ("ICD-9 V58.67", [("V58.67", ("icd10cm", "icd9cm"))]),
        ("What is 99213?", [("99213", ("cpt",))]),
        ("J1100", [("J1100", ("icd10cm", "hcpcs"))]),
    ],
)
def test_codes_are_found_with_the_systems_their_shape_fits(question, expected):
    assert [(m.text, m.systems) for m in find_code_mentions(question)] == expected


@pytest.mark.parametrize(
    "question",
    [
        "type 2 diabetes in ICD-10 and ICD-9",
        "pneumonia due to COVID-19",
        "Body mass index 40.0-44.9, adult",
        "ventilation for more than 96 hours",
        "What does the 7th character mean?",
        "What does guideline B3.4a say?",
    ],
)
def test_words_and_numbers_that_are_not_codes_are_left_alone(question):
    assert find_code_mentions(question) == []


def test_codes_in_an_answer_are_the_ones_in_backticks():
    assert codes_in_markdown("`E11.65` first, then `Z79.4`; `T` is a character; E10.9 is prose") == [
        "E11.65",
        "Z79.4",
    ]


# -- cues --------------------------------------------------------------------------------------------------


def test_systems_are_named_in_order_and_pcs_is_not_read_as_icd10_twice():
    cues = read_cues("ICD-9 procedure 47.01 in ICD-10-PCS?")

    assert cues.named_systems == ("icd9pcs", "icd10pcs")


@pytest.mark.parametrize(
    ("question", "position", "axis"),
    [
        ("What does the third character T mean in 0DTJ4ZZ?", 3, ""),
        ("What is the 5th character of 0FT44ZZ?", 5, ""),
        ("In 02703DZ, what is the device character?", None, "device"),
        ("what is character 7 of 0DB64ZX", 7, ""),
    ],
)
def test_the_pcs_character_asked_is_read_by_position_or_axis(question, position, axis):
    cues = read_cues(question)

    assert (cues.position, cues.axis) == (position, axis)


@pytest.mark.parametrize(
    ("question", "refinement"),
    [
        ("what about the left knee?", Refinement(laterality="left")),
        ("and for a subsequent encounter?", Refinement(encounter="subsequent")),
        ("torn ACL, right knee, first visit", Refinement(laterality="right", encounter="initial")),
        ("and with hyperglycemia?", Refinement(with_phrases=(("with", "hyperglycemia"),))),
    ],
)
def test_refinements_say_side_encounter_and_with_or_without(question, refinement):
    assert read_cues(question).refinement == refinement


# -- descriptions and follow-ups ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "description"),
    [
        (
            "What's the code for a torn ACL of the right knee, first visit?",
            "torn ACL of the right knee, first visit",
        ),
        (
            "What is the ICD-10 code for type 2 diabetes with hyperglycemia?",
            "type 2 diabetes with hyperglycemia",
        ),
        (
            "Which code describes morbid obesity due to excess calories?",
            "morbid obesity due to excess calories",
        ),
        ("What code is used for sepsis, unspecified organism?", "sepsis, unspecified organism"),
        ("Which code for an encounter for chemotherapy?", "encounter for chemotherapy"),
        ("PCS code for laparoscopic cholecystectomy", "laparoscopic cholecystectomy"),
        ("acute appendicitis", "acute appendicitis"),
    ],
)
def test_the_description_is_the_question_without_the_words_around_it(question, description):
    assert description_of(question) == description


@pytest.mark.parametrize(
    ("base", "refinement", "refined"),
    [
        (
            "Type 2 diabetes mellitus without complications",
            Refinement(with_phrases=(("with", "hyperglycemia"),)),
            "Type 2 diabetes mellitus with hyperglycemia",
        ),
        (
            "torn ACL of the right knee, first visit",
            Refinement(laterality="left"),
            "torn ACL of the left knee, first visit",
        ),
        (
            "Sprain of anterior cruciate ligament of right knee, initial encounter",
            Refinement(encounter="subsequent"),
            "Sprain of anterior cruciate ligament of right knee, subsequent encounter",
        ),
    ],
)
def test_a_follow_up_changes_only_what_it_names(base, refinement, refined):
    assert refine(base, refinement) == refined


# -- intents -----------------------------------------------------------------------------------------------

E119 = code("icd10cm", "E11.9", "Type 2 diabetes mellitus without complications")
E109 = code("icd10cm", "E10.9", "Type 1 diabetes mellitus without complications")
N186 = code("icd10cm", "N18.6", "End stage renal disease")
Z992 = code("icd10cm", "Z99.2", "Dependence on renal dialysis")
PCS = code("icd10pcs", "0DTJ4ZZ", "Resection of Appendix, Percutaneous Endoscopic Approach", pcs=True)
P4701 = code("icd9pcs", "47.01", "Laparoscopic appendectomy")


@pytest.mark.parametrize(
    ("question", "codes", "intent"),
    [
        ("What is E11.9?", [E119], "code_meaning"),
        ("Can I report E11.9 with E10.9?", [E119, E109], "code_pair"),
        ("Which goes first, N18.6 or Z99.2?", [N186, Z992], "sequencing"),
        ("What should be coded first with N18.6?", [N186], "sequencing"),
        ("ICD-9 procedure 47.01 in ICD-10-PCS?", [P4701], "crosswalk"),
        ("What does the third character T mean in 0DTJ4ZZ?", [PCS], "pcs_character"),
        ("Explain 0DTJ4ZZ", [PCS], "code_meaning"),
        ("What does Excludes2 mean?", [], "convention"),
        ("What does 'code first' mean?", [], "convention"),
        ("What is the root operation Excision?", [], "guideline"),
        ("What does guideline B6.1a say?", [], "guideline"),
        ("What is modifier XS?", [], "modifier"),
        ("Difference between XE and XU?", [], "modifier"),
        ("What is the code for acute appendicitis?", [], "find_code"),
        ("How much does Medicare pay for an MRI?", [], "cannot_ground"),
        ("What is the CPT code for an office visit?", [], "cannot_ground"),
    ],
)
def test_the_intent_follows_the_cues_and_the_codes(question, codes, intent):
    assert read(question, codes).intent == intent


def test_a_code_named_in_icd9_terms_is_its_meaning_not_a_crosswalk():
    assert read("What is ICD-9 code 250.00?", [code("icd9cm", "250.00")]).intent == "code_meaning"


def test_codes_that_exist_nowhere_cannot_be_grounded():
    mention = find_code_mentions("What is E11.99?")

    reading = read("What is E11.99?", [], mention)

    assert reading.intent == "cannot_ground"
    assert [m.text for m in reading.unresolved] == ["E11.99"]


def test_a_follow_up_without_a_code_is_about_the_code_of_the_conversation():
    context = Context(subject=[PCS])

    reading = read("what does the fifth character mean?", context=context)

    assert reading.intent == "pcs_character"
    assert reading.codes == [PCS] and reading.position == 5


def test_a_refining_follow_up_searches_the_earlier_title_changed():
    reading = read("and with hyperglycemia?", context=Context(subject=[E119]))

    assert reading.intent == "find_code"
    assert reading.description == "Type 2 diabetes mellitus with hyperglycemia"
    assert reading.systems == ["icd10cm"]


def test_a_pair_follow_up_puts_the_code_of_the_conversation_first():
    reading = read("what goes first with Z99.2?", [Z992], context=Context(subject=[N186]))

    assert reading.intent == "sequencing"
    assert [c.code for c in reading.codes] == ["N18.6", "Z99.2"]


def test_a_question_of_its_own_ignores_the_conversation():
    reading = read("What is the code for essential hypertension?", context=Context(subject=[E119]))

    assert reading.intent == "find_code"
    assert reading.description == "essential hypertension"


def test_a_bare_phrase_must_meet_the_stricter_grounding():
    assert read("acute appendicitis").strict is True
    assert read("code for acute appendicitis").strict is False
