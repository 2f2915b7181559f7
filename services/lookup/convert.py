"""Records to protobuf messages: the one place that knows both shapes."""

from __future__ import annotations

from medcode.lookup.v1 import lookup_pb2

from services.lookup.codes import SYSTEM_TO_ENUM
from services.lookup.records import NOTE_KINDS, CodeRecord, CrosswalkRecord, NoteRecord, PcsCharacterRecord

KIND_TO_ENUM = {
    kind: lookup_pb2.CodeKind.Value(f"CODE_KIND_{kind.upper()}")
    for kind in ("chapter", "block", "category", "subcategory", "code", "table")
}
ENUM_TO_KIND = {value: kind for kind, value in KIND_TO_ENUM.items()}
NOTE_KIND_TO_ENUM = {kind: lookup_pb2.NoteKind.Value(f"NOTE_KIND_{kind.upper()}") for kind in NOTE_KINDS}
ENUM_TO_NOTE_KIND = {value: kind for kind, value in NOTE_KIND_TO_ENUM.items()}


def note_message(note: NoteRecord) -> lookup_pb2.Note:
    return lookup_pb2.Note(
        kind=NOTE_KIND_TO_ENUM[note.kind], text=note.text, codes=list(note.codes), source=note.source
    )


def note_record(note: lookup_pb2.Note) -> NoteRecord:
    return NoteRecord(ENUM_TO_NOTE_KIND[note.kind], note.text, tuple(note.codes), note.source)


def pcs_character_message(char: PcsCharacterRecord) -> lookup_pb2.PcsCharacter:
    return lookup_pb2.PcsCharacter(
        position=char.position,
        axis=char.axis,
        value=char.value,
        meaning=char.meaning,
        definition=char.definition,
        explanation=char.explanation,
        examples=char.examples,
    )


def summary_message(record: CodeRecord) -> lookup_pb2.CodeSummary:
    return lookup_pb2.CodeSummary(
        system=SYSTEM_TO_ENUM[record.system],
        code=record.code,
        title=record.title,
        kind=KIND_TO_ENUM[record.kind],
        billable=record.billable,
    )


def code_summary(code: lookup_pb2.Code) -> lookup_pb2.CodeSummary:
    """The summary of a code page already built (a pair's codes, a crosswalk's source)."""
    return lookup_pb2.CodeSummary(
        system=code.system, code=code.code, title=code.title, kind=code.kind, billable=code.billable
    )


def basic_code_message(record: CodeRecord) -> lookup_pb2.Code:
    """The BASIC view: what a list or search result shows."""
    return lookup_pb2.Code(
        system=SYSTEM_TO_ENUM[record.system],
        code=record.code,
        title=record.title,
        kind=KIND_TO_ENUM[record.kind],
        billable=record.billable,
        parent=record.parent or "",
        release=record.release,
    )


def crosswalk_message(
    row: CrosswalkRecord,
    source: lookup_pb2.CodeSummary,
    target: lookup_pb2.CodeSummary,
    *,
    target_not_in_catalog: bool = False,
) -> lookup_pb2.CrosswalkMapping:
    return lookup_pb2.CrosswalkMapping(
        source=source,
        target=target,
        approximate=row.approximate,
        no_map=row.no_map,
        combination=row.combination,
        scenario=row.scenario,
        choice_list=row.choice_list,
        gem=row.gem,
        target_not_in_catalog=target_not_in_catalog,
    )
