"""Search behaviour on a small index of real titles: what a coder types and what comes first."""

from __future__ import annotations

import pytest

from services.lookup.lexicon import parse_lexicon
from services.lookup.search import SearchEntry, SearchIndex, SearchIndexError

E = SearchEntry
ENTRIES = [
    # Deliberately not in catalog order: the index puts systems in order, keeping publication order.
    E("icd9pcs", "47.0", "Appendectomy", "subcategory", False),
    E("icd9pcs", "47.01", "Laparoscopic appendectomy", "code", True),
    E("icd9pcs", "47.09", "Other appendectomy", "code", True),
    E("icd10cm", "4", "Endocrine, nutritional and metabolic diseases (E00-E89)", "chapter", False),
    E("icd10cm", "E08-E13", "Diabetes mellitus", "block", False),
    E("icd10cm", "E10.65", "Type 1 diabetes mellitus with hyperglycemia", "code", True),
    E("icd10cm", "E11", "Type 2 diabetes mellitus", "category", False, ["diabetes NOS"]),
    E(
        "icd10cm",
        "E11.6",
        "Type 2 diabetes mellitus with other specified complications",
        "subcategory",
        False,
    ),
    E("icd10cm", "E11.65", "Type 2 diabetes mellitus with hyperglycemia", "code", True, parent="E11.6"),
    E("icd10cm", "E11.9", "Type 2 diabetes mellitus without complications", "code", True),
    E(
        "icd10cm",
        "I10",
        "Essential (primary) hypertension",
        "category",
        True,
        [
            "High blood pressure",
            "Hypertension (arterial) (benign) (essential) (malignant) (primary) (systemic)",
        ],
    ),
    E("icd10cm", "I15.0", "Renovascular hypertension", "code", True),
    E("icd10cm", "I21", "Acute myocardial infarction", "category", False),
    E(
        "icd10cm",
        "I21.9",
        "Acute myocardial infarction, unspecified",
        "code",
        True,
        ["Myocardial infarction (acute) NOS"],
    ),
    E("icd10cm", "I25.2", "Old myocardial infarction", "code", True),
    E("icd10cm", "J18", "Pneumonia, unspecified organism", "category", False),
    E("icd10cm", "J18.9", "Pneumonia, unspecified organism", "code", True),
    E("icd10cm", "A41.89", "Other specified sepsis", "code", True),
    E("icd10cm", "A41.9", "Sepsis, unspecified organism", "code", True),
    E("icd10cm", "K21.0", "Gastro-esophageal reflux disease with esophagitis", "subcategory", False),
    E(
        "icd10cm",
        "K21.00",
        "Gastro-esophageal reflux disease with esophagitis, without bleeding",
        "code",
        True,
    ),
    E("icd10cm", "K21.9", "Gastro-esophageal reflux disease without esophagitis", "code", True),
    E("icd10cm", "K35.80", "Unspecified acute appendicitis", "code", True, ["Acute appendicitis NOS"]),
    E("icd10cm", "N39.492", "Postural (urinary) incontinence", "code", True),
    E("icd10cm", "R32", "Unspecified urinary incontinence", "category", True),
    E("icd10cm", "K92.2", "Gastrointestinal hemorrhage, unspecified", "code", True),
    E("icd10cm", "S72.91", "Unspecified fracture of right femur", "subcategory", False),
    E(
        "icd10cm",
        "S72.91XA",
        "Unspecified fracture of right femur, initial encounter for closed fracture",
        "code",
        True,
    ),
    E(
        "icd10cm",
        "S72.92XA",
        "Unspecified fracture of left femur, initial encounter for closed fracture",
        "code",
        True,
    ),
    E("icd10pcs", "0DT", "Resection of Gastrointestinal System", "table", False),
    E("icd10pcs", "0DTJ0ZZ", "Resection of Appendix, Open Approach", "code", True),
    E("icd10pcs", "0DTJ4ZZ", "Resection of Appendix, Percutaneous Endoscopic Approach", "code", True),
    E("icd10pcs", "0FT40ZZ", "Resection of Gallbladder, Open Approach", "code", True),
    E("icd10pcs", "0FT44ZZ", "Resection of Gallbladder, Percutaneous Endoscopic Approach", "code", True),
    E("icd9cm", "250.00", "Diabetes mellitus without mention of complication, type II", "code", True),
    E("icd9cm", "250.01", "Diabetes mellitus without mention of complication, type I", "code", True),
    E("icd9cm", "401.9", "Unspecified essential hypertension", "code", True),
]

