"""Lay descriptions: plain words for official titles, with the medical meaning kept."""

from __future__ import annotations

import pytest

from services.lookup.lay import describe, describe_with, rules_for
from services.lookup.lexicon import parse_lexicon


@pytest.mark.parametrize(
    ("title", "system", "plain"),
    [
        ("Type 2 diabetes mellitus with hyperglycemia", "icd10cm", "Type 2 diabetes with high blood sugar"),
        ("Type 1 diabetes mellitus with hypoglycemia", "icd10cm", "Type 1 diabetes with low blood sugar"),
        ("Acute myocardial infarction", "icd10cm", "Heart attack"),
        ("Old myocardial infarction", "icd10cm", "Old heart attack"),
        ("Essential (primary) hypertension", "icd10cm", "High blood pressure with no known other cause"),
        (
            "Pulmonary hypertension, unspecified",
            "icd10cm",
            "High blood pressure in the arteries of the lungs, unspecified",
        ),
        ("Calculus of kidney", "icd10cm", "Kidney stone"),
        ("Acute pharyngitis, unspecified", "icd10cm", "Sore throat, unspecified"),
        (
            "Chronic kidney disease, stage 3 unspecified",
            "icd10cm",
            "Long-term kidney disease, stage 3 unspecified",
        ),
        (
            "Unspecified fracture of right femur, initial encounter for closed fracture",
            "icd10cm",
            "Unspecified break of right thigh bone, first visit for treatment of a closed break (skin not broken)",
        ),
        (
            "Displaced fracture of lateral malleolus of left fibula, subsequent encounter for closed fracture with routine healing",
            "icd10cm",
            "Out-of-place break of outer ankle bone of left calf bone, follow-up visit for a closed break"
            " (skin not broken) healing normally",
        ),
        (
            "Strain of muscle of left hip, sequela",
            "icd10cm",
            "Strain (overstretched muscle or tendon) of muscle of left hip, late effect",
        ),
        (
            "Bilateral primary osteoarthritis of knee",
            "icd10cm",
            "Bilateral (both sides) primary wear-and-tear arthritis of knee",
        ),
        (
            "Secondary malignant neoplasm of liver and intrahepatic bile duct",
            "icd10cm",
            "Cancer that has spread to liver and intrahepatic bile duct",
        ),
        (
            "Acute pericarditis, unspecified",
            "icd10cm",
            "Acute inflammation of the sac around the heart (pericarditis), unspecified",
        ),
        (
            "Interstitial cystitis (chronic) without hematuria",
            "icd10cm",
            "Interstitial inflammation of the bladder (cystitis) (long-term) without blood in the urine",
        ),
        (
            "Detachment at Left 5th Toe, Complete, Open Approach",
            "icd10pcs",
            "Amputation at left 5th toe, complete, through an open incision",
        ),
        (
            "Resection of Gallbladder, Percutaneous Endoscopic Approach",
            "icd10pcs",
            "Surgical removal of all of gallbladder, through small cuts using a scope",
        ),
        (
            "Excision of Liver, Percutaneous Approach, Diagnostic",
            "icd10pcs",
            "Surgical removal of part of liver, through the skin with a needle or small puncture,"
            " to take a sample for diagnosis",
        ),
        (
            "Replacement of Right Hip Joint with Synthetic Substitute, Open Approach",
            "icd10pcs",
            "Replacing right hip joint with man-made material, through an open incision",
        ),
        (
            "Inspection of Upper Intestinal Tract, Via Natural or Artificial Opening Endoscopic",
            "icd10pcs",
            "Looking at upper intestinal tract, through a body opening using a scope",
        ),
    ],
)
def test_titles_in_plain_words(title, system, plain):
    assert describe(title, system) == plain


@pytest.mark.parametrize(
    ("title", "system"),
    [
        ("Cholera, unspecified", "icd10cm"),
        ("Carrier of Enterobacterales, unspecified", "icd10cm"),
        ("", "icd10cm"),
    ],
)
def test_a_title_with_nothing_to_translate_is_returned_as_it_is(title, system):
    assert describe(title, system) == title


def test_pcs_root_operations_are_explained_only_at_the_start_of_a_title():
    rules = rules_for(
        "icd10pcs",
        parse_lexicon("say\t^Change\tExchanging\ticd10pcs\nsay\tDrainage Device\tdrain\ticd10pcs\n"),
    )
    assert (
        describe_with("Change Drainage Device in Stomach", "icd10pcs", rules) == "Exchanging drain in stomach"
    )
    assert describe_with("Monitoring of Change", "icd10pcs", rules) == ""


def test_pcs_rules_do_not_apply_to_diagnosis_titles():
    assert describe("Resection of Appendix", "icd10cm") == "Resection of Appendix"


def test_the_longest_medical_phrase_wins():
    lexicon = parse_lexicon("say\tfracture\tbreak\nsay\topen fracture\topen break (bone through the skin)\n")
    rules = rules_for("icd10cm", lexicon)
    assert (
        describe_with("open fracture of rib", "icd10cm", rules) == "open break (bone through the skin) of rib"
    )
    assert describe_with("fractures of rib", "icd10cm", rules) == ""  # whole words only


def test_descriptions_are_deterministic():
    title = "Displaced transverse fracture of shaft of left radius, initial encounter for open fracture type I or II"
    assert len({describe(title, "icd10cm") for _ in range(3)}) == 1
