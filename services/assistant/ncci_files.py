"""Reading CMS's Medicare NCCI files: procedure-to-procedure (PTP) edits and medically unlikely edits (MUEs).

The layouts are the ones CMS publishes each quarter on its NCCI pages (see docs/importers.md):

- PTP edits (`ccipra-v321r0-f1.txt` practitioner, `ccioph-…` outpatient hospital): tab-separated
  text in Windows-1252, a preamble (the AMA copyright line, a title, a header block whose column
  names run over several lines), then one edit per line: column 1 code, column 2 code, `*` when the
  edit existed before 1996, effective date `YYYYMMDD`, deletion date `YYYYMMDD` or `*` (none),
  modifier indicator `0`/`1`/`9`, and the edit's rationale. A large table comes in several parts
  (`-f1` … `-f4`), each with its own preamble.
- MUEs (`MCR_MUE_PractitionerServices_Eff_01-01-2026.csv`, `…OutpatientHospitalServices…`,
  `…DMESupplierServices…`): CSV in Windows-1252, a quoted preamble, a header row (`HCPCS/CPT Code`,
  `<Setting> Services MUE Values`, `MUE Adjudication Indicator`, `MUE Rationale`), then one code
  per row; the indicator cell holds its digit and words (`2 Date of Service Edit: Policy`).

Lines before the first edit are the preamble and are skipped (the header must be among them);
after it, every non-blank line must be an edit, and each one that is not is reported with its file
and line. Reading is all or nothing: NcciFileError lists the problems and nothing is returned.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PRACTITIONER = "practitioner"
HOSPITAL = "outpatient_hospital"
DME = "dme_supplier"
PTP_SETTINGS = (PRACTITIONER, HOSPITAL)
MUE_SETTINGS = (PRACTITIONER, HOSPITAL, DME)
MAX_PROBLEMS_SHOWN = 50
MAX_RATIONALE = 300

# CPT (five digits, or four and F/T/U) and HCPCS Level II (a letter and four digits) codes.
_CODE = re.compile(r"^(?:[0-9]{4}[0-9FTU]|[A-Z][0-9]{4})$")
_PTP_NAME = re.compile(r"cci(pra|oph)-v(\d{2})(\d)r(\d+)(?:-f(\d+))?", re.IGNORECASE)
# The header row names the two code columns: "Column 1", "Column 2" (some copies drop the space).
_HEADER = re.compile(r"column\s*1\b.*column\s*2\b", re.IGNORECASE)
_MUE_DATE = re.compile(r"Eff_(\d{2})-(\d{2})-(\d{4})", re.IGNORECASE)
_MUE_SETTING_WORDS = (("practitioner", PRACTITIONER), ("outpatient hospital", HOSPITAL), ("dme", DME))


class NcciFileError(ValueError):
    """A file that is not in CMS's layout, or lines that are not edits; `problems` says where and why."""

    def __init__(self, problems: list[str]) -> None:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        super().__init__("\n".join(shown + ([f"... and {more:,} more"] if more else [])))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class PtpEdit:
    column_one: str
    column_two: str
    effective: date
    # The first day the edit no longer applies; None while it is in force.
    deleted: date | None
    modifier_indicator: str
    rationale: str
    before_1996: bool


@dataclass(frozen=True)
class Mue:
    code: str
    units: int
    adjudication: int
    adjudication_text: str
    rationale: str


@dataclass(frozen=True)
class TextFile:
    """One file, named as the operator knows it (`x.zip:member.txt` for a zip member), read when needed.

    A practitioner PTP table is a few hundred megabytes of text over its parts: each part is read
    when its turn comes, not all at once.
    """

    name: str
    read: Callable[[], bytes]


@dataclass
class PtpSource:
    """The files of one PTP table, which table they are, and a fingerprint of their bytes."""

    setting: str
    version: str
    files: list[TextFile]
    fingerprint: str

    @property
    def sources(self) -> list[str]:
        return [f.name for f in self.files]


@dataclass
class MueTable:
    setting: str
    version: str
    mues: list[Mue]
    sources: list[str]
    fingerprint: str


def _member(path: Path, name: str) -> Callable[[], bytes]:
    def read() -> bytes:
        with zipfile.ZipFile(path) as archive:
            return archive.read(name)

    return read


