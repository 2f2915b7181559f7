"""The pure pieces of the ICD-10-PCS loader: sections and axes, the names of the levels above the
codes, the index's synonyms, and the checks and repairs of the carrier's text.

The packaged data names the body systems and root operations of sections 0 and 1 only. For the
other sections a level's name is taken, in this order of trust, from the wording that every code
title below it shares, or from the PCS index's cross-references (`see Fluoroscopy, Heart **B21**`)
when they agree; both rules are checked against sections 0 and 1, where the true names are known.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol

from services.lookup.records import CodeRecord, PcsCharacterRecord

# The sections of ICD-10-PCS, by their first character.
SECTION_NAMES: dict[str, str] = {
    "0": "Medical and Surgical",
    "1": "Obstetrics",
    "2": "Placement",
    "3": "Administration",
    "4": "Measurement and Monitoring",
    "5": "Extracorporeal or Systemic Assistance and Performance",
    "6": "Extracorporeal or Systemic Therapies",
    "7": "Osteopathic",
    "8": "Other Procedures",
    "9": "Chiropractic",
    "B": "Imaging",
    "C": "Nuclear Medicine",
    "D": "Radiation Therapy",
    "F": "Physical Rehabilitation and Diagnostic Audiology",
    "G": "Mental Health",
    "H": "Substance Abuse Treatment",
    "X": "New Technology",
}

# The seven axes of the Medical and Surgical and the Obstetrics sections.
SURGICAL_AXES = ("Section", "Body System", "Root Operation", "Body Part", "Approach", "Device", "Qualifier")

# Words that end the name of the operation at the head of a PCS title:
# "Plain Radiography of Spinal Cord ...", "Assistance with Cardiac Output ...", "Detachment at ...".
_CONNECTORS = frozenset({"of", "for", "using", "with", "into", "from", "on", "in", "to", "by", "at"})

# `see <operation>, <body system or body part> **<table or code>**` in the PCS index.
_INDEX_REFERENCE = re.compile(r"see ([^*\n]+?)\s*\*\*([0-9A-HJ-NP-Z]{3,7})\*\*")


def operation_words(title: str) -> list[str]:
    """The words at the head of a title that name what is done, up to its first connector or comma."""
    words: list[str] = []
    for word in title.split():
        if word.lower() in _CONNECTORS:
            break
        if word.endswith(","):
            words.append(word[:-1])
            break
        words.append(word)
    return words


def shared_operation(titles: Sequence[str]) -> str:
    """The operation words every title begins with; failing that, the words they all end it with."""
    heads = [operation_words(title) for title in titles]
    if not heads:
        return ""
    shortest = min(len(head) for head in heads)
    prefix: list[str] = []
    for position in range(shortest):
        if len({head[position] for head in heads}) != 1:
            break
        prefix.append(heads[0][position])
    if prefix:
        return " ".join(prefix)
    # "High Dose Rate (HDR) Brachytherapy", "Low Dose Rate (LDR) Brachytherapy" -> "Brachytherapy".
    suffix: list[str] = []
    for position in range(1, shortest + 1):
        if len({head[-position] for head in heads}) != 1:
            break
        suffix.insert(0, heads[0][-position])
    return " ".join(suffix)


def index_references(entries: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Every `see ... **code**` reference of the PCS index: (the words before the code, the code)."""
    return [
        (match.group(1).strip(), match.group(2))
        for _term, content in entries
        for match in _INDEX_REFERENCE.finditer(content)
    ]


