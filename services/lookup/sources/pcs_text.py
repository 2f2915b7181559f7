"""The ICD-10-PCS carrier's text, checked before it is shown: the GEM's ICD-9-CM titles against CMS,
character meanings with words a line break split joined again, guidelines reflowed and corrected,
and code titles that show damage marked with a warning.

Each repair is made only where the data itself bears it out, and says so in the code's warnings.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterable
from typing import NamedTuple

from services.lookup.records import CodeRecord
from services.lookup.sources import pcs_sections as sections

log = logging.getLogger(__name__)

_HEADING = re.compile(r"\*\*(.+?)\*\*\n")


class GemTitleCheck(NamedTuple):
    """How the carrier's ICD-9-CM procedure titles compare with the CMS v32 titles."""

    source_codes: int  # distinct ICD-9-CM codes of the GEM
    titles: int  # the carrier's distinct (code, title) pairs, in gems_i9_desc and the GEM rows
    first_letter_lost: int  # titles equal to the CMS title without its first character
    other_differences: int
    rows_with_damaged_title: int  # GEM rows whose icd9_desc differs from the CMS title
    without_cms_title: tuple[str, ...]  # GEM codes CMS v32 has no title for


def check_gem_titles(db: sqlite3.Connection, cms_titles: dict[str, str]) -> GemTitleCheck:
    """Compare every ICD-9-CM title the carrier's GEM tables hold with the CMS v32 long title."""
    pairs = set(db.execute("SELECT code, description FROM gems_i9_desc"))
    pairs |= set(
        db.execute("SELECT DISTINCT icd9, icd9_desc FROM gems_i9_to_pcs WHERE icd9_desc IS NOT NULL")
    )
    sources = {code for (code,) in db.execute("SELECT DISTINCT icd9 FROM gems_i9_to_pcs")}
    lost = other = 0
    for code, title in pairs:
        sound = cms_titles.get(code)
        if sound is None or title == sound:
            continue
        if title == sound[1:]:
            lost += 1
        else:
            other += 1
    damaged_rows = sum(
        1
        for code, title in db.execute("SELECT icd9, icd9_desc FROM gems_i9_to_pcs")
        if title != cms_titles.get(code)
    )
    missing = tuple(sorted(sources - cms_titles.keys()))
    return GemTitleCheck(len(sources), len(pairs), lost, other, damaged_rows, missing)


class BrokenWordRepairs:
    """Character meanings with their broken words joined as the code title spells them; each
    meaning is looked at once, and every code that shows a repaired one says so."""

    def __init__(self) -> None:
        self._repairs: dict[tuple[int, str], tuple[str, str]] = {}

    def repaired(self, position: int, meaning: str, title: str) -> tuple[str, str]:
        """The meaning with its broken words joined as the title spells them, and the warning if any."""
        key = (position, meaning)
        if key not in self._repairs:
            fixed = sections.join_broken_words(meaning, title)
            warning = ""
            if fixed != meaning:
                warning = (
                    f"Character {position} ({sections.SURGICAL_AXES[position - 1]}): the packaged table "
                    f"reads “{meaning}”, a word broken in two; shown as “{fixed}”, as the code title spells it."
                )
            self._repairs[key] = (fixed, warning)
        return self._repairs[key]

    def count(self) -> int:
        """How many meanings were repaired."""
        return sum(1 for _fixed, warning in self._repairs.values() if warning)


class GuidelineText(NamedTuple):
    section: str
    topic: str
    body: str
    damage: list[str]  # what shows the text was damaged; a damaged guideline is not shown


def guideline_vocabulary(contents: Iterable[str]) -> set[str]:
    """The words of the guidelines, against which a topic's transposed letters are corrected."""
    return {word for content in contents for word in sections.title_words(content)}


def checked_guideline(section: str, topic: str, content: str, vocabulary: set[str]) -> GuidelineText:
    """A guideline's text reflowed, filed under the heading it names, its topic corrected and checked."""
    body = sections.reflow(content)
    heading = _HEADING.match(body)
    if heading:
        # The carrier files "F. Selection of Principal Procedure" under Conventions; its own
        # heading names it.
        section = topic = heading.group(1)
        body = body[heading.end() :]
    topic = sections.fix_transposed_letters(sections.normalize_spaces(topic), vocabulary)
    damage = sections.damage_signs(body) + sections.damage_signs(topic)
    return GuidelineText(sections.normalize_spaces(section), topic, body, damage)


def warn_of_damaged_titles(codes: list[CodeRecord]) -> None:
    """Add a warning to each code whose title or short title shows signs of damage."""
    # One look over every title first: damage is rare, so the per-code look seldom runs.
    titles = "\n".join(f"{record.title} {record.short_title}" for record in codes)
    for record in codes if sections.damage_signs(titles) else ():
        damage = sections.damage_signs(f"{record.title} {record.short_title}")
        if damage:
            record.data_warnings.append(
                f"The packaged title shows signs of damage ({'; '.join(damage)}): check it against the code tables."
            )


def log_text_checks(gem_titles: GemTitleCheck, truncated_definitions: int, repaired_meanings: int) -> None:
    """One line with what the checks of the carrier's text found; a warning per GEM code without a CMS title."""
    log.info(
        "checked the carrier's text",
        extra={
            "gem_titles": gem_titles.titles,
            "gem_titles_first_letter_lost": gem_titles.first_letter_lost,
            "gem_titles_other_differences": gem_titles.other_differences,
            "gem_rows_with_damaged_title": gem_titles.rows_with_damaged_title,
            "truncated_root_operation_definitions": truncated_definitions,
            "repaired_character_meanings": repaired_meanings,
        },
    )
    for code in gem_titles.without_cms_title:
        log.warning("GEM source code without a CMS title", extra={"code": code})
