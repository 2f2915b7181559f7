"""CPT from the operator's licensed AMA file (CSV): read, validate everything, then build the records.

CPT descriptors belong to the AMA, so nothing of them ships with the platform: the operator who holds a
licence imports the file. The import is all or nothing: every problem is collected with its line
number and reported in one `ImportFileError`, and no record is returned while any problem remains.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from services.lookup.records import CodeRecord, SystemData, SystemRecord

log = logging.getLogger(__name__)

# An operator fixing a file wants the first problems, not ten thousand lines of the same one.
MAX_LISTED_PROBLEMS = 50


class ImportFileError(ValueError):
    """An operator's file cannot be imported; `problems` lists what is wrong, line by line."""

    def __init__(self, path: Path, problems: list[str], total: int | None = None):
        self.path = path
        self.problems = problems
        self.total = total if total is not None else len(problems)
        listed = "\n".join(f"  {p}" for p in problems)
        more = self.total - len(problems)
        tail = f"\n  ... and {more} more" if more > 0 else ""
        noun = "problem" if self.total == 1 else "problems"
        super().__init__(f"{path.name}: nothing imported, {self.total} {noun}:\n{listed}{tail}")


class ProblemList:
    """Collects problems up to the listing limit and keeps counting past it."""

    def __init__(self, path: Path):
        self.path = path
        self.listed: list[str] = []
        self.total = 0

    def add(self, line: int | None, text: str) -> None:
        self.total += 1
        if len(self.listed) < MAX_LISTED_PROBLEMS:
            self.listed.append(f"line {line}: {text}" if line is not None else text)

    def raise_if_any(self) -> None:
        if self.total:
            raise ImportFileError(self.path, self.listed, self.total)


def fingerprint(content: bytes) -> str:
    """The first 12 hex digits of the file's sha256: enough to tell two imports apart."""
    return hashlib.sha256(content).hexdigest()[:12]


_VERSION = re.compile(r"^(\d{4})(?:[.\-](\d{2}))?$")


def normalise_version(text: str) -> str | None:
    """`2026` -> `2026`, `2026-07`/`2026.07` -> `2026.07`; None when it is not a year (with a month)."""
    match = _VERSION.match(text.strip())
    if not match or not 1 <= int(match.group(2) or "1") <= 12:
        return None
    year, month = match.groups()
    return f"{year}.{month}" if month else year


# --- the layout ------------------------------------------------------------------------------------

# Header spellings accepted for each field, compared after `_header_key` (lower case, single spaces).
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "code": ("code", "cpt code", "cpt", "procedure code", "hcpcs code"),
    "short_descriptor": ("short descriptor", "short description", "short"),
    "long_descriptor": ("long descriptor", "long description", "long", "descriptor", "description"),
    "consumer_descriptor": (
        "consumer descriptor",
        "consumer friendly descriptor",
        "consumer description",
        "consumer friendly description",
        "cfd",
    ),
    "effective_date": ("effective date", "date effective"),
    "version": ("version", "cpt version", "release"),
}
REQUIRED_COLUMNS = ("code", "short_descriptor", "long_descriptor")


def _header_key(name: str) -> str:
    return " ".join(re.sub(r"[_\-]+", " ", name.strip().lower()).split())


_ALIASES = {_header_key(alias): field for field, names in COLUMN_NAMES.items() for alias in names}

# Category I: five digits; PLA: four digits and U; Category II: four digits and F; Category III: T.
_CPT_CODE = re.compile(r"^\d{4}[0-9FTU]$")
_MODIFIER = re.compile(r"^[0-9A-Z]{2}$")

_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%m/%d/%Y")


@dataclass(frozen=True)
class CptSection:
    code: str  # the heading's range as the CPT book prints it
    title: str
    # Inclusive numeric ranges of the five-digit codes, or the letter that ends the code.
    ranges: tuple[tuple[int, int], ...] = ()
    suffix: str = ""