def body_system_names_from_index(references: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Body system (two characters) -> the name the index gives it, where its tables agree.

    A reference reads `<operation>, <body system or body part>`. A name counts when references to
    at least two different tables of the body system use it, and more tables than any other name:
    a body part is named for one table, the body system for many.
    """
    tables_naming: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for words, code in references:
        operation, comma, place = words.partition(", ")
        if comma and operation and place:
            tables_naming[code[:2]][place].add(code[:3])
    names: dict[str, str] = {}
    for body_system, candidates in tables_naming.items():
        ranked = sorted(candidates.items(), key=lambda item: (-len(item[1]), item[0]))
        best_name, best_tables = ranked[0]
        runner_up = len(ranked[1][1]) if len(ranked) > 1 else 0
        if len(best_tables) >= 2 and len(best_tables) > runner_up:
            names[body_system] = best_name
    return names


def table_operations_from_index(references: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Table (three characters) -> the operation every index reference to it names, where they agree."""
    operations: dict[str, set[str]] = defaultdict(set)
    for words, code in references:
        operation, comma, place = words.partition(", ")
        if comma and operation and place:
            operations[code[:3]].add(operation)
    section_names = set(SECTION_NAMES.values())
    # `see New Technology, Cardiovascular System **X2A**` names the section, not the operation.
    return {
        table: next(iter(names))
        for table, names in operations.items()
        if len(names) == 1 and next(iter(names)) not in section_names
    }


def index_uses(entries: Iterable[tuple[str, str]], body_system_names: set[str]) -> list[tuple[str, str, str]]:
    """The index's `use` entries as (term, value, scope): `Abdominal aortic plexus` -> `Abdominal
    Sympathetic Nerve`; the scope is a body system (`use Liner in Lower Joints`), a table (`use
    Cardiac Lead, Pacemaker in **02H**`) or empty."""
    uses = []
    for term, content in entries:
        term = normalize_spaces(term)
        for line in content.split("\n"):
            if not line.startswith("use "):
                continue
            value, scope = normalize_spaces(line[4:]), ""
            table = re.fullmatch(r"(.+) in \*\*([0-9A-HJ-NP-Z]{3})\*\*", value)
            if table:
                value, scope = table.groups()
            else:
                head, _in, tail = value.rpartition(" in ")
                if head and tail in body_system_names:
                    value, scope = head, tail
            if "*" not in value:
                uses.append((term, value, scope))
    return uses


def searchable(value: str) -> str:
    """A text as phrase search compares it: lower case, words only, one space around each."""
    return " " + " ".join(re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", value.lower())) + " "


def new_technology_year(codes: Iterable[str]) -> int | None:
    """The fiscal year of the latest New Technology group among the codes, or None without any.

    The seventh character of a New Technology code is its group: group 1 came with FY2016, and each
    year since added one (`XW033H4` is group 4, FY2019).
    """
    groups = [code[6] for code in codes if len(code) == 7 and code[0] == "X"]
    # Past group 9 the groups are letters, whose years this rule does not know: say nothing then.
    if not groups or not all(group.isdigit() for group in groups):
        return None
    return 2015 + max(int(group) for group in groups)


class CharacterSource(Protocol):
    """What naming the levels needs to know of the carrier's tables (the loader's character reader)."""

    body_systems: dict[tuple[str, str], str]  # (section, value) -> name
    operations: dict[tuple[str, str], tuple[str, str, str, str]]  # -> name, definition, explanation, examples

    def record(self, position: int, value: str, meaning: str, *explained: str) -> PcsCharacterRecord: ...

    def section(self, section: str) -> PcsCharacterRecord: ...


class _LevelName(NamedTuple):
    title: str
    warning: str = ""


_NO_TABLE_NAMES = "the packaged data names tables only in sections 0 and 1"
_UNNAMED_BODY_SYSTEM = (
    "ICD-10-PCS names this body system, but the packaged data does not; it is shown by its character."
)


def _body_system_name(
    body_system: str, characters: CharacterSource, index_names: dict[str, str]
) -> _LevelName | None:
    name = characters.body_systems.get((body_system[0], body_system[1]))
    if name is not None:
        return _LevelName(name)
    name = index_names.get(body_system)
    if name is not None:
        return _LevelName(
            name,
            "Named from the ICD-10-PCS index's references to this body system's tables; "
            "the packaged data names body systems only in sections 0 and 1.",
        )
    return None


def _table_name(
    table: str, titles: list[str], characters: CharacterSource, index_operations: dict[str, str]
) -> _LevelName:
    operation = characters.operations.get((table[0], table[2]))
    if operation is not None and all(title.startswith(operation[0]) for title in titles):
        return _LevelName(operation[0])
    shared = shared_operation(titles)
    if shared:
        return _LevelName(shared, f"Named from the wording its codes' titles share; {_NO_TABLE_NAMES}.")
    if table in index_operations:
        return _LevelName(
            index_operations[table], f"Named from the ICD-10-PCS index's references to it; {_NO_TABLE_NAMES}."
        )
    return _LevelName(
        f"Table {table}", f"Shown by its code: {_NO_TABLE_NAMES}, and its codes' titles share no wording."
    )


def hierarchy(
    system: str, codes: list[CodeRecord], characters: CharacterSource, references: list[tuple[str, str]]
) -> list[CodeRecord]:
    """The sections, body systems and tables above the codes, each with the characters it fixes."""
    index_names = body_system_names_from_index(references)
    index_operations = table_operations_from_index(references)
    titles_of: dict[str, list[str]] = {}
    for record in codes:
        titles_of.setdefault(record.code[:3], []).append(record.title)
    release = {record.code[0]: record.release for record in codes}

    def level(code: str, title: str, kind: str, explained: list, warning: str = "") -> CodeRecord:
        parent = code[:-1] or None
        return CodeRecord(
            system,
            code,
            title,
            kind,
            False,
            parent,
            release[code[0]],
            pcs_characters=explained,
            data_warnings=[warning] if warning else [],
        )

    levels = [
        level(section, SECTION_NAMES[section], "chapter", [characters.section(section)])
        for section in sorted(release)
    ]
    body_system_names: dict[str, _LevelName | None] = {}
    for body_system in sorted({table[:2] for table in titles_of}):
        section_name = SECTION_NAMES[body_system[0]]
        name = body_system_names[body_system] = _body_system_name(body_system, characters, index_names)
        explained = [characters.section(body_system[0])]
        if name is None:
            levels.append(
                level(
                    body_system,
                    f"{section_name}: body system {body_system[1]}",
                    "block",
                    explained,
                    _UNNAMED_BODY_SYSTEM,
                )
            )
            continue
        if not name.warning:
            explained.append(characters.record(2, body_system[1], name.title))
        levels.append(level(body_system, name.title, "block", explained, name.warning))
    for table, titles in sorted(titles_of.items()):
        name = _table_name(table, titles, characters, index_operations)
        body_system = body_system_names[table[:2]]
        explained = [characters.section(table[0])]
        operation = characters.operations.get((table[0], table[2]))
        if body_system is not None and operation is not None and not name.warning:
            explained.append(characters.record(2, table[1], body_system.title))
            explained.append(characters.record(3, table[2], *operation))
        title = f"{name.title} — {body_system.title}" if body_system else name.title
        levels.append(level(table, title, "table", explained, name.warning))
    return levels


# ---- The carrier's text: what damage looks like, and the repairs the data itself bears out ----

_WORD = re.compile(r"[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+)*-?")
# UTF-8 read as Latin-1 or cp1252 ("Ã©", "â€™"), the replacement character, control characters.
_MOJIBAKE = re.compile(r"Ã.|â€|Â[^\w]|\ufffd|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LIST_START = re.compile(r"^(?:[•\-]|[a-z]\.|\d+\.|Examples?:|\*\*)")


def normalize_spaces(value: str) -> str:
    """Runs of white space as one space, none at either end."""
    return " ".join(value.split())


def title_words(value: str) -> set[str]:
    """The lower-case words of a text, hyphenated words whole (`drug-eluting`)."""
    return {word.lower() for word in _WORD.findall(value)}


def join_broken_words(meaning: str, title: str) -> str:
    """Join the words of a meaning that a line break split, where the title spells the whole word.

    `Intraluminal Device, Drug- eluting` with title `... Drug-eluting Intraluminal Device ...` gives
    `Intraluminal Device, Drug-eluting`; `Stereoelectroencephalo graphic` is joined the same way.
    """
    known = title_words(title)
    tokens = meaning.split(" ")
    joined: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if index + 1 < len(tokens):
            following = tokens[index + 1]
            whole = token + following
            core = whole.rstrip(",;").lower()
            apart = token.rstrip("-").lower() in known and following.rstrip(",;").lower() in known
            if core in known and not apart and token and following and token[-1] not in ",;":
                joined.append(whole)
                index += 2
                continue
        joined.append(token)
        index += 1
    return " ".join(joined)


def meanings_fit_title(meanings: Sequence[str], title: str) -> bool:
    """Whether the title bears out the root operation and every stated meaning of a code.

    `meanings` are pcs_tree's root operation ("Name: definition") through qualifier; the words of
    each, but for "No Device"-like values, must all be in the title.
    """
    known = title_words(title)
    operation, *others = meanings
    named = [operation.partition(":")[0], *(m for m in others if not m.startswith("No "))]
    return all(title_words(meaning) <= known for meaning in named)


def damage_signs(value: str) -> list[str]:
    """What in a text shows it was damaged in transit: mis-decoded or control characters."""
    return [f"unreadable characters {match!r}" for match in _MOJIBAKE.findall(value)]


def reflow(value: str) -> str:
    """Undo line breaks that a PDF copy put in mid-sentence; keep those that start items or examples."""
    lines = [normalize_spaces(line) for line in value.strip().split("\n")]
    paragraphs: list[str] = []
    for line in lines:
        if not line:
            continue
        if paragraphs and not paragraphs[-1].endswith((".", ":", ";", "**")) and not _LIST_START.match(line):
            paragraphs[-1] = f"{paragraphs[-1]} {line}"
        else:
            paragraphs.append(line)
    return "\n".join(paragraphs)


def fix_transposed_letters(value: str, vocabulary: set[str]) -> str:
    """Correct words with two neighbouring letters swapped (`Mutliple`) where exactly one swap
    gives a word of the vocabulary and the word itself is not in it."""

    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        if word.lower() in vocabulary:
            return word
        swaps = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
        found = [swap for swap in swaps if swap.lower() in vocabulary]
        return found[0] if len(found) == 1 else word

    return re.sub(r"[A-Za-z]{4,}", fix, value)


def guideline_gaps(ids: Iterable[str]) -> list[str]:
    """The guideline numbers missing from a set: the gaps of the A series (A1, A2, ...) and the
    sections A-F with no guideline at all."""
    ids = set(ids)
    numbered = [int(i[1:]) for i in ids if re.fullmatch(r"A\d+", i)]
    gaps = [f"A{n}" for n in range(1, max(numbered, default=0) + 1) if f"A{n}" not in ids]
    letters = {i[0] for i in ids}
    gaps += [letter for letter in "ABCDEF" if letter not in letters]
    return gaps
