"""ICD-10-CM from the CDC tabular XML that the simple-icd-10-cm package carries.

We read the XML ourselves: chapters, blocks, categories, subcategories and codes in tabular order,
every instructional note, and the 7th-character codes that each `sevenChrDef` calls for.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from services.lookup.records import (
    CategoryMemberRecord,
    ClinicalCategoryRecord,
    CodeRecord,
    NoteRecord,
    SystemData,
    SystemRecord,
)
from services.lookup.sources.note_refs import parse_codes

log = logging.getLogger(__name__)

SYSTEM = "icd10cm"
CARRIER = "simple-icd-10-cm"
TABULAR_FILE = "icd10c-tabular-April-1-2026.xml"
RELEASE = "FY2026 (April 1, 2026)"
RECORD_RELEASE = f"ICD-10-CM {RELEASE}"
VERSION = "2026.04"
LICENCE = (
    "ICD-10-CM is published by the CDC's National Center for Health Statistics and is in the public "
    "domain in the United States; it may be used and copied without permission."
)
COVERAGE = "all 22 chapters, with 7th-character codes"

# What this release holds: chapters, blocks, categories, subcategories and codes, and the codes
# valid for a claim. A different count means a different or damaged file.
EXPECTED_ITEMS = 98_505
EXPECTED_BILLABLE = 74_719

# XML element -> note kind; each <note> inside one of these is one note.
_NOTE_ELEMENTS = {
    "includes": "includes",
    "inclusionTerm": "inclusion_term",
    "excludes1": "excludes1",
    "excludes2": "excludes2",
    "codeFirst": "code_first",
    "useAdditionalCode": "use_additional_code",
    "codeAlso": "code_also",
    "notes": "note",
}

# The tabular states in prose where a 7th character does not apply, e.g. for S06: "7th characters D
# and S do not apply to codes in category S06 with 6th character 7 - ..., or 8 - ...".
_SEVENTH_CHARACTER_EXCEPTION = re.compile(
    r"7th characters? (?P<sevenths>[A-Z](?:(?:,\s*|\s+and\s+|\s+or\s+)[A-Z])*) do(?:es)? not apply to "
    r"codes in (?:sub)?category (?P<scope>[A-Z]\d[0-9A-Z](?:\.[0-9A-Z]+)?) with 6th character (?P<sixths>.+)"
)
_SIXTH_CHARACTER = re.compile(r"(?:^|\bor\s+|,\s*)([0-9A-Z])\s+-")


class TabularDataError(ValueError):
    """The ICD-10-CM tabular XML is missing or does not hold what this release should hold."""


@dataclass(frozen=True)
class _SeventhCharacters:
    """The nearest `sevenChrDef` above a code, and the combinations the tabular rules out."""

    extensions: tuple[tuple[str, str], ...]  # (character, text)
    exceptions: frozenset[tuple[str, str, str]]  # (scope without dot, 6th character, 7th character)


def tabular_path() -> Path:
    """Where the carrier package keeps the tabular XML."""
    # Through the distribution's file list: importing simple_icd_10_cm would parse the whole XML.
    try:
        files = importlib.metadata.files(CARRIER) or []
    except importlib.metadata.PackageNotFoundError as error:
        raise TabularDataError(
            f"the {CARRIER} package is not installed; it carries {TABULAR_FILE}"
        ) from error
    for file in files:
        if file.name == TABULAR_FILE:
            return Path(str(file.locate()))
    raise TabularDataError(f"{CARRIER} {importlib.metadata.version(CARRIER)} does not carry {TABULAR_FILE}")


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _note(kind: str, text: str) -> NoteRecord:
    return NoteRecord(kind, text, parse_codes(text))


def _notes(element: ET.Element) -> list[NoteRecord]:
    """The instructional notes written directly on a chapter, block or code, in document order."""
    notes: list[NoteRecord] = []
    for child in element:
        kind = _NOTE_ELEMENTS.get(child.tag)
        if kind is not None:
            notes.extend(_note(kind, _text(line)) for line in child if line.tag == "note" and _text(line))
        elif child.tag == "sevenChrNote":
            notes.extend(_note("seventh_character", _text(line)) for line in child if _text(line))
        elif child.tag == "sevenChrDef":
            notes.extend(_note("seventh_character", text) for text in _extension_notes(child))
    return notes


def _extension_notes(definition: ET.Element) -> list[str]:
    """One line per 7th character, "B: initial encounter for open fracture type I or II / ..."."""
    lines: list[str] = []
    for child in definition:
        if child.tag == "extension":
            lines.append(f"{child.get('char')}: {_text(child)}")
        elif child.tag == "note" and lines and _text(child):
            # A <note> after an extension qualifies that extension (another wording of it).
            lines[-1] += f" / {_text(child)}"
    return lines


def _seventh_characters(diag: ET.Element, inherited: _SeventhCharacters | None) -> _SeventhCharacters | None:
    definition = diag.find("sevenChrDef")
    found = inherited
    if definition is not None:
        extensions = tuple((e.get("char", ""), _text(e)) for e in definition.iter("extension"))
        found = _SeventhCharacters(extensions, inherited.exceptions if inherited else frozenset())
    exceptions = set()
    for line in diag.iterfind("notes/note"):
        rule = _SEVENTH_CHARACTER_EXCEPTION.search(_text(line))
        if rule is None:
            continue
        scope = rule["scope"].replace(".", "")
        sevenths = re.findall(r"\b[A-Z]\b", rule["sevenths"])
        for sixth in _SIXTH_CHARACTER.findall(rule["sixths"]):
            exceptions.update((scope, sixth, seventh) for seventh in sevenths)
    if exceptions and found is not None:
        found = _SeventhCharacters(found.extensions, found.exceptions | exceptions)
    return found


def _placeholder_base(code: str) -> str:
    """The code padded with X to six characters, so that the 7th character lands in 7th place."""
    dotted = code if "." in code else code + "."
    return dotted.ljust(7, "X")


class _Reader:
    def __init__(self) -> None:
        self.codes: list[CodeRecord] = []

    def add(self, code: str, title: str, kind: str, billable: bool, parent: str | None, notes) -> CodeRecord:
        record = CodeRecord(
            system=SYSTEM,
            code=code,
            title=title,
            kind=kind,
            billable=billable,
            parent=parent,
            release=RECORD_RELEASE,
            notes=notes,
        )
        self.codes.append(record)
        return record

    def chapter(self, chapter: ET.Element) -> None:
        number = _text(chapter.find("name"))
        self.add(number, _text(chapter.find("desc")), "chapter", False, None, _notes(chapter))
        for section in chapter.findall("section"):
            self.block(section, number)

    def block(self, section: ET.Element, chapter: str) -> None:
        block_id = section.get("id", "")
        # A block of one category is written like the category (B99); as a range (B99-B99) it keeps
        # its own code next to the category it holds.
        code = block_id if "-" in block_id else f"{block_id}-{block_id}"
        self.add(code, _text(section.find("desc")), "block", False, chapter, _notes(section))
        for diag in section.findall("diag"):
            self.diag(diag, code, None)

    def diag(self, diag: ET.Element, parent: str, inherited: _SeventhCharacters | None) -> None:
        code = _text(diag.find("name"))
        title = _text(diag.find("desc"))
        children = diag.findall("diag")
        seventh = _seventh_characters(diag, inherited)
        extended = [] if children or seventh is None else self.extensions(code, seventh)
        has_children = bool(children or extended)
        kind = "category" if len(code) == 3 else ("subcategory" if has_children else "code")
        self.add(code, title, kind, not has_children, parent, _notes(diag))
        for child in children:
            self.diag(child, code, seventh)
        for extended_code, extension_text in extended:
            self.add(extended_code, f"{title}, {extension_text}", "code", True, code, [])

    @staticmethod
    def extensions(code: str, seventh: _SeventhCharacters) -> list[tuple[str, str]]:
        base = _placeholder_base(code)
        plain = base.replace(".", "")
        return [
            (base + character, text)
            for character, text in seventh.extensions
            if not any(
                plain.startswith(scope) and plain[5] == sixth and character == seventh_char
                for scope, sixth, seventh_char in seventh.exceptions
            )
        ]


def read_tabular(path: Path) -> list[CodeRecord]:
    """Every item of the tabular list at `path`, parents before children, in tabular order."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as error:
        raise TabularDataError(f"cannot read the ICD-10-CM tabular XML at {path}: {error}") from error
    reader = _Reader()
    for chapter in root.findall("chapter"):
        reader.chapter(chapter)
    return reader.codes


