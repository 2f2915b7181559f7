"""What a question asks, from its cues, the codes the catalog confirmed and the conversation so far."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from medcode.lookup.v1 import lookup_pb2

from services.assistant.catalog_client import system_of
from services.assistant.code_mentions import CodeMention
from services.assistant.compose_guidance import Convention, conventions_asked, root_operation_name
from services.assistant.modifiers import Modifier, modifiers_described, modifiers_named
from services.assistant.question_cues import Cues, Refinement, read_refinement

COUNTERPART = {"icd9cm": "icd10cm", "icd10cm": "icd9cm", "icd9pcs": "icd10pcs", "icd10pcs": "icd9pcs"}
DEFINITIONAL = re.compile(
    r"\b(mean|means|meaning|stand for|stands for|why|explain|what is an?|what are|difference|definition|define)\b"
)
_AFTER_CODE_FILLER = {
    "is", "are", "do", "does", "should", "would", "can", "could", "i", "we", "you", "to", "be", "used",
    "use", "fit", "fits", "describe", "describes", "for", "of", "that", "which", "match", "matches",
    "best", "the", "a", "an", "code", "codes", "assign", "report", "when", "there", "exist", "exists",
    "correct", "right", "proper", "appropriate", "with",
}  # fmt: skip
_LEADING_QUESTION = re.compile(
    r"^(what('s| is| are)?|which( is| are)?|how (do|should|would) (i|we|you) (code|report)|"
    r"find|give me|tell me|i need|looking for|search( for)?)\b\s*",
    re.IGNORECASE,
)
_SYSTEM_WORDS = re.compile(
    r"\b(icd[\s-]?10[\s-]?(cm|pcs)?|icd[\s-]?9[\s-]?(cm)?|pcs|cpt|hcpcs|diagnosis|diagnostic code|dx)\b",
    re.IGNORECASE,
)
_LATERAL = re.compile(r"\b(right|left|bilateral)\b", re.IGNORECASE)
_ENCOUNTER_TEXT = re.compile(
    r",?\s*\b((initial|first|subsequent|follow[\s-]?up|second|later)\s+(encounter|visit|treatment|care)"
    r"(\s+for\s+[a-z ]+fracture)?|sequela|initial|subsequent)\b",
    re.IGNORECASE,
)
_WITH_CLAUSE = re.compile(r"\s*\b(with|without)\b[^,]*", re.IGNORECASE)


@dataclass
class Reading:
    """The question as the engine understood it."""

    intent: str
    codes: list[lookup_pb2.Code] = field(default_factory=list)
    description: str = ""
    systems: list[str] = field(default_factory=list)
    target_system: str | None = None
    refinement: Refinement = field(default_factory=Refinement)
    position: int | None = None
    axis: str = ""
    typed_value: str = ""
    conventions: list[Convention] = field(default_factory=list)
    modifiers_named: list[str] = field(default_factory=list)
    modifiers_described: list[Modifier] = field(default_factory=list)
    unresolved: list[CodeMention] = field(default_factory=list)
    unloaded_system: str = ""
    out_of_scope: str = ""
    strict: bool = False
    root_operation: str = ""
    guideline_ids: tuple[str, ...] = ()
    notes_only: bool = False


@dataclass
class Context:
    """What the question can lean on besides its own words."""

    subject: list[lookup_pb2.Code] = field(default_factory=list)  # the codes last answered about
    description: str = ""  # the description last searched
    from_context_code: bool = False  # the subject is the code the user is looking at


def classify(
    question: str,
    cues: Cues,
    codes: list[lookup_pb2.Code],
    unresolved: list[CodeMention],
    context: Context,
    conventions: list[Convention],
    modifiers: dict[str, Modifier],
    loaded_systems: set[str],
) -> Reading:
    text = cues.text
    if cues.out_of_scope:
        return Reading("cannot_ground", out_of_scope=cues.out_of_scope)
    # Without the word "modifier", only our table's two-letter modifiers count ("XE and XU?"), and
    # only in a question about no code: "96" in "more than 96 hours" is a number.
    named_modifiers = modifiers_named(modifiers, cues.modifier_tokens)
    if not cues.modifier:
        named_modifiers = [m for m in named_modifiers if m in modifiers]
    if cues.modifier or (named_modifiers and not codes and not unresolved and not cues.coding):
        return Reading(
            "modifier",
            modifiers_named=named_modifiers,
            modifiers_described=[] if named_modifiers else modifiers_described(modifiers, text),
        )
    asked_conventions = conventions_asked(conventions, text)
    subject = context.subject
    # Questions about "the fifth character", "billable?", "in ICD-9?" need a code: without one of
    # their own they are about the code of the conversation (or the one the user is looking at).
    needs_a_code = bool(
        cues.position or cues.character_word or cues.billable or cues.notes or cues.sequencing or cues.mapping
    )
    leans_on_subject = bool(subject) and (cues.follow_up or context.from_context_code or needs_a_code)
    if not codes and not unresolved and leans_on_subject:
        other_cue = (
            cues.mapping
            or _names_counterpart(cues, subject[0])
            or cues.position
            or cues.character_word
            or cues.sequencing
            or cues.billable
            or cues.notes
            or cues.pair
            or asked_conventions
        )
        if cues.refinement and not other_cue:
            base = context.description or subject[0].title
            return Reading(
                "find_code",
                description=refine(base, cues.refinement),
                systems=[system_of(subject[0])],
                refinement=_merged_refinement(base, cues.refinement),
            )
        codes = list(subject)
    elif codes and subject and (cues.pair or cues.sequencing) and len(codes) == 1:
        # "what goes first with Z99.2?" after a question about N18.6: the pair is the subject and the new code.
        if (" with " in f" {text} " or cues.follow_up) and subject[0].code != codes[0].code:
            codes = [subject[0], *codes]

    procedure_codes = [m for m in unresolved if set(m.systems) & {"cpt", "hcpcs"}]
    if not codes and len(procedure_codes) >= 2 and (cues.pair or cues.sequencing):
        # CPT/HCPCS pairs are what NCCI edits are about, with or without the codes' descriptors.
        return Reading("code_pair", unresolved=procedure_codes[:2])
    if not codes and unresolved:
        return Reading("cannot_ground", unresolved=unresolved)
    for system in cues.named_systems:
        if system in ("cpt", "hcpcs") and system not in loaded_systems and not codes:
            return Reading("cannot_ground", unloaded_system=system)

    pcs = next((c for c in codes if system_of(c) == "icd10pcs" and c.pcs_characters), None)
    if pcs is not None and (
        cues.position
        or cues.character_word
        or (cues.axis and not cues.root_operation)
        or (cues.axis == "root operation" and " in " in text)
    ):
        return Reading(
            "pcs_character",
            codes=[pcs],
            position=cues.position,
            axis=cues.axis,
            typed_value=_typed_value(question),
        )

    if cues.guideline or (cues.guideline_ids and cues.guideline and not codes):
        return Reading("guideline", guideline_ids=cues.guideline_ids)
    if cues.root_operation and pcs is None:
        return Reading("guideline", root_operation=root_operation_name(text))

    # The 7th character and the placeholder X are about a code's own characters: asked with a code,
    # they are answered for it whatever the phrasing.
    about_characters = any(c.key in ("seventh_character", "placeholder") for c in asked_conventions)
    if asked_conventions and (not codes or DEFINITIONAL.search(text) or about_characters):
        return Reading("convention", codes=codes[:1], conventions=asked_conventions)

    if codes:
        first = codes[0]
        target = _counterpart_named(cues, first)
        if cues.mapping or target:
            return Reading("crosswalk", codes=[first], target_system=target)
        if len(codes) >= 2:
            return Reading("sequencing" if cues.sequencing else "code_pair", codes=codes[:2])
        if cues.sequencing:
            return Reading("sequencing", codes=[first])
        return Reading("code_meaning", codes=[first], notes_only=cues.notes and not cues.billable)

    if "icd10pcs" in cues.named_systems and re.match(r"^how (is|are|do|does|should)\b", text):
        return Reading("guideline")
    description = description_of(question)
    # A description needs a word to search for: "What is 4?" or ".9" is not one.
    if not re.search(r"[^\W\d_]{3,}", description):
        return Reading("cannot_ground")
    systems = [s for s in cues.named_systems if s in loaded_systems] or ["icd10cm", "icd10pcs"]
    return Reading(
        "find_code",
        description=description,
        systems=systems,
        refinement=cues.refinement,
        strict=not cues.coding,
    )


def _names_counterpart(cues: Cues, code: lookup_pb2.Code) -> bool:
    return COUNTERPART.get(system_of(code), "") in cues.named_systems


def _counterpart_named(cues: Cues, code: lookup_pb2.Code) -> str | None:
    counterpart = COUNTERPART.get(system_of(code))
    return counterpart if counterpart and counterpart in cues.named_systems else None


def _typed_value(question: str) -> str:
    match = re.search(
        r"\b(?:character|char|approach|device|qualifier|value|operation|part)\s+([0-9A-Z])\b(?!\.)", question
    )
    return match.group(1) if match else ""


def description_of(question: str) -> str:
    """The description a "which code" question asks about, without the words around it."""
    text = " ".join(question.split()).strip().rstrip("?!.").strip()
    match = re.search(r"\bcodes?\b", text, re.IGNORECASE)
    if match:
        words = text[match.end() :].split()
        while words and words[0].lower().strip(",:") in _AFTER_CODE_FILLER:
            words.pop(0)
        text = " ".join(words) if words else text[: match.start()]
    else:
        text = _LEADING_QUESTION.sub("", text)
    text = _SYSTEM_WORDS.sub(" ", text)
    text = re.sub(r"^\s*(for|of|the|a|an)\s+", "", text.strip(), flags=re.IGNORECASE)
    return " ".join(text.split()).strip(" ,;:")


def refine(base: str, refinement: Refinement) -> str:
    """The earlier description changed as a follow-up says ("and the left?", "with hyperglycemia").
    Words in parentheses are nonessential modifiers in a title: they go, so that the search is not
    held to them ("Essential (primary) hypertension" + "with heart failure")."""
    text = re.sub(r"\s*\([^)]*\)", "", base)
    if refinement.with_phrases:
        text = _WITH_CLAUSE.sub("", text)
    if refinement.laterality:
        if _LATERAL.search(text):
            text = _LATERAL.sub(refinement.laterality, text)
        else:
            text = f"{text} {refinement.laterality}"
    if refinement.encounter:
        text = _ENCOUNTER_TEXT.sub("", text).rstrip(" ,")
        text = f"{text}, {'sequela' if refinement.encounter == 'sequela' else refinement.encounter + ' encounter'}"
    for kind, words in refinement.with_phrases:
        text = f"{text} {kind} {words}"
    return " ".join(text.split())


def _merged_refinement(base: str, refinement: Refinement) -> Refinement:
    """What the refined description specifies: the follow-up's axes over the earlier description's."""
    earlier = read_refinement(base.lower())
    return Refinement(
        laterality=refinement.laterality or earlier.laterality,
        encounter=refinement.encounter or earlier.encounter,
        with_phrases=refinement.with_phrases or earlier.with_phrases,
    )
