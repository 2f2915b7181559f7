"""HCPCS Level II from CMS's annual alpha-numeric file (HCPC<year>_<MON>_ANWEB_*.txt, fixed width).

Positions are those of CMS's "HCPCS Contractor Record" layout (HCPC<year>_recordlayout.txt, shipped
in the same zip): 320-character records, one first line per code or modifier and continuation lines
that carry the rest of a long description. The import is all or nothing, like CPT's.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from services.lookup.records import CodeRecord, SystemData, SystemRecord
from services.lookup.sources.cpt_importer import (
    ImportFileError,
    ProblemList,
    fingerprint,
    normalise_version,
)

__all__ = ["ImportFileError", "load_hcpcs", "load_hcpcs_modifiers"]

log = logging.getLogger(__name__)

RECORD_LENGTH = 320

# 1-based inclusive positions, as the record layout prints them.
CODE = (1, 5)
MODIFIER = (4, 5)  # positions 1-3 are blank on a modifier's lines
SEQUENCE = (6, 10)
RECORD_ID = (11, 11)
LONG_DESCRIPTION = (12, 91)
SHORT_DESCRIPTION = (92, 119)
ACTION_EFFECTIVE_DATE = (277, 284)
TERMINATION_DATE = (285, 292)
ACTION_CODE = (293, 293)

FIRST_LINE, CONTINUATION, MODIFIER_FIRST_LINE, MODIFIER_CONTINUATION = "3", "4", "7", "8"

# The sections of Level II, by the code's first letter (generic category names, not descriptors).
SECTIONS = {
    "A": "Transportation services, medical and surgical supplies",
    "B": "Enteral and parenteral therapy",
    "C": "Outpatient prospective payment system (hospital outpatient)",
    "E": "Durable medical equipment",
    "G": "Procedures and professional services (temporary)",
    "H": "Alcohol and drug abuse treatment and behavioral health services",
    "J": "Drugs administered other than oral method",
    "K": "Temporary codes for durable medical equipment",
    "L": "Orthotic and prosthetic procedures and devices",
    "M": "Other medical services",
    "P": "Pathology and laboratory services",
    "Q": "Temporary codes",
    "R": "Diagnostic radiology services",
    "S": "Temporary national codes (non-Medicare)",
    "T": "National codes for state Medicaid agencies",
    "U": "Coronavirus diagnostic laboratory tests",
    "V": "Vision and hearing services",
}
# D codes are the ADA's CDT: copyrighted like CPT, so they are left out when a file carries them.
DENTAL = "D"

_LEVEL_II_CODE = re.compile(r"^[A-Z]\d{4}$")
_MODIFIER_CODE = re.compile(r"^[0-9A-Z]{2}$")
_FILE_NAME = re.compile(r"HCPCS?(\d{4})_([A-Z]{3})", re.IGNORECASE)
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass
class HcpcsEntry:
    """One code or modifier: its first line and the long description its continuations complete."""

    line: int
    code: str
    long_parts: list[str]
    short_description: str
    termination: date | None

    @property
    def long_description(self) -> str:
        return " ".join(self.long_parts)


@dataclass
class HcpcsFile:
    procedures: list[HcpcsEntry] = field(default_factory=list)
    modifiers: list[HcpcsEntry] = field(default_factory=list)
    dental_skipped: int = 0


@dataclass(frozen=True)
class Release:
    version: str  # "2026.01": sortable, so an April import replaces January's and not the reverse
    year: int
    month: int

    @property
    def effective(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def month_name(self) -> str:
        return _MONTH_NAMES[self.month - 1]


def _field(raw: bytes, span: tuple[int, int]) -> str:
    chunk = raw[span[0] - 1 : span[1]]
    # CMS writes ASCII; a re-saved file may carry UTF-8 or Windows-1252 accents. Positions are bytes.
    try:
        text = chunk.decode("utf-8")
    except UnicodeDecodeError:
        text = chunk.decode("cp1252", errors="replace")
    return " ".join(text.split())


def _date(raw: bytes, span: tuple[int, int], name: str, line: int, problems: ProblemList) -> date | None:
    text = _field(raw, span)
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        problems.add(line, f"{name} {text!r} in positions {span[0]}-{span[1]} is not a date (YYYYMMDD)")
        return None


def read_hcpcs_file(path: Path) -> tuple[HcpcsFile, bytes]:
    """Every code and modifier of the file, or ImportFileError listing every problem."""
    content = path.read_bytes()
    problems = ProblemList(path)
    parsed = HcpcsFile()
    seen: dict[tuple[str, str], int] = {}
    # The entry that continuation lines extend; None after a left-out dental code's first line.
    current: HcpcsEntry | None = None
    current_key: tuple[str, str] | None = None
    for number, raw in enumerate(content.splitlines(), start=1):
        if not raw.strip():
            continue
        if len(raw) < RECORD_ID[1]:
            problems.add(
                number,
                f"{len(raw)} characters: too short for a HCPCS record (the record id is in position 11)",
            )
            continue
        if len(raw) > RECORD_LENGTH:
            problems.add(number, f"{len(raw)} characters: a HCPCS record has {RECORD_LENGTH}")
            continue
        record_id = _field(raw, RECORD_ID)
        if record_id in (FIRST_LINE, CONTINUATION):
            kind, code = "code", _field(raw, CODE).upper()
            error = _code_problem(code)
        elif record_id in (MODIFIER_FIRST_LINE, MODIFIER_CONTINUATION):
            kind, code = "modifier", _field(raw, MODIFIER).upper()
            error = None if _MODIFIER_CODE.match(code) else f"{code!r} is not a HCPCS modifier"
        else:
            problems.add(
                number, f"record identification code {record_id!r} (position 11) is not 3, 4, 7 or 8"
            )
            continue
        if error:
            problems.add(number, error)
            current, current_key = None, None
            continue
        key = (kind, code)
        text = _field(raw, LONG_DESCRIPTION)
        if record_id in (CONTINUATION, MODIFIER_CONTINUATION):
            if current_key != key:
                problems.add(number, f"a continuation of {kind} {code} that does not follow its first line")
            elif current is not None and text:
                current.long_parts.append(text)
            continue
        current_key = key
        if key in seen:
            problems.add(number, f"{kind} {code} is listed twice (first on line {seen[key]})")
            current = None
            continue
        seen[key] = number
        if kind == "code" and code[0] == DENTAL:
            parsed.dental_skipped += 1
            current = None
            continue
        if not text:
            problems.add(number, f"{kind} {code} has an empty long description (positions 12-91)")
        termination = _date(raw, TERMINATION_DATE, "termination date", number, problems)
        _date(raw, ACTION_EFFECTIVE_DATE, "action effective date", number, problems)
        current = HcpcsEntry(number, code, [text], _field(raw, SHORT_DESCRIPTION), termination)
        (parsed.procedures if kind == "code" else parsed.modifiers).append(current)
    if not parsed.procedures and not parsed.modifiers and not problems.total:
        problems.add(None, "the file holds no HCPCS records")
    problems.raise_if_any()
    return parsed, content


def _code_problem(code: str) -> str | None:
    if code.isdigit() and len(code) == 5:
        return f"{code} is a CPT (Level I) code: this file must be HCPCS Level II; import CPT with import-cpt"
    if not _LEVEL_II_CODE.match(code):
        return f"{code!r} is not a HCPCS Level II code: a letter and four digits in positions 1-5"
    if code[0] not in SECTIONS and code[0] != DENTAL:
        return f"code {code}: no HCPCS Level II section starts with {code[0]!r}"
    return None


def resolve_release(path: Path, argument: str | None) -> Release:
    """Year and month from --version (2026 or 2026.04) or the file name (HCPC2026_JAN_...)."""
    match = _FILE_NAME.search(path.name)
    name_year = int(match.group(1)) if match else None
    name_month = (
        _MONTHS.index(match.group(2).upper()) + 1 if match and match.group(2).upper() in _MONTHS else None
    )
    year, month = name_year, name_month
    if argument is not None:
        version = normalise_version(argument)
        if version is None:
            raise ImportFileError(path, [f"--version {argument!r} is not a year: pass e.g. --version 2026"])
        year = int(version[:4])
        month = int(version[5:]) if "." in version else name_month
        if name_year is not None and (name_year, name_month) != (year, month):
            told = f"{name_year}" + (f" {_MONTHS[name_month - 1]}" if name_month else "")
            raise ImportFileError(path, [f"the file name says {told} but --version {argument} was passed"])
    if year is None:
        raise ImportFileError(
            path,
            [
                "the file name carries no year (CMS names it HCPC2026_JAN_ANWEB_...):"
                " pass the HCPCS year, e.g. --version 2026"
            ],
        )
    # The annual file is the January release; quarterly updates name their month.
    month = month or 1
    return Release(f"{year}.{month:02d}", year, month)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _ended_before(entry: HcpcsEntry, release: Release) -> bool:
    return entry.termination is not None and entry.termination < release.effective


def load_hcpcs(path: Path, *, version: str | None = None) -> SystemData:
    """HCPCS Level II (system "hcpcs") from CMS's record file; ImportFileError when anything is wrong."""
    path = Path(path)
    release_of = resolve_release(path, version)
    parsed, content = read_hcpcs_file(path)
    release = f"HCPCS Level II {release_of.year} ({release_of.month_name} release, imported)"

    by_letter: dict[str, list[HcpcsEntry]] = {}
    terminated = 0
    for entry in parsed.procedures:
        # Codes discontinued before this release stay in CMS's file for a grace period; a coder
        # looking a code up today must not find them as current.
        if _ended_before(entry, release_of):
            terminated += 1
            continue
        by_letter.setdefault(entry.code[0], []).append(entry)

    records: list[CodeRecord] = []
    for letter, title in SECTIONS.items():
        entries = by_letter.get(letter)
        if not entries:
            continue
        records.append(
            CodeRecord(
                system="hcpcs",
                code=letter,
                title=title,
                kind="chapter",
                billable=False,
                parent=None,
                release=release,
            )
        )
        records.extend(_code_record(entry, letter, release) for entry in entries)

    code_count = len(records) - len(by_letter)
    modifiers = sum(1 for m in parsed.modifiers if not _ended_before(m, release_of))
    left_out = [
        f"{_count(modifiers, 'modifier')} kept apart",
        f"{_count(terminated, 'code')} terminated before {release_of.effective.isoformat()} left out",
    ]
    if parsed.dental_skipped:
        left_out.append(f"{_count(parsed.dental_skipped, 'dental (CDT) code')} left out: they are the ADA's")
    info = SystemRecord(
        system="hcpcs",
        name="HCPCS Level II",
        version=release_of.version,
        release=release,
        licence="HCPCS Level II is maintained by CMS and is in the public domain.",
        coverage=f"imported by the operator: {_count(code_count, 'code')} ({'; '.join(left_out)})",
        source=f"operator import: {path.name} (sha256 {fingerprint(content)})",
    )
    log.info(
        "HCPCS import read",
        extra={
            "file": path.name,
            "codes": code_count,
            "modifiers": modifiers,
            "terminated": terminated,
            "dental": parsed.dental_skipped,
            "version": release_of.version,
        },
    )
    return SystemData(info=info, codes=records)


def _code_record(entry: HcpcsEntry, letter: str, release: str) -> CodeRecord:
    warnings = []
    if entry.termination is not None:
        warnings.append(f"CMS ends this code on {entry.termination.isoformat()} (termination date).")
    short = entry.short_description
    return CodeRecord(
        system="hcpcs",
        code=entry.code,
        title=entry.long_description,
        kind="code",
        billable=True,
        parent=letter,
        release=release,
        short_title=short,
        # Coders know the short descriptor's abbreviations; search should find them.
        search_terms=[short] if short and short != entry.long_description else [],
        data_warnings=warnings,
    )


def load_hcpcs_modifiers(path: Path, *, version: str | None = None) -> dict[str, str]:
    """The file's Level II modifiers in force for its release: modifier -> long description."""
    path = Path(path)
    release_of = resolve_release(path, version)
    parsed, _ = read_hcpcs_file(path)
    return {m.code: m.long_description for m in parsed.modifiers if not _ended_before(m, release_of)}
