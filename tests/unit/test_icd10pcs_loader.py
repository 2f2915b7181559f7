"""The pure pieces of the ICD-10-PCS loader: code forms, level names, and repairs of carrier text."""

import pytest

from services.lookup.sources import pcs_sections as sections
from services.lookup.sources.icd10pcs_loader import PcsSourceError, gem_source_code


@pytest.mark.parametrize(("gem", "dotted"), [("4701", "47.01"), ("016", "01.6"), ("0001", "00.01")])
def test_gem_source_codes_are_written_as_cms_writes_icd9_procedures(gem, dotted):
    assert gem_source_code(gem) == dotted


@pytest.mark.parametrize("bad", ["47", "47011", "4A01", "47.01", ""])
def test_a_gem_source_that_is_not_an_icd9_procedure_code_is_refused(bad):
    with pytest.raises(PcsSourceError):
        gem_source_code(bad)


def test_a_word_broken_at_a_hyphen_is_joined_as_the_title_spells_it():
    title = (
        "Dilation of Coronary Artery, One Artery with Two Drug-eluting Intraluminal Devices, Open Approach"
    )
    assert (
        sections.join_broken_words("Intraluminal Device, Drug- eluting, Two", title)
        == "Intraluminal Device, Drug-eluting, Two"
    )


def test_a_word_split_by_a_space_is_joined_as_the_title_spells_it():
    title = "Destruction of Brain using Stereoelectroencephalographic Radiofrequency Ablation, Percutaneous Approach"
    assert (
        sections.join_broken_words("Stereoelectroencephalo graphic Radiofrequency Ablation", title)
        == "Stereoelectroencephalographic Radiofrequency Ablation"
    )


def test_words_the_title_also_has_apart_stay_apart():
    # The title has "Stereoelectroencephalographic" but also both halves as words of their own.
    title = "Stereoelectroencephalographic Ablation of Stereoelectroencephalo Graphic Region"
    assert (
        sections.join_broken_words("Stereoelectroencephalo graphic Ablation", title)
        == "Stereoelectroencephalo graphic Ablation"
    )


def test_words_are_not_joined_across_a_comma():
    title = "Insertion of Lead into Devicetwo, Open Approach"
    assert sections.join_broken_words("Device, two", title) == "Device, two"


def test_a_meaning_without_broken_words_is_left_as_it_is():
    title = "Resection of Appendix, Percutaneous Endoscopic Approach"
    assert sections.join_broken_words("Appendix", title) == "Appendix"


def test_line_breaks_in_mid_sentence_are_undone_and_items_and_examples_keep_theirs():
    carrier = (
        "the alphabet (except I and O\nbecause they are easily confused).\n"
        "Example: Where the fifth axis\nof classification applies.\n"
        "a. The same root operation\n Examples: Diagnostic excision.\n• Shoulder is coded to Upper Arm \n• Elbow"
    )
    assert sections.reflow(carrier) == (
        "the alphabet (except I and O because they are easily confused).\n"
        "Example: Where the fifth axis of classification applies.\n"
        "a. The same root operation\nExamples: Diagnostic excision.\n• Shoulder is coded to Upper Arm\n• Elbow"
    )


def test_two_swapped_letters_are_corrected_when_one_swap_gives_a_known_word():
    vocabulary = {"multiple", "procedures", "are", "coded"}
    assert sections.fix_transposed_letters("Mutliple Procedures", vocabulary) == "Multiple Procedures"


def test_an_unknown_word_with_no_single_known_swap_is_left_alone():
    assert sections.fix_transposed_letters("Mutliple", {"coded"}) == "Mutliple"
    assert sections.fix_transposed_letters("Bypass Procedures", {"procedures"}) == "Bypass Procedures"


@pytest.mark.parametrize(
    ("titles", "shared"),
    [
        (
            ["Plain Radiography of Spinal Cord", "Plain Radiography of Brain using Other Contrast"],
            "Plain Radiography",
        ),
        (
            ["Detachment at Right Shoulder Region, Open Approach", "Detachment at Left Hand, Complete"],
            "Detachment",
        ),
        (["Decompression, Circulatory, Single", "Decompression, Circulatory, Multiple"], "Decompression"),
        (
            ["High Dose Rate (HDR) Brachytherapy of Brain", "Low Dose Rate (LDR) Brachytherapy of Eye"],
            "Brachytherapy",
        ),
        (["Contact Radiation of Brain", "Hyperthermia of Brain"], ""),
        ([], ""),
    ],
)
def test_a_table_is_named_by_the_operation_words_all_its_titles_share(titles, shared):
    assert sections.shared_operation(titles) == shared


