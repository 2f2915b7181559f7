"""May two codes be reported together? The tabular list's notes decide (Excludes1, Excludes2,
code first, use additional code, code also); a code and its own ancestor are redundant."""

from __future__ import annotations

from dataclasses import dataclass, field

from services.lookup.records import NoteRecord
from services.lookup.sources.note_refs import covers


@dataclass(frozen=True)
class PairSubject:
    """One of the two codes, with what the check needs to know of it."""

    code: str
    title: str
    billable: bool
    ancestors: tuple[str, ...]  # codes from the top down to the parent
    notes: tuple[NoteRecord, ...]  # own notes (source "") and inherited ones (source set)


@dataclass(frozen=True)
class Finding:
    kind: (
        str  # excludes1, excludes2, code_first, use_additional_code, code_also, same_hierarchy, not_billable
    )
    on_code: str
    about_code: str
    note: NoteRecord | None
    explanation: str


@dataclass
class PairVerdict:
    verdict: str  # allowed, excludes1_conflict, allowed_with_sequencing, allowed_excludes2, redundant
    findings: list[Finding] = field(default_factory=list)
    sequence_first: str = ""
    summary: str = ""


def _where(note: NoteRecord, subject: PairSubject) -> str:
    return f"{subject.code}" if not note.source else f"{subject.code} (inherited from {note.source})"


def _notes_about(subject: PairSubject, other: PairSubject, kind: str) -> list[NoteRecord]:
    """The subject's notes of `kind` whose references cover the other code."""
    return [
        note
        for note in subject.notes
        if note.kind == kind and any(covers(reference, other.code) for reference in note.codes)
    ]


def _directional_findings(subject: PairSubject, other: PairSubject) -> list[Finding]:
    findings = []
    for note in _notes_about(subject, other, "excludes1"):
        findings.append(
            Finding(
                "excludes1",
                subject.code,
                other.code,
                note,
                f"Excludes1 at {_where(note, subject)}: {other.code} is never reported with {subject.code} "
                "(the two conditions cannot occur together), unless the note itself names an exception.",
            )
        )
    for note in _notes_about(subject, other, "excludes2"):
        findings.append(
            Finding(
                "excludes2",
                subject.code,
                other.code,
                note,
                f"Excludes2 at {_where(note, subject)}: {other.code} is not part of {subject.code}; "
                "when the patient has both, both may be reported.",
            )
        )
    for note in _notes_about(subject, other, "code_first"):
        findings.append(
            Finding(
                "code_first",
                subject.code,
                other.code,
                note,
                f"Code first at {_where(note, subject)}: list {other.code} before {subject.code}.",
            )
        )
    for note in _notes_about(subject, other, "use_additional_code"):
        findings.append(
            Finding(
                "use_additional_code",
                subject.code,
                other.code,
                note,
                f"Use additional code at {_where(note, subject)}: list {subject.code} first, "
                f"then {other.code}.",
            )
        )
    for note in _notes_about(subject, other, "code_also"):
        findings.append(
            Finding(
                "code_also",
                subject.code,
                other.code,
                note,
                f"Code also at {_where(note, subject)}: {other.code} may be reported as well; "
                "the circumstances of the encounter decide the order.",
            )
        )
    return findings


def check_pair(first: PairSubject, second: PairSubject) -> PairVerdict:
    """The verdict on reporting `first` and `second` on one claim, with the notes that decide it."""
    findings: list[Finding] = []
    for subject in (first, second):
        if not subject.billable:
            findings.append(
                Finding(
                    "not_billable",
                    subject.code,
                    subject.code,
                    None,
                    f"{subject.code} is not reportable as it stands: choose a code below it.",
                )
            )

    if first.code == second.code or first.code in second.ancestors or second.code in first.ancestors:
        broader, narrower = (first, second) if first.code in second.ancestors else (second, first)
        findings.append(
            Finding(
                "same_hierarchy",
                narrower.code,
                broader.code,
                None,
                "The same code twice."
                if first.code == second.code
                else f"{narrower.code} is a subdivision of {broader.code}: report only {narrower.code}.",
            )
        )
        return PairVerdict("redundant", findings, summary=findings[-1].explanation)

    findings += _directional_findings(first, second) + _directional_findings(second, first)
    kinds = {f.kind for f in findings}
    sequence_first = ""
    for finding in findings:
        if finding.kind == "code_first":
            sequence_first = finding.about_code
        elif finding.kind == "use_additional_code":
            sequence_first = finding.on_code

    if "excludes1" in kinds:
        decisive = next(f for f in findings if f.kind == "excludes1")
        return PairVerdict(
            "excludes1_conflict",
            findings,
            summary=f"Not together: {decisive.explanation} Note: \u201c{decisive.note.text}\u201d",
        )
    if sequence_first:
        return PairVerdict(
            "allowed_with_sequencing",
            findings,
            sequence_first=sequence_first,
            summary=f"Both may be reported, {sequence_first} first.",
        )
    if "excludes2" in kinds:
        return PairVerdict(
            "allowed_excludes2",
            findings,
            summary="Both may be reported: an Excludes2 note says the conditions are separate.",
        )
    return PairVerdict(
        "allowed",
        findings,
        summary=f"No note of the tabular list stands against reporting {first.code} with {second.code}.",
    )