# Book order. Anesthesia's 99100-99140 sits inside Medicine's 90281-99199, so the first match wins.
SECTIONS = (
    CptSection("99202-99499", "Evaluation and Management", ranges=((99202, 99499),)),
    CptSection("00100-01999", "Anesthesia", ranges=((100, 1999), (99100, 99140))),
    CptSection("10004-69990", "Surgery", ranges=((10004, 69990),)),
    CptSection("70010-79999", "Radiology", ranges=((70010, 79999),)),
    CptSection("80047-89398", "Pathology and Laboratory", ranges=((80047, 89398),), suffix="U"),
    CptSection("90281-99199", "Medicine", ranges=((90281, 99199), (99500, 99607))),
    CptSection("0001F-9999F", "Category II Codes (performance measurement)", suffix="F"),
    CptSection("0001T-9999T", "Category III Codes (emerging technology)", suffix="T"),
)


def section_of(code: str) -> CptSection | None:
    """The CPT section a well-formed code belongs to, or None when it falls between sections."""
    last = code[-1]
    if not last.isdigit():
        return next((s for s in SECTIONS if s.suffix == last), None)
    number = int(code)
    for section in SECTIONS:
        if any(low <= number <= high for low, high in section.ranges):
            return section
    return None


@dataclass(frozen=True)
class CptRow:
    line: int
    code: str
    short_descriptor: str
    long_descriptor: str
    consumer_descriptor: str


# --- reading ---------------------------------------------------------------------------------------


