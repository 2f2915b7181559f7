"""Answers about one code: what it means (title, kind, billable, notes) and its PCS characters."""

from __future__ import annotations

from medcode.lookup.v1 import lookup_pb2

from services.assistant.answers import Answer, AnswerWriter, billable_words, label, quote
from services.assistant.catalog_client import system_of

KIND_WORDS = {
    lookup_pb2.CODE_KIND_CHAPTER: "chapter",
    lookup_pb2.CODE_KIND_BLOCK: "block of categories",
    lookup_pb2.CODE_KIND_CATEGORY: "category",
    lookup_pb2.CODE_KIND_SUBCATEGORY: "subcategory",
    lookup_pb2.CODE_KIND_CODE: "code",
    lookup_pb2.CODE_KIND_TABLE: "PCS table",
}
NOTE_HEADINGS = (
    (lookup_pb2.NOTE_KIND_INCLUDES, "Includes"),
    (lookup_pb2.NOTE_KIND_INCLUSION_TERM, "Inclusion terms"),
    (lookup_pb2.NOTE_KIND_EXCLUDES1, "Excludes1"),
    (lookup_pb2.NOTE_KIND_EXCLUDES2, "Excludes2"),
    (lookup_pb2.NOTE_KIND_CODE_FIRST, "Code first"),
    (lookup_pb2.NOTE_KIND_USE_ADDITIONAL_CODE, "Use additional code"),
    (lookup_pb2.NOTE_KIND_CODE_ALSO, "Code also"),
    (lookup_pb2.NOTE_KIND_SEVENTH_CHARACTER, "7th character"),
    (lookup_pb2.NOTE_KIND_NOTE, "Note"),
)
NOTES_PER_KIND = 8
CHILDREN_SHOWN = 15


def heading(writer: AnswerWriter, code: lookup_pb2.Code) -> None:
    writer.line(f"### {writer.cite(code)} — {code.title}")
    facts = [label(system_of(code)), KIND_WORDS.get(code.kind, "item"), f"**{billable_words(code)}**"]
    if code.release:
        facts.append(code.release)
    writer.line(" · ".join(facts))


def notes_section(
    writer: AnswerWriter, code: lookup_pb2.Code, kinds: set[int] | None = None, per_kind: int = NOTES_PER_KIND
) -> int:
    """The notes that apply to the code, own and inherited, grouped by kind; returns how many."""
    shown = 0
    for kind, title in NOTE_HEADINGS:
        if kinds is not None and kind not in kinds:
            continue
        notes = [n for n in (*code.notes, *code.inherited_notes) if n.kind == kind]
        if not notes:
            continue
        writer.line()
        writer.line(f"**{title}**")
        for note in notes[:per_kind]:
            where = f" (from {note.source})" if note.source else ""
            writer.line(f"- {quote(note.text, 300)}{where}")
        if len(notes) > per_kind:
            writer.line(f"- … and {len(notes) - per_kind} more {title} notes")
        shown += len(notes)
    return shown


def code_meaning(code: lookup_pb2.Code, *, notes_only: bool = False) -> Answer:
    writer = AnswerWriter("code_meaning")
    writer.about(code)
    heading(writer, code)
    if code.lay_description and code.lay_description.lower() != code.title.lower():
        writer.line(f"In plain words: {code.lay_description}.")
    path = [a for a in code.ancestors if a.kind not in (lookup_pb2.CODE_KIND_CHAPTER,)]
    if path:
        writer.line("Where it sits: " + " › ".join(f"{a.code} {a.title}" for a in path))
    writer.line()
    if code.billable:
        writer.line(f"{writer.cite(code)} is **billable**: it can be reported on a claim as it stands.")
    else:
        below = code.billable_descendant_count
        writer.line(
            f"{writer.cite(code)} is **not billable** (not reportable as it stands): choose a more specific "
            f"code below it ({below:,} billable code{'s' if below != 1 else ''} in all)."
        )
        if code.children:
            writer.line()
            writer.line("Directly below it:")
            for child in code.children[:CHILDREN_SHOWN]:
                more = "" if child.billable else " — has codes below it"
                writer.line(f"- {writer.cite(child)} {child.title} ({billable_words(child)}{more})")
            if len(code.children) > CHILDREN_SHOWN:
                writer.line(f"- … and {len(code.children) - CHILDREN_SHOWN} more")
    if code.pcs_characters and not notes_only:
        writer.line()
        pcs_table(writer, code)
    # Asked for the notes, the answer gives all of them; otherwise the first few of each kind.
    count = notes_section(writer, code, per_kind=1_000 if notes_only else NOTES_PER_KIND)
    if notes_only and not count:
        writer.line()
        writer.line(f"No instructional note of the tabular list applies to {writer.cite(code)}.")
    for warning in code.data_warnings:
        writer.line()
        writer.line(f"_Data note: {warning}_")
    if system_of(code) in ("cpt", "hcpcs") and code.licence:
        writer.line()
        writer.line(f"_{code.licence}_")
    _suggest_next(writer, code)
    return writer.answer()


