"""The HCPCS Level II importer: CMS's fixed-width record file in, validated records out."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from medcode.lookup.v1 import lookup_pb2
from sqlalchemy import select

from services.common.db import create_db_engine
from services.lookup import storage
from services.lookup.sources.hcpcs_importer import (
    ImportFileError,
    load_hcpcs,
    load_hcpcs_modifiers,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLE = FIXTURES / "hcpcs_sample.txt"

W = "(fixture wording)"
QUARTER_END = "CMS ends this code on 2026-03-31 (termination date)."

# (code, kind, parent, title, short title, data warnings) of every record of the January import.
JANUARY_RECORDS = [
    ("A", "chapter", None, "Transportation services, medical and surgical supplies", "", []),
    (
        "A0428",
        "code",
        "A",
        f"Ground ambulance trip, basic life support, no emergency {W}",
        "Ambulance basic non-emerg",
        [],
    ),
    (
        "A4253",
        "code",
        "A",
        f"Glucose meter test strips, per box of fifty {W}",
        "Glucose strips box of 50",
        [],
    ),
    ("B", "chapter", None, "Enteral and parenteral therapy", "", []),
    (
        "B4035",
        "code",
        "B",
        f"Supply kit for pump-fed tube feeding, one day's worth {W}",
        "Pump tube feeding kit/day",
        [],
    ),
    ("E", "chapter", None, "Durable medical equipment", "", []),
    (
        "E0114",
        "code",
        "E",
        "Pair of underarm crutches, not wood, adjustable or fixed, including pads, tips"
        f" and hand grips; this wording runs over two continuation lines {W}",
        "Underarm crutches pair",
        [],
    ),
    ("G", "chapter", None, "Procedures and professional services (temporary)", "", []),
    ("G0008", "code", "G", f"Giving a seasonal flu vaccine by injection {W}", "Flu vaccine given", []),
    ("J", "chapter", None, "Drugs administered other than oral method", "", []),
    (
        "J1100",
        "code",
        "J",
        f"Injection of a steroid (dexamethasone sodium phosphate) into a muscle or vein, each 1 milligram {W}",
        "Steroid injection 1 mg",
        [],
    ),
    ("K", "chapter", None, "Temporary codes for durable medical equipment", "", []),
    (
        "K0001",
        "code",
        "K",
        f"Standard wheelchair, ends at the end of the first quarter {W}",
        "Standard wheelchair",
        [QUARTER_END],
    ),
    ("L", "chapter", None, "Orthotic and prosthetic procedures and devices", "", []),
    (
        "L3000",
        "code",
        "L",
        f"Shoe insert molded to a cast of the patient's foot, each {W}",
        "Molded foot insert",
        [],
    ),
    ("Q", "chapter", None, "Temporary codes", "", []),
    ("Q4100", "code", "Q", f"Skin substitute product, not listed elsewhere {W}", "Skin substitute NOS", []),
    ("V", "chapter", None, "Vision and hearing services", "", []),
    ("V2020", "code", "V", f"Eyeglass frames, bought rather than rented {W}", "Eyeglass frames bought", []),
]


def summary(data):
    return [(r.code, r.kind, r.parent, r.title, r.short_title, r.data_warnings) for r in data.codes]


def problems_of(path: Path, **kwargs) -> list[str]:
    with pytest.raises(ImportFileError) as caught:
        load_hcpcs(path, **kwargs)
    return caught.value.problems


def renamed(tmp_path: Path, name: str, source: Path = SAMPLE) -> Path:
    target = tmp_path / name
    shutil.copy(source, target)
    return target


def test_sample_gives_every_code_under_its_letter_section():
    data = load_hcpcs(SAMPLE, version="2026")

    assert summary(data) == JANUARY_RECORDS
    assert all(r.billable for r in data.codes if r.kind == "code")
    assert not any(r.billable for r in data.codes if r.kind == "chapter")
    assert {r.release for r in data.codes} == {"HCPCS Level II 2026 (January release, imported)"}


def test_continuation_lines_complete_the_long_description():
    by_code = {r.code: r for r in load_hcpcs(SAMPLE, version="2026").codes}

    assert by_code["E0114"].title.endswith(
        f"including pads, tips and hand grips; this wording runs over two continuation lines {W}"
    )


def test_short_descriptor_is_a_search_term_and_no_lay_description_is_invented():
    by_code = {r.code: r for r in load_hcpcs(SAMPLE, version="2026").codes}

    assert by_code["G0008"].search_terms == ["Flu vaccine given"]
    assert {r.lay_description for r in by_code.values()} == {""}


def test_system_names_cms_public_domain_and_what_was_left_out():
    info = load_hcpcs(SAMPLE, version="2026").info

    digest = hashlib.sha256(SAMPLE.read_bytes()).hexdigest()[:12]
    assert info.system == "hcpcs"
    assert info.name == "HCPCS Level II"
    assert info.version == "2026.01"
    assert info.release == "HCPCS Level II 2026 (January release, imported)"
    assert info.licence == "HCPCS Level II is maintained by CMS and is in the public domain."
    assert info.coverage == (
        "imported by the operator: 10 codes (3 modifiers kept apart;"
        " 1 code terminated before 2026-01-01 left out;"
        " 1 dental (CDT) code left out: they are the ADA's)"
    )
    assert info.source == f"operator import: hcpcs_sample.txt (sha256 {digest})"


def test_modifiers_are_not_codes_but_are_available_apart():
    codes = {r.code for r in load_hcpcs(SAMPLE, version="2026").codes}

    modifiers = load_hcpcs_modifiers(SAMPLE, version="2026")

    assert modifiers == {
        "GA": f"Patient signed a liability waiver for this item {W}",
        "LT": f"Service done on the left side of the body {W}",
        "QZ": f"Anesthesia given by a nurse anesthetist working without medical direction by a physician {W}",
    }
    assert not codes & {*modifiers, "TZ"}


def test_modifier_terminated_before_the_release_is_left_out():
    assert "TZ" not in load_hcpcs_modifiers(SAMPLE, version="2026")
    assert "TZ" in load_hcpcs_modifiers(SAMPLE, version="2024")


def test_code_terminated_before_the_release_is_left_out_and_one_ending_later_is_marked():
    by_code = {r.code: r for r in load_hcpcs(SAMPLE, version="2026").codes}

    assert "J9999" not in by_code  # ended 2025-12-31
    assert by_code["K0001"].data_warnings == [QUARTER_END]


def test_april_file_name_gives_the_release_and_leaves_out_codes_ended_in_march(tmp_path):
    april = renamed(tmp_path, "HCPC2026_APR_ANWEB_v2.txt")

    data = load_hcpcs(april)

    assert data.info.version == "2026.04"
    assert data.info.release == "HCPCS Level II 2026 (April release, imported)"
    assert data.info.coverage.startswith(
        "imported by the operator: 9 codes (3 modifiers kept apart; 2 codes terminated before 2026-04-01"
    )
    # K0001 was the sample's only K code, so its section goes too: no empty sections to browse.
    assert summary(data) == [r for r in JANUARY_RECORDS if r[0] not in ("K0001", "K")]


def test_january_file_name_needs_no_version_argument(tmp_path):
    january = renamed(tmp_path, "HCPC2026_JAN_ANWEB_w_disclaimer.txt")

    data = load_hcpcs(january)

    assert data.info.version == "2026.01"
    assert summary(data) == JANUARY_RECORDS


def test_version_argument_that_agrees_with_the_file_name_is_accepted(tmp_path):
    april = renamed(tmp_path, "hcpc2026_apr_anweb.txt")

    assert load_hcpcs(april, version="2026").info.version == "2026.04"
    assert load_hcpcs(april, version="2026.04").info.version == "2026.04"


def test_file_name_without_a_year_and_no_argument_asks_for_the_version():
    assert problems_of(SAMPLE) == [
        "the file name carries no year (CMS names it HCPC2026_JAN_ANWEB_...):"
        " pass the HCPCS year, e.g. --version 2026"
    ]


def test_version_argument_that_is_not_a_year_is_refused():
    assert problems_of(SAMPLE, version="twenty26") == [
        "--version 'twenty26' is not a year: pass e.g. --version 2026"
    ]


def test_version_argument_that_contradicts_the_file_name_is_refused(tmp_path):
    april = renamed(tmp_path, "HCPC2026_APR_ANWEB.txt")

    assert problems_of(april, version="2025") == ["the file name says 2026 APR but --version 2025 was passed"]
    assert problems_of(april, version="2026.01") == [
        "the file name says 2026 APR but --version 2026.01 was passed"
    ]


def test_windows_line_endings_read_the_same(tmp_path):
    crlf = tmp_path / "HCPC2026_JAN_ANWEB.txt"
    crlf.write_bytes(SAMPLE.read_bytes().replace(b"\n", b"\r\n"))

    assert summary(load_hcpcs(crlf)) == JANUARY_RECORDS


def test_bad_records_are_all_listed_with_their_line_numbers():
    assert problems_of(FIXTURES / "hcpcs_bad.txt", version="2026") == [
        "line 2: record identification code '5' (position 11) is not 3, 4, 7 or 8",
        "line 3: 99213 is a CPT (Level I) code: this file must be HCPCS Level II; import CPT with import-cpt",
        "line 4: 'A12X4' is not a HCPCS Level II code: a letter and four digits in positions 1-5",
        "line 5: code F1234: no HCPCS Level II section starts with 'F'",
        "line 6: a continuation of code B4035 that does not follow its first line",
        "line 8: code A0428 is listed twice (first on line 7)",
        "line 9: code B4036 has an empty long description (positions 12-91)",
        "line 10: termination date '20261345' in positions 285-292 is not a date (YYYYMMDD)",
        "line 11: 5 characters: too short for a HCPCS record (the record id is in position 11)",
        "line 12: 324 characters: a HCPCS record has 320",
        "line 13: '1' is not a HCPCS modifier",
    ]


def test_modifier_list_refuses_a_bad_file_too():
    with pytest.raises(ImportFileError) as caught:
        load_hcpcs_modifiers(FIXTURES / "hcpcs_bad.txt", version="2026")

    assert caught.value.total == 11


def test_file_without_records_is_refused(tmp_path):
    blank = tmp_path / "HCPC2026_JAN_ANWEB.txt"
    blank.write_text("\n\n")

    assert problems_of(blank) == ["the file holds no HCPCS records"]


def test_imported_hcpcs_passes_the_catalog_build(tmp_path):
    # The build writes a lay description where a record has none, and HCPCS records carry none:
    # that module belongs to another part of the lookup service and this test waits for it.
    pytest.importorskip("services.lookup.lay")
    from services.lookup.build import store_system

    engine = create_db_engine(f"sqlite:///{tmp_path}/c.db")
    storage.metadata.create_all(engine)

    report = store_system(engine, load_hcpcs(SAMPLE, version="2026"))

    assert (report.action, report.code_count) == ("built", len(JANUARY_RECORDS))
    with engine.connect() as conn:
        rows = {row.code: row for row in conn.execute(select(storage.codes))}
        system = conn.execute(select(storage.code_systems)).one()
    engine.dispose()
    wheelchair = lookup_pb2.Code.FromString(rows["K0001"].payload)
    assert wheelchair.licence == "HCPCS Level II is maintained by CMS and is in the public domain."
    assert list(wheelchair.data_warnings) == [QUARTER_END]
    assert [a.code for a in wheelchair.ancestors] == ["K"]
    supplies = lookup_pb2.Code.FromString(rows["A"].payload)
    assert [c.code for c in supplies.children] == ["A0428", "A4253"]
    assert "Flu vaccine given" in rows["G0008"].terms
    assert (system.version, system.code_count, system.billable_count) == ("2026.01", len(JANUARY_RECORDS), 10)
