"""Conventions of the tabular list (our own words, with a real note from the catalog as example),
the ICD-10-PCS official guidelines and root operation definitions (the catalog's words)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from medcode.lookup.v1 import lookup_pb2

from services.assistant.answers import Answer, AnswerWriter, quote
from services.assistant.catalog_client import CatalogClient, NotFound, system_of
from services.assistant.code_axes import content_words

DATA = Path(__file__).with_name("data") / "conventions.tsv"
NOTE_KINDS = {name.removeprefix("NOTE_KIND_").lower(): value for name, value in lookup_pb2.NoteKind.items()}
# Words that say nothing about which guideline is meant.
_GUIDELINE_FILLER = {
    "guideline", "guidelines", "pcs", "icd", "10", "official", "say", "says", "about", "what", "does",
    "how", "are", "is", "coded", "code", "coding", "procedure", "procedures", "rule", "rules", "the",
    "vs", "versus", "on", "for", "section",
}  # fmt: skip


@dataclass(frozen=True)
class Convention:
    key: str
    trigger: re.Pattern[str]
    title: str
    explanation: str
    example_code: str
    note_kind: str


def load_conventions(path: Path = DATA) -> list[Convention]:
    conventions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, trigger, title, explanation, example, kind = line.split("\t")
        conventions.append(
            Convention(key, re.compile(trigger), title, explanation, "" if example == "-" else example, kind)
        )
    return conventions


def conventions_asked(conventions: list[Convention], text: str) -> list[Convention]:
    """The conventions a (lower-cased) question names, in the table's order."""
    return [c for c in conventions if c.trigger.search(text)]


async def explain_conventions(
    catalog: CatalogClient, asked: list[Convention], code: lookup_pb2.Code | None
) -> Answer:
    writer = AnswerWriter("convention")
    if code is not None:
        writer.about(code)
    for convention in asked[:3]:
        writer.line(f"### {convention.title}")
        writer.line(convention.explanation)
        await _example(writer, catalog, convention, code)
        writer.line()
    if code is not None and any(c.key in ("placeholder", "seventh_character") for c in asked):
        _explain_positions(writer, code)
    if code is not None:
        writer.suggest(f"What is {code.code}?")
    elif asked[0].key in ("excludes1", "excludes2"):
        other = "Excludes2" if asked[0].key == "excludes1" else "Excludes1"
        writer.suggest(f"What does {other} mean?")
    return writer.answer()


async def _example(
    writer: AnswerWriter, catalog: CatalogClient, convention: Convention, code: lookup_pb2.Code | None
) -> None:
    kind = NOTE_KINDS.get(convention.note_kind)
    if kind is None:
        return
    candidates = [code] if code is not None else []
    if convention.example_code:
        try:
            candidates.append(await catalog.get_code("icd10cm", convention.example_code))
        except NotFound:
            pass
    for example in candidates:
        notes = [n for n in (*example.notes, *example.inherited_notes) if n.kind == kind and n.codes]
        notes = notes or [n for n in (*example.notes, *example.inherited_notes) if n.kind == kind]
        if notes:
            note = notes[0]
            source = f", from {note.source}" if note.source else ""
            writer.line()
            writer.line(
                f"In the catalog, {writer.cite(example)} ({example.title}) carries this "
                f"{convention.title.removeprefix('The ')} note{source}: {quote(note.text, 300)}"
            )
            return


def _explain_positions(writer: AnswerWriter, code: lookup_pb2.Code) -> None:
    """Where the code's own placeholder X sits, and what its 7th character means by its category's note."""
    compact = code.code.replace(".", "")
    placeholders = [str(i + 1) for i, ch in enumerate(compact) if ch == "X" and i > 2]
    if placeholders:
        writer.line(
            f"In {writer.cite(code)} ({code.title}) the X in position {', '.join(placeholders)} is the "
            "placeholder."
        )
    if len(compact) == 7 and system_of(code) == "icd10cm":
        seventh = compact[6]
        values = [
            n
            for n in (*code.notes, *code.inherited_notes)
            if n.kind == lookup_pb2.NOTE_KIND_SEVENTH_CHARACTER and re.match(rf"^{seventh}\b", n.text.strip())
        ]
        meaning = f": {quote(values[0].text)} (from {values[0].source or code.code})" if values else ""
        writer.line(f"The 7th character of {writer.cite(code)} is **{seventh}**{meaning}.")


