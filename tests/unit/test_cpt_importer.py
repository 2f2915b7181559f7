"""The CPT importer: the operator's CSV in, validated records out, all or nothing."""

from __future__ import annotations

import csv
import hashlib
import logging
from pathlib import Path

import pytest
from medcode.lookup.v1 import lookup_pb2
from sqlalchemy import select

from services.common.db import create_db_engine
from services.lookup import storage
from services.lookup.sources.cpt_importer import (
    MAX_LISTED_PROBLEMS,
    ImportFileError,
    load_cpt,
    section_of,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLE = FIXTURES / "cpt_sample.csv"
AMA_HEADERS = FIXTURES / "cpt_sample_ama_headers.csv"

W = "(test fixture wording)"
E_M, ANES, SURG, RAD, PATH, MED, CAT2, CAT3 = (
    "99202-99499",
    "00100-01999",
    "10004-69990",
    "70010-79999",
    "80047-89398",
    "90281-99199",
    "0001F-9999F",
    "0001T-9999T",
)

# (code, kind, parent, title, short title, lay description) of every record the sample gives, in order.
SAMPLE_RECORDS = [
    (E_M, "chapter", None, "Evaluation and Management", "", ""),
    (
        "99213",
        "code",
        E_M,
        f"Office visit, established patient, low complexity {W}",
        "OFFICE VISIT EST PT LOW",
        f"Follow-up visit with your doctor for a simple problem {W}",
    ),
    (
        "99214",
        "code",
        E_M,
        f"Office visit, established patient, moderate complexity {W}",
        "OFFICE VISIT EST PT MOD",
        "",
    ),
    (ANES, "chapter", None, "Anesthesia", "", ""),
    (
        "00840",
        "code",
        ANES,
        f"Anesthesia for an open operation on the lower abdomen {W}",
        "ANES LOWER ABDOMEN OPEN",
        f"Anesthesia care during open belly surgery {W}",
    ),
    (
        "99135",
        "code",
        ANES,
        f"Anesthesia made harder by deliberately lowered blood pressure {W}",
        "ANES DELIBERATE LOW BP",
        f"Extra anesthesia work when blood pressure is lowered on purpose {W}",
    ),
    (SURG, "chapter", None, "Surgery", "", ""),
    (
        "27447",
        "code",
        SURG,
        f'Knee joint replacement, "total", both compartments {W}',
        "KNEE REPLACEMENT TOTAL",
        f"Replacing the whole knee joint {W}",
    ),
    (RAD, "chapter", None, "Radiology", "", ""),
    (
        "71046",
        "code",
        RAD,
        f"Chest x-ray, two views {W}",
        "CHEST XRAY 2 VIEWS",
        f"Two-picture x-ray of the chest {W}",
    ),
    (PATH, "chapter", None, "Pathology and Laboratory", "", ""),
    (
        "80053",
        "code",
        PATH,
        f"Comprehensive blood chemistry panel {W}",
        "CHEM PANEL COMPREHENSIVE",
        f"Blood test that checks many body chemicals at once {W}",
    ),
    (
        "0240U",
        "code",
        PATH,
        f"Respiratory virus panel by amplified probe, one lab's own test {W}",
        "RESP VIRUS PANEL PLA",
        f"Lab test for several breathing-tract viruses {W}",
    ),
    (MED, "chapter", None, "Medicine", "", ""),
    (
        "93000",
        "code",
        MED,
        f"Heart tracing (ECG) with reading and report {W}",
        "ECG WITH REPORT",
        f"Recording of the heart's electrical activity, read and reported by your doctor {W}",
    ),
    (
        "99507",
        "code",
        MED,
        f"Home visit to care for a urinary catheter {W}",
        "HOME VISIT CATHETER CARE",
        f"A nurse visits your home to look after your catheter {W}",
    ),
    (CAT2, "chapter", None, "Category II Codes (performance measurement)", "", ""),
    ("1036F", "code", CAT2, f"Patient reports not using tobacco now {W}", "TOBACCO NON-USER", ""),
    (CAT3, "chapter", None, "Category III Codes (emerging technology)", "", ""),
    (
        "0042T",
        "code",
        CAT3,
        f"Brain blood flow study by perfusion CT {W}",
        "BRAIN PERFUSION CT",
        f"Scan that shows blood flow in the brain {W}",
    ),
]


def summary(data):
    return [(r.code, r.kind, r.parent, r.title, r.short_title, r.lay_description) for r in data.codes]


def problems_of(path: Path, **kwargs) -> list[str]:
    with pytest.raises(ImportFileError) as caught:
        load_cpt(path, **kwargs)
    return caught.value.problems


def test_sample_gives_every_code_under_its_section():
    data = load_cpt(SAMPLE)

    assert summary(data) == SAMPLE_RECORDS
    codes = [r for r in data.codes if r.kind == "code"]
    assert all(r.billable for r in codes)
    assert not any(r.billable for r in data.codes if r.kind == "chapter")
    assert {r.release for r in data.codes} == {"CPT 2026 (imported from cpt_sample.csv)"}


def test_short_and_consumer_descriptors_are_search_terms():
    by_code = {r.code: r for r in load_cpt(SAMPLE).codes}

    assert by_code["99213"].search_terms == [
        "OFFICE VISIT EST PT LOW",
        f"Follow-up visit with your doctor for a simple problem {W}",
    ]
    assert by_code["99214"].search_terms == ["OFFICE VISIT EST PT MOD"]


def test_system_carries_the_ama_copyright_line_and_the_file_it_came_from():
    info = load_cpt(SAMPLE).info

    digest = hashlib.sha256(SAMPLE.read_bytes()).hexdigest()[:12]
    assert info.system == "cpt"
    assert info.name == "CPT"
    assert info.version == "2026"
    assert info.release == "CPT 2026 (imported from cpt_sample.csv)"
    assert info.licence == "CPT © 2026 American Medical Association. All rights reserved."
    assert info.coverage == "imported by the operator: 12 codes"
    assert info.source == f"operator import: cpt_sample.csv (sha256 {digest})"


def test_ama_header_spellings_bom_crlf_and_another_column_order_give_the_same_records(caplog):
    with caplog.at_level(logging.INFO, logger="services.lookup.sources.cpt_importer"):
        data = load_cpt(AMA_HEADERS, version="2026")

    assert summary(data) == SAMPLE_RECORDS
    ignored = [r for r in caplog.records if r.getMessage() == "CPT import: ignoring unknown columns"]
    assert [r.columns for r in ignored] == [["Clinician Descriptor"]]


def test_tab_separated_file_reads_like_the_csv(tmp_path):
    tab_file = tmp_path / "cpt_tabs.txt"
    with SAMPLE.open(newline="", encoding="utf-8") as source, tab_file.open("w", newline="") as target:
        csv.writer(target, delimiter="\t").writerows(csv.reader(source))

    assert summary(load_cpt(tab_file)) == SAMPLE_RECORDS


def test_version_argument_that_agrees_with_the_file_is_accepted():
    assert load_cpt(SAMPLE, version="2026").info.version == "2026"


def test_quarterly_version_is_kept_sortable_and_the_licence_uses_its_year():
    info = load_cpt(AMA_HEADERS, version="2026-07").info

    assert info.version == "2026.07"
    assert info.licence == "CPT © 2026 American Medical Association. All rights reserved."


def test_no_version_anywhere_asks_for_the_argument():
    assert problems_of(AMA_HEADERS) == [
        "the file names no version: pass the CPT year, e.g. --version 2026, or add a version column"
    ]


def test_version_argument_that_contradicts_the_file_is_refused():
    assert problems_of(SAMPLE, version="2025") == [
        "line 2: the file says version 2026 but --version 2025 was passed"
    ]


def test_version_argument_that_is_not_a_year_is_refused():
    assert problems_of(AMA_HEADERS, version="CPT-26") == [
        "--version 'CPT-26' is not a year: pass e.g. --version 2026"
    ]


def test_version_column_must_hold_one_year():
    assert problems_of(FIXTURES / "cpt_mixed_versions.csv") == [
        "line 3: version '2025' differs from '2026' on line 2",
        "line 4: version 'next year' is not a year (e.g. 2026)",
    ]


def test_bad_rows_are_all_listed_with_their_line_numbers():
    assert problems_of(FIXTURES / "cpt_bad_rows.csv", version="2026") == [
        "line 3: '9921' is not a CPT code: five characters, four digits and then a digit,"
        " F (Category II), T (Category III) or U (PLA)",
        "line 4: '25' is a modifier, not a code: modifiers do not belong in this file",
        "line 5: code 02000 is in no CPT section (is this an older edition's code?)",
        "line 6: code 99213 is listed twice (first on line 2)",
        "line 7: code 99214 has an empty long descriptor",
        "line 8: code 99215 has an empty short descriptor",
        "line 9: 6 values but the header has 5 columns"
        " (a value with a comma or a quote needs double quotes around it)",
        "line 10: the code is empty",
        "line 11: effective date '2026-13-01' is not a date (YYYY-MM-DD, YYYYMMDD or MM/DD/YYYY)",
    ]


def test_error_message_names_the_file_and_counts_the_problems():
    with pytest.raises(ImportFileError) as caught:
        load_cpt(FIXTURES / "cpt_bad_rows.csv", version="2026")

    message = str(caught.value)
    assert message.startswith("cpt_bad_rows.csv: nothing imported, 9 problems:\n  line 3: ")
    assert caught.value.total == 9


def test_header_with_two_code_columns_and_no_long_descriptor_is_refused():
    assert problems_of(FIXTURES / "cpt_bad_header.csv", version="2026") == [
        "line 1: columns 'Code' and 'CPT Code' both give the code",
        "line 1: no long descriptor column (a header named one of 'long descriptor',"
        " 'long description', 'long', 'descriptor', 'description')",
    ]


def test_file_without_a_header_row_says_so():
    problems = problems_of(FIXTURES / "cpt_no_header.csv", version="2026")

    assert problems[0] == "line 1: this looks like a row of data: the first row must be the header"
    assert len(problems) == 4  # then the three required columns it could not find


def test_quote_left_open_is_reported_where_it_opens():
    assert problems_of(FIXTURES / "cpt_unclosed_quote.csv", version="2026") == [
        "line 3: the CSV cannot be read from here on (unexpected end of data): is a quote left open?"
    ]


def test_file_not_in_utf8_names_the_line_of_the_first_bad_byte():
    assert problems_of(FIXTURES / "cpt_not_utf8.csv", version="2026") == [
        "line 3: byte 0xE9 is not UTF-8: save the file as CSV in UTF-8"
    ]


def test_utf16_file_is_refused_with_what_to_do(tmp_path):
    utf16 = tmp_path / "cpt_utf16.csv"
    utf16.write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-16")

    assert problems_of(utf16) == ["the file is UTF-16 text: save it as CSV in UTF-8"]


def test_empty_file_and_header_only_file_are_refused(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("\n")
    header_only = tmp_path / "header_only.csv"
    header_only.write_text("code,short_descriptor,long_descriptor\n")

    assert problems_of(empty, version="2026") == [
        "the file is empty: expected a header row and one row per code"
    ]
    assert problems_of(header_only, version="2026") == ["the file has a header but no codes"]


def test_listing_stops_at_the_limit_but_the_count_does_not(tmp_path):
    rows = ["code,short_descriptor,long_descriptor"] + [f"X{n},SHORT,Long" for n in range(60)]
    many = tmp_path / "many.csv"
    many.write_text("\n".join(rows) + "\n")

    with pytest.raises(ImportFileError) as caught:
        load_cpt(many, version="2026")

    assert len(caught.value.problems) == MAX_LISTED_PROBLEMS
    assert caught.value.total == 60
    assert str(caught.value).endswith(f"\n  ... and {60 - MAX_LISTED_PROBLEMS} more")


@pytest.mark.parametrize(
    ("code", "section"),
    [
        ("99202", E_M),
        ("99499", E_M),
        ("99201", None),
        ("00100", ANES),
        ("01999", ANES),
        ("99100", ANES),
        ("99140", ANES),
        ("99141", MED),
        ("10003", None),
        ("10004", SURG),
        ("69990", SURG),
        ("69991", None),
        ("79999", RAD),
        ("80047", PATH),
        ("89398", PATH),
        ("89399", None),
        ("0001U", PATH),
        ("90281", MED),
        ("99199", MED),
        ("99500", MED),
        ("99607", MED),
        ("99608", None),
        ("0001F", CAT2),
        ("0042T", CAT3),
    ],
)
def test_codes_fall_in_the_section_of_their_range(code, section):
    found = section_of(code)
    assert (found.code if found else None) == section


def test_imported_cpt_passes_the_catalog_build_with_the_ama_line_on_every_code(tmp_path):
    # The build writes a lay description where a record has none (the sections here); that
    # module belongs to another part of the lookup service and this test waits for it.
    pytest.importorskip("services.lookup.lay")
    from services.lookup.build import store_system

    engine = create_db_engine(f"sqlite:///{tmp_path}/c.db")
    storage.metadata.create_all(engine)

    report = store_system(engine, load_cpt(SAMPLE))

    assert (report.action, report.code_count) == ("built", len(SAMPLE_RECORDS))
    with engine.connect() as conn:
        rows = {row.code: row for row in conn.execute(select(storage.codes))}
        system = conn.execute(select(storage.code_systems)).one()
    engine.dispose()
    office_visit = lookup_pb2.Code.FromString(rows["99213"].payload)
    assert office_visit.licence == "CPT © 2026 American Medical Association. All rights reserved."
    assert office_visit.lay_description == f"Follow-up visit with your doctor for a simple problem {W}"
    assert office_visit.short_title == "OFFICE VISIT EST PT LOW"
    assert [a.code for a in office_visit.ancestors] == [E_M]
    section = lookup_pb2.Code.FromString(rows[E_M].payload)
    assert [c.code for c in section.children] == ["99213", "99214"]
    assert section.billable_descendant_count == 2
    assert rows["0240U"].parent == PATH
    assert (system.licence, system.code_count, system.billable_count) == (
        "CPT © 2026 American Medical Association. All rights reserved.",
        len(SAMPLE_RECORDS),
        12,
    )