def text_files(paths: list[Path], suffix: str) -> list[TextFile]:
    """The files to read: each path, or the members of a zip that end in `suffix`, in name order."""
    files = []
    for path in paths:
        if not path.is_file():
            raise NcciFileError([f"{path}: no such file"])
        if path.suffix.lower() == ".zip":
            with zipfile.ZipFile(path) as archive:
                members = sorted(n for n in archive.namelist() if n.lower().endswith(suffix))
            if not members:
                raise NcciFileError([f"{path.name}: the zip holds no {suffix} file"])
            files += [TextFile(f"{path.name}:{n}", _member(path, n)) for n in members]
        else:
            files.append(TextFile(path.name, path.read_bytes))
    return files


def _fingerprint(files: list[TextFile]) -> str:
    digest = hashlib.sha256()
    for file in sorted(files, key=lambda f: f.name):
        digest.update(hashlib.sha256(file.read()).digest())
    return digest.hexdigest()


def _lines(data: bytes) -> Iterator[tuple[int, str]]:
    # CMS writes Windows-1252 (the preamble's ® is one byte); the edits themselves are ASCII.
    yield from enumerate(data.decode("cp1252", errors="replace").splitlines(), start=1)


def _date(text: str) -> date:
    if not re.fullmatch(r"\d{8}", text):
        raise ValueError(f"{text!r} is not a date YYYYMMDD")
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


def ptp_version(names: list[str]) -> tuple[str | None, str | None]:
    """The setting and version CMS's file names carry (`ccipra-v321r0-f1.txt`: practitioner, 32.1 r0)."""
    settings, versions = set(), set()
    for name in names:
        found = _PTP_NAME.search(name)
        if found:
            settings.add(PRACTITIONER if found[1].lower() == "pra" else HOSPITAL)
            versions.add(f"{found[2]}.{found[3]}r{found[4]}")
    return (settings.pop() if len(settings) == 1 else None, versions.pop() if len(versions) == 1 else None)


def _ptp_edit(fields: list[str]) -> PtpEdit:
    if len(fields) < 6:
        raise ValueError(f"{len(fields)} tab-separated values where an edit has 7")
    first, second, before_1996, effective, deleted, modifier = fields[:6]
    rationale = fields[6] if len(fields) > 6 else ""
    for label, code in (("column 1", first), ("column 2", second)):
        if not _CODE.match(code):
            raise ValueError(f"{label} {code!r} is not a CPT or HCPCS code")
    if before_1996 not in ("", "*"):
        raise ValueError(f"the before-1996 mark is {before_1996!r}, not '*' or empty")
    start = _date(effective)
    end = None if deleted in ("", "*") else _date(deleted)
    if end is not None and end < start:
        raise ValueError(f"deleted {end} before it took effect {start}")
    if modifier not in ("0", "1", "9"):
        raise ValueError(f"modifier indicator {modifier!r} is not 0, 1 or 9")
    if len(rationale) > MAX_RATIONALE:
        raise ValueError(f"rationale longer than {MAX_RATIONALE} characters")
    return PtpEdit(first, second, start, end, modifier, rationale, before_1996 == "*")


def _looks_like_edit(fields: list[str]) -> bool:
    return len(fields) >= 4 and bool(_CODE.match(fields[0])) and bool(re.fullmatch(r"\d{8}", fields[3]))


def ptp_source(files: list[TextFile], setting: str | None = None, version: str | None = None) -> PtpSource:
    """Which PTP table these files are (from their names, or as given); NcciFileError when unclear."""
    problems: list[str] = []
    named_setting, named_version = ptp_version([f.name for f in files])
    setting = setting or named_setting
    version = version or named_version
    if setting not in PTP_SETTINGS:
        problems.append(
            "which table is this? the file names do not say (ccipra-… practitioner, ccioph-… outpatient "
            f"hospital): pass --setting {' or '.join(PTP_SETTINGS)}"
        )
    if not version:
        problems.append("which version is this? the file names do not say (ccipra-v321r0-…): pass --version")
    parts = sorted(int(m[5]) for f in files if (m := _PTP_NAME.search(f.name)) and m[5])
    if parts and parts != list(range(1, len(parts) + 1)):
        problems.append(f"parts {parts} of a table given: import every part (-f1, -f2, …) together")
    if problems:
        raise NcciFileError(problems)
    return PtpSource(setting, version, files, _fingerprint(files))  # type: ignore[arg-type]