def _guideline_score(guideline: lookup_pb2.Guideline, words: list[str]) -> float:
    topic = {w[:5] for w in content_words(guideline.topic)}
    section = {w[:5] for w in content_words(guideline.section)}
    text = {w[:5] for w in content_words(guideline.text)}
    score = 0.0
    for word in words:
        stem = word[:5]
        score += 3 * (stem in topic) + 1 * (stem in section) + 1 * (stem in text)
    return score


async def guidelines_answer(catalog: CatalogClient, question: str, ids: tuple[str, ...]) -> Answer | None:
    """The PCS guidelines the question names (by id) or is about (by its words); None if none fits."""
    guidelines = await catalog.guidelines("icd10pcs")
    by_id = {g.id.lower(): g for g in guidelines}
    chosen = [by_id[i.lower()] for i in ids if i.lower() in by_id]
    if not chosen:
        words = [w for w in content_words(question) if w not in _GUIDELINE_FILLER]
        if not words:
            return None
        scored = sorted(
            ((_guideline_score(g, words), i, g) for i, g in enumerate(guidelines)),
            key=lambda t: (-t[0], t[1]),
        )
        best = scored[0][0] if scored else 0
        # A guideline must match at least one word of the question in its topic, or two elsewhere.
        if best < 2:
            return None
        chosen = [g for score, _i, g in scored[:3] if score >= max(2, best * 0.75)]
    writer = AnswerWriter("guideline")
    writer.line(
        "From the **ICD-10-PCS Official Guidelines for Coding and Reporting**, as the catalog carries them:"
    )
    for guideline in chosen:
        writer.line()
        writer.line(f"**{guideline.id}** — {guideline.section}: {guideline.topic}")
        writer.line()
        writer.line("> " + "\n> ".join(guideline.text.strip().splitlines()))
    return writer.answer()


ROOT_OPERATION_NAME = re.compile(
    r"\broot operations?\s+(?:of\s+|called\s+|named\s+)?[\"'“]?([a-z][a-z\- ]{2,30}?)[\"'”]?(?:\?|$|\s+(?:mean|means|in|and|vs|versus|defined|definition))"
)
ROOT_OPERATION_BEFORE = re.compile(r"\b(?:the\s+)?([a-z][a-z\-]{2,30})\s+root operation\b")
_NOT_NAMES = {
    "the", "a", "an", "what", "pcs", "is", "define", "definition", "defined", "of", "mean", "means",
    "meaning", "in", "for", "code", "codes",
}  # fmt: skip


def root_operation_name(text: str) -> str:
    """The root operation a (lower-cased) question names: "root operation Excision", "the excision root operation"."""
    for pattern in (ROOT_OPERATION_NAME, ROOT_OPERATION_BEFORE):
        match = pattern.search(text)
        if match:
            name = match.group(1).strip()
            name = re.sub(r"^(the|a|an)\s+", "", name)
            if name and name not in _NOT_NAMES:
                return name
    return ""


async def root_operation(catalog: CatalogClient, name: str) -> Answer | None:
    """The definition of a root operation, read from the PCS characters of a code that uses it."""
    results = await catalog.search(name, ["icd10pcs"], page_size=20, billable_only=True)
    for code, _score in results:
        if not code.title.lower().startswith(name.lower()):
            continue
        full = await catalog.get_code("icd10pcs", code.code)
        third = next((c for c in full.pcs_characters if c.axis.lower() == "root operation"), None)
        if third is None or third.meaning.lower() != name.lower():
            continue
        writer = AnswerWriter("guideline")
        writer.line(f"### Root operation {third.meaning}")
        writer.line(
            f"In the {full.pcs_characters[0].meaning} section, the 3rd character **{third.value}** is the "
            f"root operation **{third.meaning}**."
        )
        if third.definition:
            writer.line()
            writer.line(f"**Definition:** {third.definition}.")
        if third.explanation:
            writer.line(f"**Explanation:** {third.explanation}")
        if third.examples:
            writer.line(f"**Examples:** {third.examples}.")
        writer.line()
        writer.line(f"For example {writer.cite(full)} — {full.title}.")
        named = re.compile(rf"\b{re.escape(third.meaning)}\b", re.IGNORECASE)
        mentioning = [g for g in await catalog.guidelines("icd10pcs") if named.search(f"{g.topic} {g.text}")]
        # Guidelines about the root operation (named in their topic) before those that only mention it.
        guidelines = sorted(mentioning, key=lambda g: not named.search(g.topic))
        if guidelines:
            writer.line()
            writer.line(
                "Guidelines that mention it: "
                + ", ".join(f"**{g.id}** ({g.topic})" for g in guidelines[:6])
                + "."
            )
            writer.suggest(f"What does guideline {guidelines[0].id} say?")
        return writer.answer()
    return None