def _decode(path: Path, content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError(path, ["the file is UTF-16 text: save it as CSV in UTF-8"])
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        byte = content[error.start]
        raise ImportFileError(
            path, [f"line {line}: byte 0x{byte:02X} is not UTF-8: save the file as CSV in UTF-8"]
        ) from None


def _map_header(header: list[str], problems: ProblemList) -> dict[str, int]:
    """Field -> column index; unknown columns are logged and ignored."""
    columns: dict[str, int] = {}
    unknown = []
    for index, name in enumerate(header):
        field = _ALIASES.get(_header_key(name))
        if field is None:
            unknown.append(name.strip())
        elif field in columns:
            first = header[columns[field]].strip()
            problems.add(1, f"columns {first!r} and {name.strip()!r} both give the {field}")
        else:
            columns[field] = index
    missing = [field for field in REQUIRED_COLUMNS if field not in columns]
    if missing and any(_CPT_CODE.match(name.strip().upper()) for name in header):
        problems.add(1, "this looks like a row of data: the first row must be the header")
    for field in missing:
        accepted = ", ".join(repr(n) for n in COLUMN_NAMES[field])
        problems.add(1, f"no {field.replace('_', ' ')} column (a header named one of {accepted})")
    if unknown:
        log.info("CPT import: ignoring unknown columns", extra={"columns": unknown})
    return columns


def _parse_date(text: str) -> date | None:
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def read_cpt_file(path: Path) -> tuple[list[CptRow], dict[int, str], bytes]:
    """The file's rows and its version cells by line, or ImportFileError listing every problem."""
    content = path.read_bytes()
    text = _decode(path, content)
    if not text.strip():
        raise ImportFileError(path, ["the file is empty: expected a header row and one row per code"])
    first_line = text.split("\n", 1)[0]
    # The AMA's own data files are tab-separated; a header with tabs and no commas says which.
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    problems = ProblemList(path)
    header = next(reader)
    columns = _map_header(header, problems)
    problems.raise_if_any()

    rows: list[CptRow] = []
    versions: dict[int, str] = {}
    first_line_of: dict[str, int] = {}
    line = 1
    try:
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                problems.add(
                    start,
                    f"{len(cells)} values but the header has {len(header)} columns"
                    " (a value with a comma or a quote needs double quotes around it)",
                )
                continue
            row = _read_row(start, cells, columns, problems, first_line_of)
            if row is not None:
                rows.append(row)
            if "version" in columns and cells[columns["version"]].strip():
                versions[start] = cells[columns["version"]].strip()
    except csv.Error as error:
        # The record that failed starts after the last one read; usually a quote opened there.
        problems.add(line + 1, f"the CSV cannot be read from here on ({error}): is a quote left open?")
    if not rows and not problems.total:
        problems.add(None, "the file has a header but no codes")
    problems.raise_if_any()
    return rows, versions, content


def _read_row(
    line: int,
    cells: list[str],
    columns: dict[str, int],
    problems: ProblemList,
    first_line_of: dict[str, int],
) -> CptRow | None:
    def cell(field: str) -> str:
        return " ".join(cells[columns[field]].split()) if field in columns else ""

    code = cell("code").upper()
    before = problems.total
    if not code:
        problems.add(line, "the code is empty")
    elif _MODIFIER.match(code):
        problems.add(line, f"{code!r} is a modifier, not a code: modifiers do not belong in this file")
    elif not _CPT_CODE.match(code):
        problems.add(
            line,
            f"{code!r} is not a CPT code: five characters, four digits and then a digit,"
            " F (Category II), T (Category III) or U (PLA)",
        )
    elif section_of(code) is None:
        problems.add(line, f"code {code} is in no CPT section (is this an older edition's code?)")
    elif code in first_line_of:
        problems.add(line, f"code {code} is listed twice (first on line {first_line_of[code]})")
    else:
        first_line_of[code] = line
    label = f"code {code}" if code else "the row"
    for field in ("long_descriptor", "short_descriptor"):
        if not cell(field):
            problems.add(line, f"{label} has an empty {field.replace('_', ' ')}")
    effective = cell("effective_date")
    if effective and _parse_date(effective) is None:
        problems.add(line, f"effective date {effective!r} is not a date (YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY)")
    if problems.total > before:
        return None
    return CptRow(line, code, cell("short_descriptor"), cell("long_descriptor"), cell("consumer_descriptor"))


def _resolve_version(path: Path, argument: str | None, versions: dict[int, str]) -> str:
    """The --version argument, else the file's version column; they must agree when both are there."""
    problems = ProblemList(path)
    file_version: str | None = None
    file_line = 0
    for line, text in versions.items():
        normalised = normalise_version(text)
        if normalised is None:
            problems.add(line, f"version {text!r} is not a year (e.g. 2026)")
        elif file_version is None:
            file_version, file_line = normalised, line
        elif normalised != file_version:
            problems.add(line, f"version {text!r} differs from {file_version!r} on line {file_line}")
    problems.raise_if_any()
    if argument is not None:
        version = normalise_version(argument)
        if version is None:
            raise ImportFileError(path, [f"--version {argument!r} is not a year: pass e.g. --version 2026"])
        if file_version is not None and version != file_version:
            raise ImportFileError(
                path,
                [
                    f"line {file_line}: the file says version {file_version}"
                    f" but --version {version} was passed"
                ],
            )
        return version
    if file_version is None:
        raise ImportFileError(
            path,
            ["the file names no version: pass the CPT year, e.g. --version 2026, or add a version column"],
        )
    return file_version


# --- the records -----------------------------------------------------------------------------------


def load_cpt(path: Path, *, version: str | None = None) -> SystemData:
    """CPT (system "cpt") from the operator's licensed CSV; ImportFileError when anything is wrong."""
    path = Path(path)
    rows, versions, content = read_cpt_file(path)
    version = _resolve_version(path, version, versions)
    year = version[:4]
    release = f"CPT {version} (imported from {path.name})"

    by_section: dict[str, list[CptRow]] = {}
    for row in rows:
        section = section_of(row.code)
        assert section is not None  # read_cpt_file rejected codes outside every section
        by_section.setdefault(section.code, []).append(row)

    records: list[CodeRecord] = []
    for section in SECTIONS:
        members = by_section.get(section.code)
        if not members:
            continue  # a file with, say, only Category III codes shows only that section
        records.append(
            CodeRecord(
                system="cpt",
                code=section.code,
                title=section.title,
                kind="chapter",
                billable=False,
                parent=None,
                release=release,
            )
        )
        records.extend(_code_record(row, section.code, release) for row in members)

    info = SystemRecord(
        system="cpt",
        name="CPT",
        version=version,
        release=release,
        licence=f"CPT © {year} American Medical Association. All rights reserved.",
        coverage=f"imported by the operator: {len(rows)} codes",
        source=f"operator import: {path.name} (sha256 {fingerprint(content)})",
    )
    log.info("CPT import read", extra={"file": path.name, "codes": len(rows), "version": version})
    return SystemData(info=info, codes=records)


def _code_record(row: CptRow, section: str, release: str) -> CodeRecord:
    # Coders search by the short descriptor's abbreviations and patients by the consumer wording.
    terms = [t for t in (row.short_descriptor, row.consumer_descriptor) if t and t != row.long_descriptor]
    return CodeRecord(
        system="cpt",
        code=row.code,
        title=row.long_descriptor,
        kind="code",
        billable=True,
        parent=section,
        release=release,
        short_title=row.short_descriptor,
        search_terms=terms,
        lay_description=row.consumer_descriptor,
    )