LEXICON = parse_lexicon(
    "abbr\thtn\thypertension\n"
    "same\theart attack\tacute myocardial infarction\n"
    "same\theart attack\tmyocardial infarction\n"
    "find\tbroken\tfracture\n"
    "abbr\tt2dm\ttype 2 diabetes mellitus\n"
    "abbr\tappy\tappendectomy\n"
    "find\tappendectomy\tresection of appendix\n"
    "abbr\tlap\tlaparoscopic\n"
    "find\tlaparoscopic\tpercutaneous endoscopic\n"
    "spell\tthigh bone\tfemur\n"
)


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.build(ENTRIES, LEXICON)


def codes(index: SearchIndex, query: str, **options) -> list[str]:
    options.setdefault("limit", 50)
    return [hit.code for hit in index.search(query, **options).hits]


def test_a_code_prefix_lists_the_code_itself_first_then_its_descendants_in_publication_order(index):
    assert codes(index, "E11") == ["E11", "E11.6", "E11.65", "E11.9"]


def test_code_input_is_accepted_without_the_dot_and_in_any_case(index):
    assert codes(index, "e116") == ["E11.6", "E11.65"]
    assert codes(index, "e11.65") == ["E11.65"]
    assert codes(index, "0dtj") == ["0DTJ0ZZ", "0DTJ4ZZ"]
    assert codes(index, "4701") == ["47.01"]
    assert codes(index, "250.0") == ["250.00", "250.01"]


def test_a_block_is_found_by_its_range(index):
    assert codes(index, "e08-e13") == ["E08-E13"]


def test_a_code_that_is_not_in_the_catalog_finds_nothing(index):
    page = index.search("Z99.89", limit=20)
    assert page.hits == [] and page.total == 0


def test_a_code_s_own_title_finds_it_first_even_when_shorter_codes_contain_it(index):
    assert codes(index, "Type 2 diabetes mellitus with hyperglycemia")[0] == "E11.65"
    assert codes(index, "Acute myocardial infarction")[0] == "I21"
    assert codes(index, "Resection of Appendix, Open Approach")[0] == "0DTJ0ZZ"


def test_between_equal_titles_the_billable_code_comes_before_its_category(index):
    assert codes(index, "Pneumonia, unspecified organism")[:2] == ["J18.9", "J18"]


def test_codes_with_every_word_come_before_codes_with_some(index):
    found = codes(index, "type 2 diabetes hyperglycemia")
    assert found[0] == "E11.65"
    assert found.index("E11.65") < found.index("E10.65")


def test_fewer_unrequested_words_rank_higher(index):
    found = codes(index, "fracture right femur")
    assert found == ["S72.91", "S72.91XA", "S72.92XA"]  # the left femur lacks a word: last


def test_unspecified_is_the_default_and_other_needs_documentation(index):
    assert codes(index, "sepsis") == ["A41.9", "A41.89"]


def test_what_a_code_is_without_does_not_count_against_it(index):
    assert codes(index, "gastro-esophageal reflux disease")[0] == "K21.9"
    with_it = codes(index, "gastro-esophageal reflux disease with esophagitis")
    assert with_it.index("K21.00") < with_it.index("K21.9")