def test_the_index_names_a_body_system_only_when_two_of_its_tables_agree():
    references = [
        ("Fluoroscopy, Heart", "B21"),
        ("Plain Radiography, Heart", "B20"),
        ("Fluoroscopy, Heart, Left", "B215"),
        ("Measurement, Cardiac", "4A02"),
        ("Plain Radiography, Chest", "BW0"),
        ("Other Imaging, Anatomical Regions", "BW5"),
    ]
    assert sections.body_system_names_from_index(references) == {"B2": "Heart"}


def test_the_index_names_a_table_only_when_every_reference_gives_one_operation():
    references = [
        ("Speech Assessment, Rehabilitation", "F00"),
        ("Motor Treatment, Rehabilitation", "F07"),
        ("Motor Treatment, Rehabilitation", "F07"),
        ("Fluoroscopy, Larynx", "B91"),
        ("Plain Radiography, Larynx", "B91"),
        ("New Technology, Cardiovascular System", "X2A"),
        ("Physiological Systems and Anatomical Regions", "8E0"),
    ]
    assert sections.table_operations_from_index(references) == {
        "F00": "Speech Assessment",
        "F07": "Motor Treatment",
    }


def test_index_references_are_read_from_see_entries():
    entries = [
        (
            "Discography",
            "see Plain Radiography, Axial Skeleton **BR0**\nsee Fluoroscopy, Axial Skeleton **BR1**",
        )
    ]
    assert sections.index_references(entries) == [
        ("Plain Radiography, Axial Skeleton", "BR0"),
        ("Fluoroscopy, Axial Skeleton", "BR1"),
    ]


def test_index_use_entries_keep_their_body_system_or_table_scope():
    entries = [
        ("Abdominal aortic plexus ", "use Abdominal Sympathetic Nerve"),
        ("Acetabular cup ", "use Liner in Lower Joints"),
        ("ACUITY(tm) Steerable Lead", "use Cardiac Lead, Pacemaker in **02H**"),
        ("Abductor hallucis muscle", "use Foot Muscle, Right\nuse Foot Muscle, Left"),
        ("Pancreatic duct", "see Drainage, Pancreatic Duct **0F9D**"),
    ]
    assert sections.index_uses(entries, {"Lower Joints"}) == [
        ("Abdominal aortic plexus", "Abdominal Sympathetic Nerve", ""),
        ("Acetabular cup", "Liner", "Lower Joints"),
        ("ACUITY(tm) Steerable Lead", "Cardiac Lead, Pacemaker", "02H"),
        ("Abductor hallucis muscle", "Foot Muscle, Right", ""),
        ("Abductor hallucis muscle", "Foot Muscle, Left", ""),
    ]


@pytest.mark.parametrize(
    ("codes", "year"),
    [
        (["XW033H4", "0DTJ4ZZ"], 2019),
        (["XK02303", "X2RF032"], 2018),
        (["0DTJ4ZZ"], None),
        (["XW033HA"], None),
    ],
)
def test_the_latest_new_technology_group_dates_a_set_of_codes(codes, year):
    assert sections.new_technology_year(codes) == year


def test_mis_decoded_and_control_characters_are_signs_of_damage():
    assert sections.damage_signs("MÃ©niÃ¨re's disease")
    assert sections.damage_signs("broken \ufffd character")
    assert sections.damage_signs("a\x07bell")
    assert sections.damage_signs("“And,” means “and/or” • Shoulder is coded to Upper Arm") == []


def test_guideline_gaps_are_the_missing_a_numbers_and_the_empty_sections():
    assert sections.guideline_gaps(["A1", "A2", "A4", "B3.1a", "B4.2", "C1", "F"]) == ["A3", "D", "E"]


def test_fy2025_meanings_fit_an_fy2024_title_only_when_the_title_bears_them_out():
    meanings = (
        "Drainage: Taking or letting out fluids",
        "Products of Conception",
        "Open",
        "No Device",
        "Fetal Blood",
    )
    assert sections.meanings_fit_title(
        meanings, "Drainage of Fetal Blood from Products of Conception, Open Approach"
    )
    assert not sections.meanings_fit_title(
        meanings, "Drainage of Amniotic Fluid from Products of Conception, Open Approach"
    )


def test_phrases_are_compared_as_whole_lower_case_words():
    assert " tocilizumab " in sections.searchable(
        "Introduction of Tocilizumab into Peripheral Vein, New Technology"
    )
    assert sections.searchable("Anacaulase-bcdb (NexoBrid)") == " anacaulase-bcdb nexobrid "
