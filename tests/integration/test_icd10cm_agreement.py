"""Our reading of the ICD-10-CM tabular XML, item by item, against simple_icd_10_cm's reading of it.

Where the two differ on purpose the test says so and checks the difference exactly:
- A block of one category (B99) has the category's name in the XML; simple_icd_10_cm keeps both
  under "B99" (the category, or the block with prioritize_blocks=True). We give the block the code
  "B99-B99" so that every item has its own code.
- A <note> inside <sevenChrDef> qualifies the extension before it. simple_icd_10_cm glues it to the
  extension's text with "/" (keeping a stray tab) and so into the titles of the generated codes; we
  keep the title as the extension reads ("..., initial encounter for open fracture type I or II")
  and put the note in the seventh_character note line ("B: ... / initial encounter for open
  fracture NOS").
- We trim the whitespace around texts; the package keeps it (block QA0's title starts with a space).
- simple_icd_10_cm's is_leaf is true for the 12 header blocks that hold no category (C00-C96);
  a block is never billable for us.
"""

from __future__ import annotations

import importlib.util
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from services.lookup.records import CodeRecord, SystemData
from services.lookup.sources import icd10cm_loader
from services.lookup.sources.note_refs import covers

# The four note kinds simple_icd_10_cm gives as lists, one entry per <note>.
LIST_NOTE_KINDS = {
    "includes": "get_includes",
    "inclusion_term": "get_inclusion_term",
    "excludes1": "get_excludes1",
    "excludes2": "get_excludes2",
}
# The four it gives as one text, the <note> lines joined by newlines.
TEXT_NOTE_KINDS = {
    "code_first": "get_code_first",
    "use_additional_code": "get_use_additional_code",
    "code_also": "get_code_also",
    "note": "get_notes",
}


@pytest.fixture(scope="module")
def icd10cm() -> SystemData:
    started = time.perf_counter()
    (data,) = icd10cm_loader.load()
    print(f"\nICD-10-CM loader: {len(data.codes)} items in {time.perf_counter() - started:.2f} s")
    return data


@pytest.fixture(scope="module")
def by_code(icd10cm: SystemData) -> dict[str, CodeRecord]:
    return {record.code: record for record in icd10cm.codes}


@pytest.fixture(scope="module")
def children(icd10cm: SystemData) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for record in icd10cm.codes:
        if record.parent is not None:
            found.setdefault(record.parent, []).append(record.code)
    return found


@pytest.fixture(scope="module")
def cm():
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import simple_icd_10_cm
    print(f"\nsimple_icd_10_cm read the same file in {time.perf_counter() - started:.2f} s")
    return simple_icd_10_cm


def _block_code(name: str) -> str:
    return name if "-" in name else f"{name}-{name}"


def _their_key(record: CodeRecord) -> tuple[str, bool]:
    """How simple_icd_10_cm names our item: (its name, whether to ask for the block of that name)."""
    if record.kind == "block" and record.code.split("-")[0] == record.code.split("-")[1]:
        return record.code.split("-")[0], True
    return record.code, False


def _assert_none(mismatches: list[str]) -> None:
    assert not mismatches, f"{len(mismatches)} mismatches; first 20:\n" + "\n".join(mismatches[:20])


def _check_each(records: list[CodeRecord], check: Callable[[CodeRecord], list[str]]) -> list[str]:
    started = time.perf_counter()
    mismatches = [line for record in records for line in check(record)]
    print(f"\nchecked {len(records)} items in {time.perf_counter() - started:.2f} s")
    return mismatches


def test_the_release_holds_98505_items_of_which_74719_are_billable(icd10cm: SystemData) -> None:
    # simple_icd_10_cm's is_leaf over its get_all_codes() gives 74,736: its list names the 39
    # one-category blocks twice (5 of those categories are leaves) and counts the 12 empty header
    # blocks as leaves. Billable codes are the leaf categories, subcategories and codes: 74,719.
    assert len(icd10cm.codes) == 98_505
    assert sum(record.billable for record in icd10cm.codes) == 74_719
    assert len({record.code for record in icd10cm.codes}) == 98_505