def _check_counts(codes: list[CodeRecord], path: Path) -> None:
    billable = sum(1 for record in codes if record.billable)
    if (len(codes), billable) != (EXPECTED_ITEMS, EXPECTED_BILLABLE):
        raise TabularDataError(
            f"{path.name} gave {len(codes)} items ({billable} billable); ICD-10-CM {RELEASE} has "
            f"{EXPECTED_ITEMS} ({EXPECTED_BILLABLE} billable): a different or damaged file"
        )


def _clinical_categories(
    codes: list[CodeRecord],
) -> tuple[list[ClinicalCategoryRecord], list[CategoryMemberRecord]]:
    try:
        from services.lookup.sources.ccsr_loader import read_ccsr
    except ImportError:
        log.warning("no CCSR reader: ICD-10-CM is stored without clinical categories")
        return [], []
    categories, members = read_ccsr()
    known = {record.code for record in codes}
    kept = [member for member in members if member.code in known]
    if len(kept) != len(members):
        log.info(
            "CCSR members whose code is not in ICD-10-CM were dropped",
            extra={"dropped": len(members) - len(kept), "kept": len(kept)},
        )
    return categories, kept


def load(path: Path | None = None) -> list[SystemData]:
    """ICD-10-CM FY2026 (April 1, 2026): every item with its notes, and the CCSR categories.

    `path` replaces the carried tabular XML (tests give damaged copies); it must be the same release.
    """
    path = path or tabular_path()
    codes = read_tabular(path)
    _check_counts(codes, path)
    categories, members = _clinical_categories(codes)
    info = SystemRecord(
        system=SYSTEM,
        name="ICD-10-CM",
        version=VERSION,
        release=RELEASE,
        licence=LICENCE,
        coverage=COVERAGE,
        source=f"{CARRIER} {importlib.metadata.version(CARRIER)}: CDC tabular XML {TABULAR_FILE}",
    )
    return [SystemData(info=info, codes=codes, categories=categories, category_members=members)]