def test_a_word_only_in_parentheses_is_a_nonessential_modifier(index):
    assert codes(index, "urinary incontinence") == ["R32", "N39.492"]


def test_an_abbreviation_finds_what_it_stands_for(index):
    assert codes(index, "htn")[0] == "I10"
    assert set(codes(index, "htn")) >= {"I10", "I15.0", "401.9"}
    assert codes(index, "T2DM")[0] == "E11"


def test_lay_words_find_the_medical_title_and_acute_comes_before_old(index):
    found = codes(index, "heart attack")
    assert found[0] == "I21.9"  # "Myocardial infarction (acute) NOS" is its inclusion term
    assert found.index("I21") < found.index("I25.2")


def test_lay_words_combine_with_title_words(index):
    assert codes(index, "broken right femur")[:2] == ["S72.91", "S72.91XA"]


def test_a_procedure_abbreviation_finds_the_pcs_and_icd9_procedure(index):
    assert codes(index, "lap appy", systems=frozenset({"icd10pcs"})) == ["0DTJ4ZZ"]
    assert codes(index, "lap appy", systems=frozenset({"icd9pcs"}))[0] == "47.01"


def test_typos_are_corrected_against_the_words_of_the_index(index):
    assert codes(index, "pnuemonia")[0] == "J18.9"
    assert codes(index, "diabtes mellitus type 2")[0] == "E11"
    assert codes(index, "hypertenshun")[0] == "I10"


def test_british_spellings_and_plurals_find_american_titles(index):
    assert codes(index, "gastrointestinal haemorrhage") == ["K92.2"]
    assert codes(index, "fractures of right femurs")[:2] == ["S72.91", "S72.91XA"]


def test_the_system_filter_keeps_only_those_systems(index):
    assert codes(index, "hypertension", systems=frozenset({"icd9cm"})) == ["401.9"]
    pcs_and_icd9 = codes(index, "appendectomy", systems=frozenset({"icd10pcs", "icd9pcs"}))
    assert set(pcs_and_icd9) == {"47.0", "47.01", "47.09", "0DTJ0ZZ", "0DTJ4ZZ"}
    assert codes(index, "E11", systems=frozenset({"icd10pcs"})) == []
    assert codes(index, "E11", systems=frozenset({"cpt"})) == []


def test_the_billable_filter_leaves_out_categories_and_headings(index):
    assert codes(index, "E11", billable_only=True) == ["E11.65", "E11.9"]
    assert "E11" not in codes(index, "diabetes", billable_only=True)


def test_pages_follow_each_other_without_gaps_or_repeats(index):
    everything = index.search("diabetes", limit=100)
    paged = []
    for offset in range(0, everything.total, 3):
        page = index.search("diabetes", offset=offset, limit=3)
        assert page.total == everything.total
        paged.extend(hit.code for hit in page.hits)
    assert paged == [hit.code for hit in everything.hits]
    assert len(set(paged)) == len(paged) == everything.total
    assert index.search("diabetes", offset=everything.total, limit=3).hits == []


def test_scores_never_rise_down_the_page(index):
    scores = [hit.score for hit in index.search("diabetes mellitus", limit=100).hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)


@pytest.mark.parametrize("query", ["", "   ", "of the", "!!!", "zzqx"])
def test_a_query_with_nothing_to_match_gives_an_empty_page(index, query):
    page = index.search(query, limit=20)
    assert page.hits == [] and page.total == 0


def test_hits_carry_what_a_result_shows_without_the_database(index):
    hit = index.search("E11.65", limit=1).hits[0]
    assert (hit.system, hit.code, hit.title, hit.kind, hit.billable, hit.parent) == (
        "icd10cm",
        "E11.65",
        "Type 2 diabetes mellitus with hyperglycemia",
        "code",
        True,
        "E11.6",
    )
    assert index.search("E11", limit=1).hits[0].parent == ""


