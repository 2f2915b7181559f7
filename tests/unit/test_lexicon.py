"""The lexicon file: its format, spellings, and the shipped file's consistency."""

from __future__ import annotations

import pytest

from services.lookup.lexicon import KINDS, LexiconError, default_lexicon, parse_lexicon


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abbr\thtn\n", "line 1: expected 3 or 4"),
        ("# comment\n\nguess\thtn\thypertension\n", "line 3: unknown kind 'guess'"),
        ("abbr\t\thypertension\n", "line 1: empty phrase"),
        ("abbr\thtn\thypertension\ticd10cm\n", "only `say` lines name a system"),
        ("abbr\tof the\thypertension\n", "only stop words"),
    ],
)
def test_a_bad_line_is_refused_with_its_number(text, message):
    with pytest.raises(LexiconError, match=message):
        parse_lexicon(text)


@pytest.mark.parametrize(
    ("british", "american"),
    [
        ("haemorrhage", "hemorrhage"),
        ("oesophagus", "esophagus"),
        ("oesophageal", "esophageal"),
        ("anaemia", "anemia"),
        ("hypoglycaemia", "hypoglycemia"),
        ("paediatric", "pediatric"),
        ("orthopaedic", "orthopedic"),
        ("oedema", "edema"),
        ("tumour", "tumor"),
        ("diarrhoea", "diarrhea"),
        ("caesarean", "cesarean"),
        ("hypertension", "hypertension"),
    ],
)
def test_british_spellings_become_american(british, american):
    assert default_lexicon().us_spelling(british) == american


def test_search_keys_drop_stop_words_and_fold_plurals_and_spelling():
    lexicon = parse_lexicon("find\tkidney stones\tcalculus of kidney\n")
    assert lexicon.search_key("Stones of the Kidneys") == ("stone", "kidney")
    assert lexicon.expansions[("kidney", "stone")] == ["calculus of kidney"]


def test_synonyms_are_searched_both_ways():
    lexicon = parse_lexicon("syn\tkidney\trenal\n")
    assert lexicon.expansions[("kidney",)] == ["renal"]
    assert lexicon.expansions[("renal",)] == ["kidney"]


def test_describe_pairs_keep_system_lines_to_their_system():
    lexicon = parse_lexicon(
        "same\theart attack\tmyocardial infarction\nsay\t^Resection of\tRemoval of all of\ticd10pcs\n"
    )
    assert lexicon.describe_pairs("icd10cm") == [("myocardial infarction", "heart attack")]
    assert lexicon.describe_pairs("icd10pcs") == [
        ("myocardial infarction", "heart attack"),
        ("^Resection of", "Removal of all of"),
    ]


def test_the_shipped_lexicon_is_consistent():
    lexicon = default_lexicon()
    assert len(lexicon.lines) >= 300
    seen = set()
    for line in lexicon.lines:
        assert line.kind in KINDS
        assert line.source.lower() != line.target.lower(), f"line {line.line_number} says nothing"
        key = (line.kind, line.source.lower(), line.target.lower())
        assert key not in seen, f"line {line.line_number} repeats an earlier line"
        seen.add(key)
        if line.source.startswith("^"):
            assert line.kind == "say", f"line {line.line_number}: only lay-description lines are anchored"
    # Every code system's lay phrases compile, and what coders type most is there.
    for typed in ("htn", "heart attack", "broken", "appy", "lap chole", "t2dm", "dm2", "sugar diabetes"):
        assert lexicon.search_key(typed) in lexicon.expansions, typed
