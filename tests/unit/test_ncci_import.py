"""Importing NCCI tables into the assistant database, and what ncci_edits_for / mues_for answer from them.

The database is a real SQLite file per test, migrated; the files are the CMS-layout fixtures.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from services.assistant import ncci
from services.assistant.migrate import upgrade_to_head
from services.assistant.ncci_files import DME, HOSPITAL, PRACTITIONER, NcciFileError
from services.common.db import create_db_engine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ncci"
V321 = [FIXTURES / "ccipra-v321r0-f1.txt", FIXTURES / "ccipra-v321r0-f2.txt"]
V322 = [FIXTURES / "ccipra-v322r0-f1.txt"]
MUES = FIXTURES / "MCR_MUE_PractitionerServices_Eff_01-01-2026.csv"
ON = date(2026, 2, 1)


@pytest.fixture
def engine(tmp_path):
    engine = create_db_engine(f"sqlite:///{tmp_path}/assistant.db")
    upgrade_to_head(engine)
    yield engine
    engine.dispose()


def test_before_any_import_the_answer_says_nothing_is_imported(engine):
    found = ncci.ncci_edits_for(engine, "29881", "29880", on=ON)

    assert not found.imported and found.edits == []
    assert not ncci.mues_for(engine, "29881").imported


def test_a_pair_is_found_in_either_order_with_what_its_indicator_means(engine):
    result = ncci.import_ptp(engine, V321)

    forward = ncci.ncci_edits_for(engine, "29881", "29880", on=ON)
    backward = ncci.ncci_edits_for(engine, "29880", "29881", on=ON)

    assert (result.outcome, result.rows, result.setting, result.version) == (
        "imported",
        8,
        PRACTITIONER,
        "32.1r0",
    )
    assert forward == backward and forward.imported
    [edit] = forward.edits
    assert (edit.column_one, edit.column_two, edit.modifier_indicator, edit.version) == (
        "29881",
        "29880",
        "0",
        "32.1r0",
    )
    assert edit.meaning.startswith("never together")
    allowed = ncci.ncci_edits_for(engine, "36415", "99213", on=ON).edits[0]
    assert allowed.column_one == "99213" and "59, XE, XS, XP, XU" in allowed.meaning


def test_only_edits_in_force_on_the_day_are_answered(engine):
    ncci.import_ptp(engine, V321)

    def pair_on(day: date) -> list[str]:
        return [e.modifier_indicator for e in ncci.ncci_edits_for(engine, "29881", "64447", on=day).edits]

    # Deletion dates are the first day an edit no longer applies.
    assert pair_on(date(2015, 12, 31)) == []
    assert pair_on(date(2016, 1, 1)) == ["1"]
    assert pair_on(date(2018, 12, 31)) == ["1"]
    assert pair_on(date(2019, 1, 1)) == []
    # An edit deleted from the day it began (indicator 9) never applies.
    assert ncci.ncci_edits_for(engine, "G0283", "97014", on=date(2005, 1, 1)).edits == []


def test_codes_are_taken_in_any_case_and_non_codes_are_refused(engine):
    ncci.import_ptp(engine, V321)

    assert ncci.ncci_edits_for(engine, " j1100", "96372", on=ON).edits[0].column_one == "J1100"
    with pytest.raises(ncci.InvalidNcciCode):
        ncci.ncci_edits_for(engine, "E11.9", "29881")


def test_the_same_version_again_is_unchanged_a_newer_replaces_an_older_is_kept_out(engine):
    first = ncci.import_ptp(engine, V321)
    again = ncci.import_ptp(engine, V321)
    newer = ncci.import_ptp(engine, V322)
    older = ncci.import_ptp(engine, V321)

    assert [r.outcome for r in (first, again, newer, older)] == [
        "imported",
        "unchanged",
        "replaced",
        "kept-newer",
    ]
    assert newer.previous_version == "32.1r0" and older.previous_version == "32.2r0"
    # 32.2 dropped J1100/96372 and ended 29881/29877 on 2026-01-01.
    assert ncci.ncci_edits_for(engine, "J1100", "96372", on=ON).edits == []
    assert ncci.ncci_edits_for(engine, "29881", "29877", on=date(2025, 12, 31)).edits[0].version == "32.2r0"
    assert ncci.ncci_edits_for(engine, "29881", "29877", on=ON).edits == []
    [table] = ncci.imported_tables(engine, ncci.PTP)
    assert (table.version, table.row_count, table.sources) == ("32.2r0", 3, "ccipra-v322r0-f1.txt")


def test_a_corrected_file_of_the_same_version_replaces_it(engine, tmp_path):
    ncci.import_ptp(engine, V322)
    corrected = tmp_path / "ccipra-v322r0-f1.txt"
    corrected.write_bytes(V322[0].read_bytes().replace(b"20260101", b"20260401"))

    result = ncci.import_ptp(engine, [corrected])

    assert result.outcome == "replaced"
    assert ncci.ncci_edits_for(engine, "29881", "29877", on=ON).edits[0].deleted == date(2026, 4, 1)


def test_a_bad_file_changes_nothing(engine, tmp_path):
    ncci.import_ptp(engine, V321)
    bad = tmp_path / "ccipra-v330r0-f1.txt"
    shutil.copy(FIXTURES / "bad" / "ccipra-v323r0-f1.txt", bad)

    with pytest.raises(NcciFileError):
        ncci.import_ptp(engine, [bad])

    [table] = ncci.imported_tables(engine, ncci.PTP)
    assert table.version == "32.1r0" and table.row_count == 8
    assert len(ncci.ncci_edits_for(engine, "29881", "29880", on=ON).edits) == 1


def test_a_bad_last_line_changes_nothing_even_after_batches_were_written(engine, tmp_path, monkeypatch):
    ncci.import_ptp(engine, V321)
    monkeypatch.setattr(ncci, "BATCH", 2)  # five good edits go out in two batches before the bad line
    bad = tmp_path / "ccipra-v330r0-f1.txt"
    bad.write_bytes(V321[0].read_bytes() + b"29881\t29874\r\n")

    with pytest.raises(NcciFileError, match=":12: 2 tab-separated values"):
        ncci.import_ptp(engine, [bad])

    [table] = ncci.imported_tables(engine, ncci.PTP)
    assert (table.version, table.row_count) == ("32.1r0", 8)
    assert len(ncci.ncci_edits_for(engine, "J1100", "96372", on=ON).edits) == 1


def test_settings_are_separate_tables(engine):
    ncci.import_ptp(engine, V321)
    hospital = ncci.import_ptp(engine, [FIXTURES / "ccioph-v321r0-f1.txt"])

    edits = ncci.ncci_edits_for(engine, "29881", "29880", on=ON).edits

    assert hospital.setting == HOSPITAL
    assert [e.setting for e in edits] == [HOSPITAL, PRACTITIONER]
    assert ncci.ncci_edits_for(engine, "99213", "36415", on=ON).edits[0].setting == PRACTITIONER


def test_mues_per_setting_with_what_their_indicator_means(engine):
    practitioner = ncci.import_mue(engine, MUES)
    dme = ncci.import_mue(engine, FIXTURES / "MCR_MUE_DMESupplierServices_Eff_01-01-2026.csv")

    knee = ncci.mues_for(engine, "29881")
    wheelchair = ncci.mues_for(engine, "e0114")

    assert (practitioner.rows, practitioner.version, dme.setting) == (5, "2026-01-01", DME)
    [limit] = knee.limits
    assert (limit.units, limit.adjudication, limit.setting) == (1, 2, PRACTITIONER)
    assert limit.meaning.startswith("per day, by policy")
    assert [m.setting for m in wheelchair.limits] == [DME]
    assert ncci.mues_for(engine, "99213").limits == [] and ncci.mues_for(engine, "99213").imported
    assert ncci.import_mue(engine, MUES).outcome == "unchanged"


def test_the_command_imports_and_answers(engine, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MEDCODE_ASSISTANT_DATABASE_URL", str(engine.url))

    assert ncci.main(["import-ptp", *map(str, V321)]) == 0
    assert ncci.main(["pair", "29880", "29881"]) == 0
    assert (
        ncci.main(["import-mue", str(FIXTURES / "bad" / "MCR_MUE_PractitionerServices_Eff_04-01-2026.csv")])
        == 1
    )
    assert ncci.main(["status"]) == 0

    out, err = capsys.readouterr()
    assert "ptp practitioner 32.1r0: imported, 8 rows" in out
    assert "practitioner 29881 / 29880 (since 2007-01-01): never together" in out
    assert "nothing changed:" in err and ":5: MUE value 'two'" in err
    assert "ptp practitioner: version 32.1r0, 8 rows" in out