def test_the_index_survives_its_bytes(index):
    copy = SearchIndex.from_bytes(index.to_bytes(), LEXICON)
    for query in ("E11", "heart attack", "pnuemonia", "lap appy", "diabetes"):
        assert index.search(query, limit=50) == copy.search(query, limit=50)
    assert index.to_bytes() == SearchIndex.build(ENTRIES, LEXICON).to_bytes()


def test_bytes_that_are_not_an_index_are_refused():
    with pytest.raises(SearchIndexError):
        SearchIndex.from_bytes(b"not an index")


def test_entries_of_an_unknown_system_are_refused():
    with pytest.raises(SearchIndexError, match="unknown code system"):
        SearchIndex.build([E("icd11", "5A11", "Type 2 diabetes mellitus", "code", True)], LEXICON)


def test_the_default_lexicon_is_used_when_none_is_given():
    index = SearchIndex.build(ENTRIES)
    assert codes(index, "high blood pressure")[0] == "I10"
    assert codes(index, "heart attack")[0] == "I21.9"


# -- the index beside the catalog -------------------------------------------------------------


@pytest.fixture
def catalog(tmp_path):
    """A real SQLite catalog with the catalog's own tables and a few codes."""
    from sqlalchemy import insert

    from services.common.db import create_db_engine
    from services.lookup import storage
    from services.lookup.codes import code_key

    engine = create_db_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    storage.metadata.create_all(engine)
    rows = [
        {
            "system": entry.system,
            "code": entry.code,
            "code_key": code_key(entry.code),
            "title": entry.title,
            "kind": entry.kind,
            "billable": entry.billable,
            "parent": entry.parent or None,
            "position": position,
            "terms": "\n".join(entry.terms),
            "payload": b"",
        }
        for position, entry in enumerate(ENTRIES)
    ]
    with engine.begin() as conn:
        conn.execute(insert(storage.codes), rows)
    yield engine
    engine.dispose()


def test_the_stored_index_is_the_catalog_s_and_replaces_the_old_one(catalog):
    from services.lookup.search_index_store import load_search_index, rebuild_search_index

    rebuild_search_index(catalog)
    rebuild_search_index(catalog)  # replaced, not added
    index = load_search_index(catalog)
    assert len(index) == len(ENTRIES)
    assert [hit.code for hit in index.search("E11", limit=10).hits] == ["E11", "E11.6", "E11.65", "E11.9"]
    assert index.search("Myocardial infarction (acute) NOS", limit=1).hits[0].code == "I21.9"  # a term
    assert index.search("E11.65", limit=1).hits[0].parent == "E11.6"


def test_an_index_built_by_other_code_or_another_lexicon_is_stale(catalog):
    from sqlalchemy import update

    from services.lookup import storage
    from services.lookup.search_format import pack, unpack
    from services.lookup.search_index_store import rebuild_search_index, search_index_is_current

    assert not search_index_is_current(catalog)
    rebuild_search_index(catalog)
    assert search_index_is_current(catalog)
    with catalog.connect() as conn:
        arrays = dict(unpack(conn.execute(storage.artifacts.select()).first().payload))
    arrays["builder"] = arrays["builder"][::-1].copy()
    with catalog.begin() as conn:
        conn.execute(update(storage.artifacts).values(payload=pack(arrays)))
    assert not search_index_is_current(catalog)


def test_a_catalog_without_an_index_or_with_a_damaged_one_says_so(catalog):
    from sqlalchemy import update

    from services.lookup import storage
    from services.lookup.search_index_store import SearchIndexMissing, load_search_index, rebuild_search_index

    with pytest.raises(SearchIndexMissing, match="make catalog"):
        load_search_index(catalog)
    rebuild_search_index(catalog)
    with catalog.begin() as conn:
        conn.execute(update(storage.artifacts).values(content_hash="0" * 64))
    with pytest.raises(SearchIndexMissing, match="does not match its hash"):
        load_search_index(catalog)
