"""Whether two codes may be reported together, and in which order: the lookup's CheckCodePair,
the notes it quotes, and the NCCI edits once an operator has imported them."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from medcode.lookup.v1 import lookup_pb2

from services.assistant.answers import Answer, AnswerWriter, label, quote
from services.assistant.catalog_client import CatalogClient, system_of
from services.assistant.code_mentions import code_key

VERDICT_WORDS = {
    lookup_pb2.PAIR_VERDICT_ALLOWED: "Allowed together",
    lookup_pb2.PAIR_VERDICT_EXCLUDES1_CONFLICT: "Not together (Excludes1)",
    lookup_pb2.PAIR_VERDICT_ALLOWED_WITH_SEQUENCING: "Allowed together, in a set order",
    lookup_pb2.PAIR_VERDICT_ALLOWED_EXCLUDES2: "Allowed together (Excludes2)",
    lookup_pb2.PAIR_VERDICT_REDUNDANT: "Redundant: report only the more specific code",
}
SEQUENCING_KINDS = (
    (lookup_pb2.NOTE_KIND_CODE_FIRST, "Code first", "list the code the note names before"),
    (lookup_pb2.NOTE_KIND_USE_ADDITIONAL_CODE, "Use additional code", "list it first, then the code the note names, for"),
    (lookup_pb2.NOTE_KIND_CODE_ALSO, "Code also", "the code the note names may be needed as well; the encounter decides the order, for"),
)  # fmt: skip

# An optional source of NCCI procedure-to-procedure edits (A2's importer): (code_a, code_b) -> edits,
# each a mapping with at least "column1", "column2" and "modifier_indicator", or an empty list.
NcciLookup = Callable[[str, str], Awaitable[list[dict]]]


async def code_pair(
    catalog: CatalogClient,
    first: lookup_pb2.Code,
    second: lookup_pb2.Code,
    *,
    intent: str = "code_pair",
    ncci: NcciLookup | None = None,
) -> Answer:
    writer = AnswerWriter(intent)
    writer.about(first)
    writer.about(second)
    system = system_of(first)
    if system != system_of(second):
        writer.line(
            f"{writer.cite(first)} is {label(system)} and {writer.cite(second)} is {label(system_of(second))}: "
            "the tabular notes (Excludes1, Excludes2, code first, use additional code) relate codes of one "
            "classification, so the catalog has no rule for this pair."
        )
        return writer.answer()
    result = await catalog.check_pair(system, first.code, second.code)
    verdict = VERDICT_WORDS.get(result.verdict, "No verdict")
    writer.line(f"**{verdict}.** {result.summary}")
    writer.line()
    writer.line(f"- {writer.cite(first)} — {first.title}")
    writer.line(f"- {writer.cite(second)} — {second.title}")
    if result.sequence_first:
        later = second if result.sequence_first == first.code else first
        earlier = first if later is second else second
        writer.line()
        writer.line(f"**Sequence:** {writer.cite(earlier)} first, then {writer.cite(later)}.")
    findings = [f for f in result.findings if f.kind != lookup_pb2.FINDING_KIND_SAME_HIERARCHY]
    if findings:
        writer.line()
        writer.line("**The notes that decide it**")
        for finding in findings:
            note = f" Note: {quote(finding.note.text, 300)}" if finding.note.text else ""
            writer.line(f"- {finding.explanation}{note}")
    contradiction = _titles_contradict(first, second)
    if contradiction and result.verdict != lookup_pb2.PAIR_VERDICT_EXCLUDES1_CONFLICT:
        writer.line()
        writer.line(contradiction)
    if system in ("cpt", "hcpcs"):
        await _ncci_section(writer, first.code, second.code, ncci)
    writer.suggest(f"What is {first.code}?")
    writer.suggest(f"What is {second.code}?")
    return writer.answer()


def _titles_contradict(first: lookup_pb2.Code, second: lookup_pb2.Code) -> str:
    """Two codes of one category where one title says "without" and the other "with": no note is
    needed to see that they describe different patients."""
    if system_of(first) != "icd10cm" or code_key(first.code)[:3] != code_key(second.code)[:3]:
        return ""
    one, other = code_key(first.code), code_key(second.code)
    if len(one) == len(other) == 7 and one[:6] == other[:6]:
        return (
            f"**The two differ only in the 7th character** ({one[6]} and {other[6]}): "
            f"“{first.title}” and “{second.title}”. One encounter has one 7th character; report the code "
            "whose 7th character fits this encounter."
        )
    for without, other in ((first, second), (second, first)):
        match = re.search(r"\bwithout\b[^,]*", without.title, re.IGNORECASE)
        if match and re.search(r"\bwith\b", other.title, re.IGNORECASE):
            return (
                f"**The titles contradict each other:** {without.code} is “{without.title}” "
                f"(*{match.group(0).strip()}*), while {other.code} is “{other.title}”, of the same "
                f"category {code_key(first.code)[:3]}. No note forbids the pair, but one patient cannot be "
                f"both: when the record documents what {other.code} names, report {other.code} "
                f"instead of {without.code}."
            )
    return ""


async def _ncci_section(writer: AnswerWriter, first: str, second: str, ncci: NcciLookup | None) -> None:
    writer.line()
    edits = await ncci(first, second) if ncci else None
    if edits is None:
        writer.line(
            "NCCI procedure-to-procedure edits are not imported into this platform, so the pair was "
            "checked only against the catalog's notes."
        )
        return
    if not edits:
        writer.line(f"**NCCI:** no procedure-to-procedure edit pairs {first} with {second}.")
        return
    writer.line("**NCCI procedure-to-procedure edits**")
    for edit in edits:
        indicator = str(edit.get("modifier_indicator", ""))
        meaning = edit.get("meaning") or _INDICATOR_MEANINGS.get(indicator, "see the edit")
        setting = f" ({edit['setting']})" if edit.get("setting") else ""
        writer.line(
            f"- column 1 **{edit.get('column1')}**, column 2 **{edit.get('column2')}**{setting}: modifier "
            f"indicator {indicator} — {meaning}."
        )
        if edit.get("rationale"):
            writer.line(f"  Rationale: {edit['rationale']}.")
        if edit.get("version") or edit.get("effective"):
            writer.line(
                f"  Edit in force since {edit.get('effective', '?')}, table {edit.get('version', '?')}."
            )


_INDICATOR_MEANINGS = {
    "0": "never reported together, no modifier allowed",
    "1": "a modifier may allow both when the services are distinct",
    "9": "the edit does not apply",
}


async def ncci_pair(first: str, second: str, ncci: NcciLookup | None) -> Answer:
    """Two CPT or HCPCS codes whose descriptors the catalog does not hold: the NCCI edits alone."""
    edits = await ncci(first, second) if ncci else None
    if edits is None:
        writer = AnswerWriter("cannot_ground")
        writer.line(
            f"**I can't check {first} with {second}:** CPT and HCPCS are not loaded in this catalog and no "
            "NCCI procedure-to-procedure table is imported; an operator imports them (docs/importers.md)."
        )
        return writer.answer()
    writer = AnswerWriter("code_pair")
    writer.line(
        f"{first} and {second} are not in this catalog (CPT and HCPCS come only from files an operator "
        "imports), so no note of theirs can be read; the NCCI edits can."
    )
    await _ncci_section(writer, first, second, lambda a, b: _known(edits))
    return writer.answer()


async def _known(edits: list[dict]) -> list[dict]:
    return edits


async def sequencing_for(code: lookup_pb2.Code) -> Answer:
    """The code-first, use-additional-code and code-also notes that apply to one code."""
    writer = AnswerWriter("sequencing")
    writer.about(code)
    writer.line(f"**Sequencing notes for {writer.cite(code)}** — {code.title}")
    found = False
    for kind, title, meaning in SEQUENCING_KINDS:
        notes = [n for n in (*code.notes, *code.inherited_notes) if n.kind == kind]
        if not notes:
            continue
        found = True
        writer.line()
        writer.line(f"**{title}** ({meaning} {writer.cite(code)}):")
        for note in notes[:12]:
            source = f" (from {note.source})" if note.source else ""
            writer.line(f"- {quote(note.text, 300)}{source}")
        if len(notes) > 12:
            writer.line(f"- … and {len(notes) - 12} more")
    if not found:
        writer.line()
        writer.line(
            f"No code-first, use-additional-code or code-also note applies to {writer.cite(code)}: the "
            "catalog has no note that orders it with other codes. The order then follows the reason "
            "for the encounter."
        )
    writer.suggest(f"What is {code.code}?")
    return writer.answer()
