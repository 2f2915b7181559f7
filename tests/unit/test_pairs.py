"""Pair checks on hand-made subjects: which note decides, and in which order to list the codes."""

from services.lookup.pairs import PairSubject, check_pair
from services.lookup.records import NoteRecord


def subject(code, *notes, ancestors=(), billable=True):
    return PairSubject(
        code=code, title=code, billable=billable, ancestors=tuple(ancestors), notes=tuple(notes)
    )


def test_inherited_excludes1_on_a_category_reference_is_a_conflict():
    e11_9 = subject(
        "E11.9",
        NoteRecord("excludes1", "type 1 diabetes mellitus (E10.-)", ("E10.-",), source="E11"),
        ancestors=("4", "E08-E13", "E11"),
    )
    e10_9 = subject("E10.9", ancestors=("4", "E08-E13", "E10"))
    verdict = check_pair(e11_9, e10_9)
    assert verdict.verdict == "excludes1_conflict"
    assert "E10.-" in verdict.summary
    assert verdict.findings[0].note.source == "E11"


def test_excludes1_found_from_either_side():
    a = subject("A01.1")
    b = subject("B02.2", NoteRecord("excludes1", "the other one (A01.-)", ("A01.-",)))
    assert check_pair(a, b).verdict == "excludes1_conflict"
    assert check_pair(b, a).verdict == "excludes1_conflict"


def test_excludes2_allows_both():
    a = subject("J45.909", NoteRecord("excludes2", "chronic bronchitis (J41-J42)", ("J41-J42",)))
    b = subject("J41.0")
    assert check_pair(a, b).verdict == "allowed_excludes2"


def test_use_additional_code_lists_the_carrier_first():
    e11 = subject("E11.9", NoteRecord("use_additional_code", "insulin use (Z79.4)", ("Z79.4",), source="E11"))
    z79 = subject("Z79.4")
    verdict = check_pair(z79, e11)
    assert verdict.verdict == "allowed_with_sequencing"
    assert verdict.sequence_first == "E11.9"


def test_code_first_lists_the_referenced_code_first():
    manifestation = subject(
        "G63", NoteRecord("code_first", "underlying disease, such as: amyloidosis (E85.-)", ("E85.-",))
    )
    verdict = check_pair(manifestation, subject("E85.4"))
    assert verdict.sequence_first == "E85.4"


def test_a_code_with_its_ancestor_is_redundant():
    verdict = check_pair(
        subject("E11.6", billable=False), subject("E11.65", ancestors=("4", "E08-E13", "E11", "E11.6"))
    )
    assert verdict.verdict == "redundant"
    assert "report only E11.65" in verdict.summary


def test_a_non_billable_code_is_pointed_out():
    verdict = check_pair(subject("E11", billable=False), subject("I10"))
    assert verdict.verdict == "allowed"
    assert [f.kind for f in verdict.findings] == ["not_billable"]


def test_a_note_about_a_third_code_does_not_decide():
    a = subject("I10", NoteRecord("excludes1", "something else (I15.-)", ("I15.-",)))
    assert check_pair(a, subject("I11.9")).verdict == "allowed"
