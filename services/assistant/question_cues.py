"""The words of a question that tell what it asks: systems named, verbs, positions, refinements.

Pure text work, no catalog: `intents.py` combines these cues with the codes the catalog confirms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Systems as people name them, longest first so that "ICD-10-PCS" is not read as "ICD-10".
_SYSTEM_NAMES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"\bicd[\s-]?10[\s-]?pcs\b"), ("icd10pcs",)),
    (re.compile(r"\bicd[\s-]?10[\s-]?cm\b"), ("icd10cm",)),
    (re.compile(r"\bicd[\s-]?9[\s-]?cm\s+(?:procedures?|vol(?:ume)?\.?\s*3)\b"), ("icd9pcs",)),
    (re.compile(r"\bicd[\s-]?9[\s-]?(?:procedures?|proc|pcs)\b"), ("icd9pcs",)),
    (re.compile(r"\bicd[\s-]?9(?:[\s-]?cm)?\b"), ("icd9cm", "icd9pcs")),
    (re.compile(r"\bicd[\s-]?10\b"), ("icd10cm", "icd10pcs")),
    (re.compile(r"\bpcs\b"), ("icd10pcs",)),
    (re.compile(r"\bcpt\b"), ("cpt",)),
    (re.compile(r"\bhcpcs\b"), ("hcpcs",)),
)

MAPPING_WORDS = re.compile(
    r"\b(crosswalks?|map|maps|mapped|mapping|gems?|convert|converts|conversion|equivalents?|"
    r"corresponds?|corresponding|translates?|backward|forward)\b"
)
PAIR_WORDS = re.compile(
    r"\b(together|both|same claim|same time|same encounter|combined?|alongside|along with|bundled?|"
    r"ncci|ptp|report(?:ed)? (?:\S+ )?with|code(?:d)? (?:\S+ )?with|bill(?:ed)? (?:\S+ )?with|"
    r"allowed with|compatible|go with|use (?:\S+ )?(?:and|with))\b"
)
SEQUENCING_WORDS = re.compile(
    r"\b(first|sequenc\w*|order|before|after|primary|principal|additional|code first|another codes?|"
    r"other codes?|second code|goes first|comes first|listed first)\b"
)
GUIDELINE_WORDS = re.compile(r"\bguidelines?\b")
ROOT_OPERATION = re.compile(r"\broot operations?\b")
GUIDELINE_ID = re.compile(r"\b([A-F]\d{1,2}(?:\.\d{1,2}[a-z]?)?)\b")
MODIFIER_WORDS = re.compile(r"\bmodifiers?\b")
MODIFIER_TOKEN = re.compile(r"(?<![\w-])([A-Z][A-Z0-9]|[0-9][A-Z]|\d{2})(?![\w-])")
CODING_WORDS = re.compile(
    r"\b(codes?|coding|coded|icd|icd-?10|icd-?9|pcs|cm|diagnos[ie]s|dx|procedure|billing|classif\w*)\b"
)
BILLABLE_WORDS = re.compile(r"\b(billable|reportable|valid|header|bill|claim)\b")
NOTES_WORDS = re.compile(r"\b(notes?|excludes?\d?|includes?|instructions?)\b")
# Questions the catalog cannot ground whatever the codes: payment, providers, the world.
OUT_OF_SCOPE = re.compile(
    r"\b(pay|pays|paid|payment|reimburse\w*|fee|fees|price|prices|cost|costs|rvus?|"
    r"insurance|insurer|deductible|copay\w*)\b"
)

ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
    "fifth": 5, "5th": 5, "sixth": 6, "6th": 6, "seventh": 7, "7th": 7,
}  # fmt: skip
_POSITION = re.compile(
    r"\b(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|sixth|6th|seventh|7th)\s+"
    r"(?:character|char|position|digit|place|axis|value)\b"
    r"|\b(?:character|char|position|digit)\s+(?:number\s+)?([1-7])\b"
)
PCS_AXES = (
    "root operation",
    "body system",
    "body part",
    "body region",
    "approach",
    "device",
    "qualifier",
    "section",
    "modality",
    "type",
    "method",
    "function",
    "contrast",
    "equipment",
)
_AXIS = re.compile(r"\b(" + "|".join(PCS_AXES) + r")\b")
_CHARACTER_WORD = re.compile(r"\b(character|char|characters|axis|axes|position|digit)\b")

LATERALITY = {"right": "right", "left": "left", "bilateral": "bilateral", "both sides": "bilateral"}
ENCOUNTERS = (
    (re.compile(r"\b(initial|first)\s+(encounter|visit|treatment|time|presentation)\b|\binitial\b"), "initial"),
    (re.compile(r"\b(subsequent|follow[\s-]?up|second|later|routine)\s+(encounter|visit|care|treatment)\b"
                r"|\bsubsequent\b"), "subsequent"),
    (re.compile(r"\bsequelae?\b|\blate effects?\b"), "sequela"),
)  # fmt: skip
FOLLOW_UP_OPENERS = re.compile(
    r"^(and|but|or|also|now|then|ok|okay|what about|how about|same|so|plus|with|without|for|in)\b"
)
PRONOUNS = re.compile(r"\b(it|its|it's|this|that|these|those|them|this code|that code|same code)\b")
_WITH = re.compile(r"\b(with(?:out)?)\s+([^,?.;]+)")


@dataclass(frozen=True)
class Refinement:
    """What a follow-up changes in the description asked about before."""

    laterality: str = ""
    encounter: str = ""
    with_phrases: tuple[tuple[str, str], ...] = ()  # ("with"|"without", words)

    def __bool__(self) -> bool:
        return bool(self.laterality or self.encounter or self.with_phrases)


@dataclass(frozen=True)
class Cues:
    text: str  # lower case, spaces collapsed
    named_systems: tuple[str, ...]  # in order of first mention
    named_at: tuple[tuple[int, str], ...]  # (position in text, system) for each mention
    mapping: bool
    pair: bool
    sequencing: bool
    guideline: bool
    guideline_ids: tuple[str, ...]
    root_operation: bool
    position: int | None
    axis: str
    character_word: bool
    modifier: bool
    modifier_tokens: tuple[str, ...]
    coding: bool
    billable: bool
    notes: bool
    out_of_scope: str
    follow_up: bool
    refinement: Refinement


def read_cues(question: str) -> Cues:
    text = " ".join(question.lower().split())
    named_at: list[tuple[int, str]] = []
    masked = text
    for pattern, systems in _SYSTEM_NAMES:
        for match in pattern.finditer(masked):
            named_at.extend((match.start(), system) for system in systems)
        # Blank out what matched (same length) so that "ICD-10" is not found again inside "ICD-10-PCS".
        masked = pattern.sub(lambda m: " " * len(m.group(0)), masked)
    named_at.sort()
    named = list(dict.fromkeys(system for _, system in named_at))
    position = None
    match = _POSITION.search(text)
    if match:
        position = ORDINALS[match.group(1)] if match.group(1) else int(match.group(2))
    axis_match = _AXIS.search(text)
    out_of_scope = OUT_OF_SCOPE.search(text)
    return Cues(
        text=text,
        named_systems=tuple(named),
        named_at=tuple(named_at),
        mapping=bool(MAPPING_WORDS.search(text)),
        pair=bool(PAIR_WORDS.search(text)),
        sequencing=bool(SEQUENCING_WORDS.search(text)),
        guideline=bool(GUIDELINE_WORDS.search(text)),
        guideline_ids=tuple(GUIDELINE_ID.findall(question)),
        root_operation=bool(ROOT_OPERATION.search(text)),
        position=position,
        axis=axis_match.group(1) if axis_match else "",
        character_word=bool(_CHARACTER_WORD.search(text)),
        modifier=bool(MODIFIER_WORDS.search(text)),
        modifier_tokens=tuple(dict.fromkeys(MODIFIER_TOKEN.findall(question))),
        coding=bool(CODING_WORDS.search(text)),
        billable=bool(BILLABLE_WORDS.search(text)),
        notes=bool(NOTES_WORDS.search(text)),
        out_of_scope=out_of_scope.group(1) if out_of_scope else "",
        follow_up=bool(FOLLOW_UP_OPENERS.search(text) or PRONOUNS.search(text)),
        refinement=read_refinement(text),
    )


def read_refinement(text: str) -> Refinement:
    laterality = next((value for word, value in LATERALITY.items() if re.search(rf"\b{word}\b", text)), "")
    encounter = next((value for pattern, value in ENCOUNTERS if pattern.search(text)), "")
    phrases = tuple(
        (kind, words.strip())
        for kind, words in _WITH.findall(text)
        if words.strip() and not words.strip().startswith(("it", "this", "that", "the same"))
    )
    return Refinement(laterality, encounter, phrases)
