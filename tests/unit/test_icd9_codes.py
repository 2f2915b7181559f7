"""ICD-9-CM code forms, the hierarchy above a code, the chapter tables and the GEM flags."""

import re
from itertools import pairwise

import pytest

from services.lookup.sources.icd9_loader import (
    DIAGNOSIS_CHAPTERS,
    PROCEDURE_CHAPTERS,
    GemFlags,
    Icd9SourceError,
    MalformedCode,
    chapter_of,
    dotted_diagnosis,
    dotted_icd10cm,
    dotted_procedure,
    enclosing_code,
    parse_gem_flags,
)


@pytest.mark.parametrize(
    ("plain", "dotted"),
    [
        ("25000", "250.00"),
        ("4019", "401.9"),
        ("042", "042"),
        ("V5867", "V58.67"),
        ("V010", "V01.0"),
        ("V08", "V08"),
        ("E8490", "E849.0"),
        ("E846", "E846"),
        ("E0000", "E000.0"),
    ],
)
def test_diagnosis_codes_take_the_dot_where_cms_writes_it(plain, dotted):
    assert dotted_diagnosis(plain) == dotted


@pytest.mark.parametrize("typed", ["250.00", " 250.00 ", "v58.67", "e849.0"])
def test_diagnosis_codes_typed_with_a_dot_or_in_lower_case_come_out_the_same(typed):
    assert dotted_diagnosis(typed) == typed.strip().upper()


@pytest.mark.parametrize("text", ["", "25", "250000", "V5", "V58670", "E84", "E84901", "X123", "2500A"])
def test_text_that_is_not_an_icd9_diagnosis_code_is_refused(text):
    with pytest.raises(MalformedCode):
        dotted_diagnosis(text)


@pytest.mark.parametrize(
    ("plain", "dotted"), [("4701", "47.01"), ("016", "01.6"), ("47", "47"), ("0001", "00.01")]
)
def test_procedure_codes_take_the_dot_after_two_digits(plain, dotted):
    assert dotted_procedure(plain) == dotted


@pytest.mark.parametrize("text", ["4", "47011", "V470", "4a01"])
def test_text_that_is_not_an_icd9_procedure_code_is_refused(text):
    with pytest.raises(MalformedCode):
        dotted_procedure(text)


@pytest.mark.parametrize(
    ("plain", "dotted"), [("E1165", "E11.65"), ("I10", "I10"), ("S52521A", "S52.521A"), ("Z3A00", "Z3A.00")]
)
def test_icd10cm_codes_take_the_dot_after_three_characters(plain, dotted):
    assert dotted_icd10cm(plain) == dotted


@pytest.mark.parametrize("text", ["E1", "1E11", "E1165000", "NoDx"])
def test_text_that_is_not_an_icd10cm_code_is_refused(text):
    with pytest.raises(MalformedCode):
        dotted_icd10cm(text)


@pytest.mark.parametrize(
    ("code", "chain"),
    [
        ("250.01", ["250.0", "250"]),
        ("401.9", ["401"]),
        ("V58.67", ["V58.6", "V58"]),
        ("E849.0", ["E849"]),
        ("47.01", ["47.0", "47"]),
        ("01.6", ["01"]),
        ("042", []),
    ],
)
def test_a_code_sits_below_its_subcategory_and_category(code, chain):
    found = []
    above = enclosing_code(code)
    while above is not None:
        found.append(above)
        above = enclosing_code(above)
    assert found == chain


@pytest.mark.parametrize(
    ("category", "chapter"),
    [
        ("001", "1"),
        ("139", "1"),
        ("140", "2"),
        ("250", "3"),
        ("630", "11"),
        ("799", "16"),
        ("800", "17"),
        ("999", "17"),
        ("V01", "V01-V91"),
        ("V91", "V01-V91"),
        ("E000", "E000-E999"),
        ("E999", "E000-E999"),
    ],
)
def test_diagnosis_categories_fall_in_their_chapter(category, chapter):
    assert chapter_of(category, DIAGNOSIS_CHAPTERS) == chapter


@pytest.mark.parametrize(
    ("category", "chapter"),
    [
        ("00", "00-00"),
        ("01", "01-05"),
        ("16", "08-16"),
        ("17", "17-17"),
        ("18", "18-20"),
        ("47", "42-54"),
        ("99", "87-99"),
    ],
)
def test_procedure_categories_fall_in_their_chapter(category, chapter):
    assert chapter_of(category, PROCEDURE_CHAPTERS) == chapter


@pytest.mark.parametrize("category", ["000", "V00", "V92", "A00"])
def test_a_category_outside_every_chapter_is_refused(category):
    with pytest.raises(MalformedCode):
        chapter_of(category, DIAGNOSIS_CHAPTERS)


def _numeric_ranges(chapters):
    return [(int(first), int(last)) for _code, _title, first, last in chapters if first.isdigit()]


@pytest.mark.parametrize(
    ("chapters", "lowest", "highest"), [(DIAGNOSIS_CHAPTERS, 1, 999), (PROCEDURE_CHAPTERS, 0, 99)]
)
def test_numbered_chapters_cover_every_category_once(chapters, lowest, highest):
    ranges = sorted(_numeric_ranges(chapters))
    assert ranges[0][0] == lowest and ranges[-1][1] == highest
    for (_first, last), (next_first, _next_last) in pairwise(ranges):
        assert next_first == last + 1, f"a gap or overlap after {last}"


@pytest.mark.parametrize(
    ("chapters", "category_form"),
    [
        (DIAGNOSIS_CHAPTERS, re.compile(r"^(\d{3}|V\d{2}|E\d{3})$")),
        (PROCEDURE_CHAPTERS, re.compile(r"^\d{2}$")),
    ],
)
def test_chapter_codes_are_unique_and_never_read_as_a_category(chapters, category_form):
    codes = [code for code, *_ in chapters]
    assert len(set(codes)) == len(codes)
    assert not [code for code in codes if category_form.match(code)]


@pytest.mark.parametrize(
    ("flags", "parsed"),
    [
        ("00000", GemFlags(False, False, False, 0, 0)),
        ("10000", GemFlags(True, False, False, 0, 0)),
        ("11000", GemFlags(True, True, False, 0, 0)),
        ("10112", GemFlags(True, False, True, 1, 2)),
        ("10162", GemFlags(True, False, True, 6, 2)),
    ],
)
def test_gem_flags_read_as_approximate_no_map_combination_scenario_choice_list(flags, parsed):
    assert parse_gem_flags(flags) == parsed


@pytest.mark.parametrize("flags", ["1000", "100000", "20000", "1a000", ""])
def test_gem_flags_not_in_the_gem_form_are_refused(flags):
    with pytest.raises(Icd9SourceError):
        parse_gem_flags(flags)