def test_the_system_names_the_release_and_its_carrier(icd10cm: SystemData) -> None:
    info = icd10cm.info
    assert (info.system, info.name, info.version) == ("icd10cm", "ICD-10-CM", "2026.04")
    assert info.source.startswith("simple-icd-10-cm 1.5.0: ") and info.source.endswith(
        "icd10c-tabular-April-1-2026.xml"
    )
    assert {record.release for record in icd10cm.codes} == {"ICD-10-CM FY2026 (April 1, 2026)"}


def test_the_codes_and_their_order_are_the_same(icd10cm: SystemData, cm) -> None:
    theirs = _name_blocks(cm.get_all_codes())
    ours = [record.code for record in icd10cm.codes]
    assert set(ours) == set(theirs), (
        f"only ours: {sorted(set(ours) - set(theirs))[:20]}; only theirs: {sorted(set(theirs) - set(ours))[:20]}"
    )
    _assert_none(
        [
            f"position {i}: ours {a}, theirs {b}"
            for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
            if a != b
        ]
    )


def _name_blocks(listed: list[str]) -> list[str]:
    """simple_icd_10_cm's list of all codes, with our code for a block named like its category."""
    # Such a block is listed right before its category, under the same name.
    return [
        _block_code(name) if position + 1 < len(listed) and listed[position + 1] == name else name
        for position, name in enumerate(listed)
    ]


def test_titles_kinds_billable_parents_and_children_agree(
    icd10cm: SystemData, children: dict[str, list[str]], cm
) -> None:
    def check(record: CodeRecord) -> list[str]:
        key, block = _their_key(record)
        mismatches = []
        if record.kind == "chapter":
            kind = "chapter"
        elif record.kind == "block":
            kind = "block" if cm.is_block(key) else "not a block"
        elif cm.is_category(key):
            kind = "category"
        else:
            kind = "code" if cm.is_leaf(key) else "subcategory"
        if kind != record.kind:
            mismatches.append(f"{record.code}: kind ours {record.kind}, theirs {kind}")
        billable = record.kind not in ("chapter", "block") and cm.is_leaf(key)
        if billable != record.billable:
            mismatches.append(f"{record.code}: billable ours {record.billable}, theirs {billable}")
        title = _their_title(cm, key, block)
        if title != record.title:
            mismatches.append(f"{record.code}: title ours {record.title!r}, theirs {title!r}")
        parent = cm.get_parent(key, prioritize_blocks=block) or None
        if parent is not None and record.kind == "category":
            parent = _block_code(parent)
        if parent != record.parent:
            mismatches.append(f"{record.code}: parent ours {record.parent}, theirs {parent}")
        their_children = cm.get_children(key, prioritize_blocks=block)
        if record.kind == "chapter":
            their_children = [_block_code(name) for name in their_children]
        if their_children != children.get(record.code, []):
            mismatches.append(
                f"{record.code}: children ours {children.get(record.code, [])[:5]}…, theirs {their_children[:5]}…"
            )
        return mismatches

    _assert_none(_check_each(icd10cm.codes, check))


def _their_title(cm, key: str, block: bool) -> str:
    title = cm.get_description(key, prioritize_blocks=block).strip()
    if cm.is_extended_subcategory(key):
        base = cm.get_parent(key)
        extension = cm.get_seven_chr_def(base, search_in_ancestors=True)[key[-1]]
        # The package's title is the base title, ", " and its extension text with any note lines
        # glued on after "/"; ours stops at the extension text (see the module docstring).
        assert title == f"{cm.get_description(base)}, {extension}"
        title = f"{cm.get_description(base)}, {extension.split('/')[0]}"
    return title


def test_notes_of_every_kind_agree(icd10cm: SystemData, cm) -> None:
    def check(record: CodeRecord) -> list[str]:
        key, block = _their_key(record)
        ours: dict[str, list[str]] = {}
        for note in record.notes:
            ours.setdefault(note.kind, []).append(note.text)
        mismatches = []
        for kind, getter in LIST_NOTE_KINDS.items():
            theirs = getattr(cm, getter)(key, prioritize_blocks=block)
            if theirs != ours.get(kind, []):
                mismatches.append(f"{record.code} {kind}: ours {ours.get(kind)}, theirs {theirs}")
        for kind, getter in TEXT_NOTE_KINDS.items():
            theirs = getattr(cm, getter)(key, prioritize_blocks=block)
            if theirs != "\n".join(ours.get(kind, [])):
                mismatches.append(f"{record.code} {kind}: ours {ours.get(kind)}, theirs {theirs!r}")
        theirs = _their_seventh_character_notes(cm, key, block)
        if theirs != ours.get("seventh_character", []):
            mismatches.append(
                f"{record.code} seventh_character: ours {ours.get('seventh_character')}, theirs {theirs}"
            )
        return mismatches

    _assert_none(_check_each(icd10cm.codes, check))