def iter_ptp_edits(source: PtpSource, problems: list[str]) -> Iterator[PtpEdit]:
    """The edits of every part in order; lines that are not edits go to `problems` (the caller decides)."""
    for file in source.files:
        seen_header = in_edits = False
        for number, line in _lines(file.read()):
            fields = [value.strip().strip('"') for value in line.split("\t")]
            if not in_edits:
                seen_header = seen_header or bool(_HEADER.search(line))
                if not _looks_like_edit(fields):
                    continue
                if not seen_header:
                    problems.append(f"{file.name}:{number}: an edit before the 'Column 1 / Column 2' header")
                    break
                in_edits = True
            if not line.strip():
                continue
            try:
                yield _ptp_edit(fields)
            except ValueError as error:
                problems.append(f"{file.name}:{number}: {error}")
        if not in_edits and not any(p.startswith(f"{file.name}:") for p in problems):
            problems.append(
                f"{file.name}: no edits found: is this a CMS PTP edit file (ccipra-… or ccioph-…)?"
            )


def read_ptp(files: list[TextFile], setting: str | None = None, version: str | None = None) -> list[PtpEdit]:
    """Every edit of a small PTP table at once (tests, checks), or NcciFileError listing what is wrong."""
    problems: list[str] = []
    edits = list(iter_ptp_edits(ptp_source(files, setting, version), problems))
    if problems:
        raise NcciFileError(problems)
    return edits


def _mue_setting(header_cell: str) -> str | None:
    lowered = header_cell.lower()
    return next((setting for words, setting in _MUE_SETTING_WORDS if words in lowered), None)


def _mue(row: list[str]) -> Mue:
    if len(row) < 3:
        raise ValueError(f"{len(row)} values where a row has 4 (code, MUE value, indicator, rationale)")
    code, units, indicator = row[0], row[1], row[2]
    rationale = row[3] if len(row) > 3 else ""
    if not _CODE.match(code):
        raise ValueError(f"{code!r} is not a CPT or HCPCS code")
    if not units.isdigit():
        raise ValueError(f"MUE value {units!r} is not a whole number of units")
    found = re.match(r"^([123])\b\s*(.*)$", indicator)
    if not found:
        raise ValueError(f"MUE adjudication indicator {indicator!r} does not start with 1, 2 or 3")
    return Mue(code, int(units), int(found[1]), found[2], rationale[:MAX_RATIONALE])


def read_mue(file: TextFile, version: str | None = None) -> MueTable:
    """Every MUE of one CMS MUE table, or NcciFileError listing what is wrong."""
    problems: list[str] = []
    data = file.read()
    text = data.decode("cp1252", errors="replace")
    setting = None
    mues: list[Mue] = []
    seen: dict[str, int] = {}
    # csv reads quoted values that hold line breaks (the preamble) as one row; line_num follows the file.
    reader = csv.reader(io.StringIO(text, newline=""))
    for row in reader:
        row = [value.strip() for value in row]
        if setting is None:
            if row and "hcpcs" in row[0].lower() and len(row) > 1 and "mue" in row[1].lower():
                setting = _mue_setting(row[1])
                if setting is None:
                    problems.append(f"{file.name}:{reader.line_num}: which services is {row[1]!r} about?")
                    break
            continue
        if not any(row):
            continue
        try:
            mue = _mue(row)
        except ValueError as error:
            problems.append(f"{file.name}:{reader.line_num}: {error}")
            continue
        if mue.code in seen:
            problems.append(
                f"{file.name}:{reader.line_num}: {mue.code} listed again (first on line {seen[mue.code]})"
            )
            continue
        seen[mue.code] = reader.line_num
        mues.append(mue)
    if setting is None and not problems:
        problems.append(
            f"{file.name}: no 'HCPCS/CPT Code, … MUE Values' header found: is this a CMS MUE table (.csv)?"
        )
    named = _MUE_DATE.search(file.name)
    version = version or (f"{named[3]}-{named[1]}-{named[2]}" if named else None)
    if not version:
        problems.append(f"{file.name}: which quarter is this? the name has no Eff_MM-DD-YYYY: pass --version")
    if problems:
        raise NcciFileError(problems)
    return MueTable(
        setting, version, mues, [file.name], hashlib.sha256(hashlib.sha256(data).digest()).hexdigest()
    )  # type: ignore[arg-type]
