"""What tells sibling codes apart, read from their titles: laterality, encounter, with/without.

ICD-10-CM spells these axes the same way in every chapter ("of right knee", ", initial encounter",
"with esophagitis" / "without esophagitis"), so two titles that differ only there are variants of
one condition, and the differences are what a coder must document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.assistant.question_cues import Refinement

_LATERALITY = re.compile(r"\b(right|left|bilateral)\b", re.IGNORECASE)
_UNSPECIFIED_SIDE = re.compile(r"\bunspecified\b", re.IGNORECASE)
_ENCOUNTER = re.compile(r",\s*((?:initial|subsequent) encounter.*|sequela)$", re.IGNORECASE)
_WITHOUT = re.compile(r"\bwithout\b", re.IGNORECASE)
_STOP = {
    "a",
    "an",
    "the",
    "of",
    "and",
    "or",
    "to",
    "in",
    "on",
    "for",
    "by",
    "any",
    "other",
    "due",
    "from",
    "at",
    "as",
    "into",
}

AXIS_NAMES = {
    "laterality": "Laterality",
    "encounter": "Encounter (7th character)",
    "complication": "With or without",
    "approach": "Approach (5th character)",
    "device": "Device (6th character)",
    "qualifier": "Qualifier (7th character)",
}


@dataclass(frozen=True)
class TitleAxes:
    base: str  # the title without its axis words, lower case
    laterality: str  # right, left, bilateral, unspecified or ""
    encounter: str  # "initial encounter ...", "subsequent encounter ...", "sequela" or ""
    complication: str  # "with", "without" or ""


def read_axes(title: str, sides_in_family: bool = True) -> TitleAxes:
    text = title.strip()
    encounter = ""
    match = _ENCOUNTER.search(text)
    if match:
        encounter = match.group(1)
        text = text[: match.start()]
    laterality = ""
    side = _LATERALITY.search(text)
    if side:
        laterality = side.group(1).lower()
        text = _LATERALITY.sub(" ", text)
    elif sides_in_family and _UNSPECIFIED_SIDE.search(text):
        laterality = "unspecified"
        text = _UNSPECIFIED_SIDE.sub(" ", text)
    complication = (
        "without" if _WITHOUT.search(text) else ("with" if re.search(r"\bwith\b", text, re.I) else "")
    )
    text = _WITHOUT.sub("with", text)
    base = " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())
    return TitleAxes(base, laterality, encounter, complication)


def encounter_kind(encounter: str) -> str:
    return encounter.split()[0].lower() if encounter else ""


def fit(title: str, wanted: Refinement) -> int:
    """How well a title matches what the question specifies: + for each axis met, - for each contradicted."""
    axes = read_axes(title)
    score = 0
    if wanted.laterality and axes.laterality:
        score += 2 if axes.laterality == wanted.laterality else -3
    if wanted.encounter and axes.encounter:
        score += 2 if encounter_kind(axes.encounter) == wanted.encounter else -3
    lowered = title.lower()
    for kind, words in wanted.with_phrases:
        head = next((w for w in re.findall(r"[a-z0-9]+", words) if w not in _STOP), "")
        if not head:
            continue
        stem = re.escape(head[:6])
        without = re.search(rf"\bwithout\b[^,]*\b{stem}", lowered)
        with_ = re.search(rf"\bwith\b[^,]*\b{stem}", lowered)
        if kind == "without":
            score += 2 if without else (-3 if with_ else 0)
        else:
            score += 2 if with_ else (-3 if without else 0)
    return score


# Words that say which variant, not what condition: the axes above judge them, not the overlap.
_AXIS_WORDS = {
    "with", "without", "right", "left", "bilateral", "initial", "subsequent", "sequela", "encounter",
    "first", "visit", "second", "follow", "up",
}  # fmt: skip


def content_words(text: str) -> list[str]:
    """The words that carry meaning; a lone digit does ("type 2", "stage 4"), a lone letter does not."""
    return [
        w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP and (len(w) > 1 or w.isdigit())
    ]


_DEFAULT_WORDS = {"unspecified", "uncomplicated", "without", "not", "complication", "complications"}


def extra_words(description: str, title: str) -> int:
    """How many meaningful words a title adds to the description (the default-form words aside)."""
    asked = {w[:5] for w in content_words(description)}
    return sum(
        1
        for w in content_words(title)
        if w[:5] not in asked and w not in _AXIS_WORDS and w not in _DEFAULT_WORDS
    )


def word_overlap(query: str, title: str) -> float:
    """The share of the query's content words (axis words aside) found in the title, compared by
    their first five letters ("hypertension" meets "hypertensive")."""
    words = [w for w in content_words(query) if w not in _AXIS_WORDS]
    if not words:
        return 0.0
    stems = {w[:5] for w in content_words(title)}
    return sum(1 for w in words if w[:5] in stems) / len(words)