def _their_seventh_character_notes(cm, key: str, block: bool) -> list[str]:
    note = cm.get_seven_chr_note(key, prioritize_blocks=block)
    definition = cm.get_seven_chr_def(key, prioritize_blocks=block)
    # The package glues an extension's note lines on with "/" and keeps their leading tab.
    lines = [
        f"{char}: " + " / ".join(part.strip() for part in text.split("/"))
        for char, text in definition.items()
    ]
    return ([note] if note else []) + lines


def test_every_note_carries_the_codes_it_refers_to(icd10cm: SystemData) -> None:
    notes = [note for record in icd10cm.codes for note in record.notes]
    with_codes = [note for note in notes if note.codes]
    # Spot checks on wordings the reader must handle, then a floor on how many notes name codes.
    by_text = {note.text: note.codes for note in notes}
    assert by_text["diabetes mellitus due to underlying condition (E08.-)"] == ("E08.-",)
    assert by_text["apnea of newborn (P28.3- - P28.4-)"] == ("P28.3-P28.4",)
    assert len(with_codes) > 8_000, f"only {len(with_codes)} of {len(notes)} notes name a code"


def test_every_block_range_covers_exactly_its_categories(icd10cm: SystemData, children) -> None:
    categories = [record.code for record in icd10cm.codes if record.kind == "category"]
    blocks = [record.code for record in icd10cm.codes if record.kind == "block" and children.get(record.code)]
    mismatches = []
    for block in blocks:
        covered = [category for category in categories if covers(block, category)]
        if covered != children[block]:
            mismatches.append(f"{block}: covers {covered}, holds {children[block]}")
    _assert_none(mismatches)


def test_every_item_below_a_block_lies_in_its_range(icd10cm: SystemData, by_code) -> None:
    mismatches = []
    for record in icd10cm.codes:
        if record.kind in ("chapter", "block"):
            continue
        block = record
        while block.kind != "block":
            block = by_code[block.parent]
        if not covers(block.code, record.code):
            mismatches.append(f"{record.code} is held by {block.code} but not covered by it")
    _assert_none(mismatches)


def test_seventh_characters_d_and_s_are_not_generated_where_the_tabular_rules_them_out(by_code) -> None:
    # "7th characters D and S do not apply to codes in category S06 with 6th character 7 ... or 8".
    s06 = [code for code in by_code if code.startswith("S06.") and len(code) == 8]
    ruled_out = [code for code in s06 if code[6] in "78" and code[7] in "DS"]
    assert not ruled_out
    assert {code[7] for code in s06 if code[6] in "78"} == {"A"}
    assert {code[7] for code in s06 if code[6] not in "78"} == {"A", "D", "S"}


def test_a_file_with_a_chapter_missing_is_refused(tmp_path: Path) -> None:
    tree = ET.parse(icd10cm_loader.tabular_path())
    root = tree.getroot()
    root.remove(root.findall("chapter")[-1])
    damaged = tmp_path / icd10cm_loader.TABULAR_FILE
    tree.write(damaged, encoding="utf-8")
    with pytest.raises(icd10cm_loader.TabularDataError, match=r"98505 \(74719 billable\)"):
        icd10cm_loader.load(damaged)


def test_a_truncated_file_is_refused(tmp_path: Path) -> None:
    truncated = tmp_path / icd10cm_loader.TABULAR_FILE
    truncated.write_bytes(icd10cm_loader.tabular_path().read_bytes()[:100_000])
    with pytest.raises(icd10cm_loader.TabularDataError, match="cannot read"):
        icd10cm_loader.load(truncated)


@pytest.mark.skipif(
    importlib.util.find_spec("services.lookup.sources.ccsr_loader") is None, reason="no CCSR reader yet"
)
def test_clinical_category_members_are_icd10cm_codes(icd10cm: SystemData, by_code) -> None:
    assert icd10cm.categories
    known_categories = {category.id for category in icd10cm.categories}
    strays = [
        m for m in icd10cm.category_members if m.code not in by_code or m.category_id not in known_categories
    ]
    assert not strays, strays[:20]
