"""Reading CMS's NCCI layouts (PTP edit text files, MUE CSV tables) from fixtures written in them."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import pytest

from services.assistant.ncci_files import (
    DME,
    HOSPITAL,
    PRACTITIONER,
    NcciFileError,
    PtpEdit,
    ptp_source,
    ptp_version,
    read_mue,
    read_ptp,
    text_files,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ncci"
PARTS = [FIXTURES / "ccipra-v321r0-f1.txt", FIXTURES / "ccipra-v321r0-f2.txt"]


def test_a_ptp_table_is_read_from_all_its_parts_past_each_preamble():
    edits = read_ptp(text_files(PARTS, ".txt"))

    assert len(edits) == 8
    assert edits[0] == PtpEdit(
        "29881", "29880", date(2007, 1, 1), None, "0", "Mutually exclusive procedures (fixture)", False
    )
    deleted = next(e for e in edits if e.column_two == "64447")
    assert deleted.deleted == date(2019, 1, 1) and deleted.modifier_indicator == "1"
    assert next(e for e in edits if e.column_one == "11042").before_1996
    # Category III (0213T) and Level II (J1100, G0283) codes are codes too.
    assert {e.column_one for e in edits} >= {"0213T", "J1100", "G0283"}


def test_the_setting_and_version_come_from_cms_file_names():
    assert ptp_version(["ccipra-v321r0-f1.txt", "ccipra-v321r0-f2.txt"]) == (PRACTITIONER, "32.1r0")
    assert ptp_version(["ccioph-v322r1-f1.txt"]) == (HOSPITAL, "32.2r1")
    assert ptp_version(["edits.txt"]) == (None, None)
    # Parts of two versions are not one table.
    assert ptp_version(["ccipra-v321r0-f1.txt", "ccipra-v322r0-f2.txt"]) == (PRACTITIONER, None)


def test_a_renamed_file_needs_the_setting_and_version_said(tmp_path):
    renamed = tmp_path / "edits.txt"
    renamed.write_bytes(PARTS[0].read_bytes())

    with pytest.raises(NcciFileError) as unclear:
        read_ptp(text_files([renamed], ".txt"))
    edits = read_ptp(text_files([renamed], ".txt"), setting=HOSPITAL, version="32.1r0")

    assert "--setting" in str(unclear.value) and "--version" in str(unclear.value)
    assert len(edits) == 5


def test_a_missing_part_is_refused():
    with pytest.raises(NcciFileError, match=r"parts \[2\]"):
        ptp_source(text_files([PARTS[1]], ".txt"))


def test_every_bad_edit_line_is_reported_with_its_line_and_nothing_is_returned():
    with pytest.raises(NcciFileError) as refused:
        read_ptp(text_files([FIXTURES / "bad" / "ccipra-v323r0-f1.txt"], ".txt"))

    problems = refused.value.problems
    assert [p.split(":")[1] for p in problems] == ["8", "9", "10", "11", "12"]
    assert "'2003-01-01' is not a date" in problems[0]
    assert "column 2 'E11.9' is not a CPT or HCPCS code" in problems[1]
    assert "modifier indicator '2'" in problems[2]
    assert "before it took effect" in problems[3]
    assert "2 tab-separated values" in problems[4]


def test_a_file_without_the_cms_header_or_edits_is_not_a_ptp_table(tmp_path):
    no_header = tmp_path / "ccipra-v321r0-f1.txt"
    no_header.write_text("29881\t29880\t\t20070101\t*\t0\tx\n")
    mue_instead = tmp_path / "ccipra-v321r0-f2.txt"
    mue_instead.write_bytes((FIXTURES / "MCR_MUE_PractitionerServices_Eff_01-01-2026.csv").read_bytes())

    with pytest.raises(NcciFileError) as refused:
        read_ptp(text_files([no_header, mue_instead], ".txt"))

    assert "before the 'Column 1 / Column 2' header" in refused.value.problems[0]
    assert "no edits found" in refused.value.problems[1]


def test_the_parts_of_a_zip_are_read_in_name_order(tmp_path):
    archive = tmp_path / "ccipra-v321r0.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for part in reversed(PARTS):
            z.write(part, part.name)
        z.writestr("ccipra-v321r0-f1.xlsx", b"not read")

    files = text_files([archive], ".txt")

    assert [f.name for f in files] == [f"ccipra-v321r0.zip:{p.name}" for p in PARTS]
    assert read_ptp(files) == read_ptp(text_files(PARTS, ".txt"))


def test_an_mue_table_is_read_past_its_quoted_preamble():
    table = read_mue(text_files([FIXTURES / "MCR_MUE_PractitionerServices_Eff_01-01-2026.csv"], ".csv")[0])

    assert (table.setting, table.version, len(table.mues)) == (PRACTITIONER, "2026-01-01", 5)
    first = table.mues[0]
    assert (first.code, first.units, first.adjudication, first.adjudication_text) == (
        "29881",
        1,
        2,
        "Date of Service Edit: Policy",
    )
    assert {m.code: m.adjudication for m in table.mues}["97597"] == 1


def test_the_mue_setting_comes_from_the_value_column_header():
    dme = read_mue(text_files([FIXTURES / "MCR_MUE_DMESupplierServices_Eff_01-01-2026.csv"], ".csv")[0])

    assert dme.setting == DME and [m.code for m in dme.mues] == ["E0114"]


def test_bad_mue_rows_are_reported_with_their_lines():
    bad = text_files([FIXTURES / "bad" / "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv"], ".csv")[0]

    with pytest.raises(NcciFileError) as refused:
        read_mue(bad)

    problems = refused.value.problems
    assert len(problems) == 3
    # Lines of the file: the quoted preamble takes two, the header the third.
    assert ":5: MUE value 'two'" in problems[0]
    assert ":6: MUE adjudication indicator '4 Something'" in problems[1]
    assert ":7: 29881 listed again (first on line 4)" in problems[2]


def test_a_ptp_file_is_not_an_mue_table():
    with pytest.raises(NcciFileError, match="no 'HCPCS/CPT Code, … MUE Values' header"):
        read_mue(text_files([PARTS[0]], ".csv")[0])
