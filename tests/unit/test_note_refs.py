"""How code references are read out of ICD-10-CM notes, and which codes a reference takes in."""

from __future__ import annotations

import pytest

from services.lookup.sources.note_refs import covers, parse_codes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("type 2 diabetes in remission (E11.A)", ("E11.A",)),
        ("long term (current) use of insulin (Z79.4)", ("Z79.4",)),
        ("gestational diabetes (O24.4-)", ("O24.4-",)),
        ("diabetes mellitus due to an underlying condition (E08.-)", ("E08.-",)),
        ("diabetes mellitus (E08-E13)", ("E08-E13",)),
        ("complications of pregnancy (O00-O9A)", ("O00-O9A",)),
        # Several codes in one pair of parentheses, ranges among them.
        (
            "neoplasms (C00-D49), burns (T20-T32), poisoning (T36.-, T38.0X1)",
            ("C00-D49", "T20-T32", "T36.-", "T38.0X1"),
        ),
        (
            "(I69.01-I69.11-, I69.21-I69.31-, I69.81- I69.91-)",
            ("I69.01-I69.11", "I69.21-I69.31", "I69.81-I69.91"),
        ),
    ],
)
def test_codes_are_read_in_the_publishers_dotted_form(text: str, expected: tuple[str, ...]) -> None:
    assert parse_codes(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("head injury (S00 - S09)", ("S00-S09",)),
        ("rheumatic fever (I01.0 -I01.9)", ("I01.0-I01.9",)),
        ("apnea of newborn (P28.3- - P28.4-)", ("P28.3-P28.4",)),
        ("psychoactive substances (F10.- -F19.-)", ("F10-F19",)),
        ("injuries classified to S06.0- to S06.8-code to the specified injury", ("S06.0-S06.8",)),
        ("late effects of O00-O77.-, O85-O94 and O98-O9A.-", ("O00-O77", "O85-O94", "O98-O9A")),
        ("injuries (S00.-T88.-)", ("S00-T88",)),
        ("sepsis (A41.9–A41.89)", ("A41.9-A41.89",)),  # an en dash
    ],
)
def test_ranges_are_read_whatever_the_spacing_or_endpoint_dashes(
    text: str, expected: tuple[str, ...]
) -> None:
    assert parse_codes(text) == expected


def test_a_dash_ending_followed_by_another_code_is_a_list_not_a_range() -> None:
    assert parse_codes("(E08.- E09.-)") == ("E08.-", "E09.-")


def test_a_dash_after_a_space_starting_prose_is_not_a_range() -> None:
    assert parse_codes("any condition in N18 and N26 - due to hypertension") == ("N18", "N26")


def test_codes_outside_parentheses_and_in_unbalanced_punctuation_are_read() -> None:
    assert parse_codes("code from category T31 or T32 to identify extent") == ("T31", "T32")
    assert parse_codes("acquired absence of knee joint (Z89.52-") == ("Z89.52-",)
    assert parse_codes("electrolyte imbalance (E87.8}") == ("E87.8",)


def test_each_code_is_given_once_in_the_order_written() -> None:
    assert parse_codes("E11.9 or E10.9, see also E11.9") == ("E11.9", "E10.9")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "The appropriate 7th character is to be added to each code",
        "megaloblastic anemia unresponsive to vitamin B12 or folate therapy",
        "Anoctamin-5-related LGMD R12",
        "E. coli O157:H7 with confirmation of Shiga toxin",
        "Primary cutaneous CD30-positive large T-cell lymphoma",
        "G6PD deficiency anemia; influenza A/H5N1; KMT2D mutation",
        "GM2 gangliosidosis, growth hormone 1 (GH1), complement receptor [CR3]",
        "spinal levels T1-T6 and C1-C4",
        "with fifth or sixth character 5 (with .51-.52)",
    ],
)
def test_text_without_codes_gives_none(text: str) -> None:
    assert parse_codes(text) == ()


@pytest.mark.parametrize(
    ("reference", "code"),
    [
        ("K35.8", "K35.8"),
        ("K35.8", "K35.80"),
        ("k35.8", "K3589"),  # dots and case do not matter
        ("E08.-", "E08"),
        ("E08.-", "E08.3293"),
        ("O24.4-", "O24.410"),
        ("T36.0X1", "T36.0X1A"),
        ("E08-E13", "E08"),
        ("E08-E13", "E11.9"),
        ("E08-E13", "E13.00"),
        ("E08-E13", "E10-E11"),  # a block inside the range
        ("O00-O9A", "O9A.211"),  # O9A comes after O99
        ("O00-O9A", "O99.89"),
        ("A00-B99", "B20"),  # a range across letters
        ("S00-T88", "T14.90XA"),
        ("C43-C44", "C4A.9"),  # C4A sits between C43 and C44 in the tabular list
        ("M05-M14", "M1A.0710"),
        ("C7A.022-C7A.025", "C7A.024"),
        ("J40-J4A", "J47.9"),  # the block's name makes J4A its last category
        ("J40-J4A", "J4A.0"),
        ("Q00-QA0", "QA0.015"),
        ("I51.4-I51.7", "I51.5"),
        ("B99-B99", "B99.8"),  # a block of one category
        ("E08-E13", "E08-E13"),
    ],
)
def test_reference_covers(reference: str, code: str) -> None:
    assert covers(reference, code)


@pytest.mark.parametrize(
    ("reference", "code"),
    [
        ("K35.8", "K35.2"),
        ("K35.8", "K35"),  # a code does not cover its parent
        ("O24.4-", "O24.3"),
        ("E08-E13", "E07.9"),
        ("E08-E13", "E14"),
        ("E08-E13", "E00-E89"),  # the block only partly inside
        ("O00-O99", "O9A.1"),  # O9A is after O99
        ("C76-C80", "C7A.0"),  # C7A sits before C76
        ("D37-D48", "D3A.0"),  # D3A sits before D37
        ("J40-J44", "J4A.0"),
        ("Q00-Q99", "QA0.8"),
        ("B65.0-B81.3", "B65"),  # the category holds codes before the range starts
        ("B65.0-B81.3", "B81"),  # and codes after it ends
        ("I51.4-I51.7", "I51.89"),
        ("E11.9", "4"),  # a chapter number is not a code
        ("1", "10"),
        ("", "E11.9"),
    ],
)
def test_reference_does_not_cover(reference: str, code: str) -> None:
    assert not covers(reference, code)
