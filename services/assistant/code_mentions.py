"""Which words of a question look like codes, and of which systems their shape can be."""

from __future__ import annotations

import re
from dataclasses import dataclass

# The order the engine prefers when a typed code exists in more than one system and the question
# names none: the current classifications first.
SYSTEM_PREFERENCE = ("icd10cm", "icd10pcs", "icd9cm", "icd9pcs", "hcpcs", "cpt")

SYSTEM_LABELS = {
    "icd10cm": "ICD-10-CM",
    "icd10pcs": "ICD-10-PCS",
    "icd9cm": "ICD-9-CM",
    "icd9pcs": "ICD-9-CM procedure",
    "cpt": "CPT",
    "hcpcs": "HCPCS Level II",
}

_SHAPES: dict[str, tuple[re.Pattern[str], ...]] = {
    "icd10cm": (
        re.compile(r"^[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$"),
        re.compile(r"^[A-Z]\d[0-9A-Z][0-9A-Z]{1,4}$"),
    ),
    # Seven characters of the 34 PCS values (digits and letters without I and O), at least one digit.
    "icd10pcs": (re.compile(r"^(?=.*\d)[0-9A-HJ-NP-Z]{7}$"),),
    "icd9cm": (
        re.compile(r"^\d{3}(\.\d{1,2})?$"),
        re.compile(r"^V\d{2}(\.\d{1,2})?$"),
        re.compile(r"^E\d{3}(\.\d)?$"),
    ),
    # Written with its dot: a bare two-digit number is far more often a number than a category.
    "icd9pcs": (re.compile(r"^\d{2}\.\d{1,2}$"),),
    "cpt": (re.compile(r"^\d{4}[0-9FTU]$"),),
    "hcpcs": (re.compile(r"^[A-V]\d{4}$"),),
}

_TOKEN = re.compile(r"(?<![\w.\-])[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)?(?![\w\-])")


@dataclass(frozen=True)
class CodeMention:
    """A word of the question that has the shape of a code."""

    text: str  # upper-cased, as typed otherwise
    start: int
    systems: tuple[str, ...]  # systems whose shape it fits, in SYSTEM_PREFERENCE order


def shape_systems(text: str) -> tuple[str, ...]:
    """The systems whose code shape `text` fits (upper case expected)."""
    return tuple(system for system in SYSTEM_PREFERENCE if any(p.match(text) for p in _SHAPES[system]))


def find_code_mentions(question: str) -> list[CodeMention]:
    """The words of `question` shaped like codes, in order, each once."""
    mentions: list[CodeMention] = []
    seen: set[str] = set()
    for match in _TOKEN.finditer(question):
        text = match.group(0).upper()
        if not any(ch.isdigit() for ch in text) or text in seen:
            continue
        systems = shape_systems(text)
        if systems:
            seen.add(text)
            mentions.append(CodeMention(text, match.start(), systems))
    return mentions


def code_key(code: str) -> str:
    """How the catalog matches codes: upper case without dots."""
    return code.strip().upper().replace(".", "")


CODE_IN_MARKDOWN = re.compile(r"`([A-Z0-9][A-Z0-9.]{1,9})`")


def codes_in_markdown(markdown: str) -> list[str]:
    """The codes an answer shows in backticks (how every answer writes a code it cites)."""
    return [code for code in CODE_IN_MARKDOWN.findall(markdown) if shape_systems(code)]