def _suggest_next(writer: AnswerWriter, code: lookup_pb2.Code) -> None:
    system = system_of(code)
    if system in ("icd10cm", "icd10pcs"):
        writer.suggest(f"What is {code.code} in ICD-9?")
    elif system in ("icd9cm", "icd9pcs"):
        writer.suggest(f"What is {code.code} in ICD-10?")
    kinds = {n.kind for n in (*code.notes, *code.inherited_notes)}
    if lookup_pb2.NOTE_KIND_CODE_FIRST in kinds or lookup_pb2.NOTE_KIND_USE_ADDITIONAL_CODE in kinds:
        writer.suggest(f"What should be coded with {code.code}, and in what order?")
    if lookup_pb2.NOTE_KIND_EXCLUDES1 in kinds:
        writer.suggest("What does Excludes1 mean?")
    if code.pcs_characters:
        writer.suggest(f"What does the third character mean in {code.code}?")


def pcs_table(writer: AnswerWriter, code: lookup_pb2.Code) -> None:
    writer.line("| Position | Axis | Character | Meaning |")
    writer.line("|---|---|---|---|")
    for character in code.pcs_characters:
        writer.line(f"| {character.position} | {character.axis} | {character.value} | {character.meaning} |")
    root = next((c for c in code.pcs_characters if c.axis.lower() == "root operation"), None)
    if root and root.definition:
        writer.line()
        writer.line(f"Root operation **{root.meaning}**: {root.definition}.")


def pcs_position(code: lookup_pb2.Code, position: int | None, axis: str) -> int | None:
    """The character asked about: by position, else by the axis named (`device` -> 6)."""
    if position:
        return position
    if axis:
        for character in code.pcs_characters:
            if character.axis.lower() == axis or character.axis.lower().startswith(axis):
                return character.position
    return None


def pcs_character(code: lookup_pb2.Code, position: int | None, axis: str, typed_value: str = "") -> Answer:
    writer = AnswerWriter("pcs_character")
    writer.about(code)
    asked = pcs_position(code, position, axis)
    character = next((c for c in code.pcs_characters if c.position == asked), None)
    if character is None:
        writer.line(f"Each of the seven characters of {writer.cite(code)} ({code.title}) means:")
        writer.line()
        pcs_table(writer, code)
        return writer.answer()
    writer.line(
        f"In {writer.cite(code)} ({code.title}), character {character.position} is the "
        f"**{character.axis}** axis, and its value **{character.value}** means **{character.meaning}**."
    )
    if typed_value and typed_value != character.value:
        writer.line(
            f"(You wrote {typed_value}; the code's character {character.position} is {character.value}.)"
        )
    if character.definition:
        writer.line()
        writer.line(f"Definition: {character.definition}.")
    if character.explanation:
        writer.line(f"Explanation: {character.explanation}")
    if character.examples:
        writer.line(f"Examples: {character.examples}.")
    writer.line()
    writer.line("All seven characters:")
    writer.line()
    pcs_table(writer, code)
    for other in (1, 3, 4, 5):
        if other != character.position:
            writer.suggest(f"What does character {other} mean in {code.code}?")
    return writer.answer()
