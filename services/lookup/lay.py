"""Plain-language descriptions of official titles, from the lexicon run medical -> plain.

The build calls `describe` for every code (about 200,000), so each code system's phrases are
compiled once into one regular expression shaped like a trie: at each position the engine follows
the letters of the title instead of trying hundreds of phrases one by one, and the longest phrase
wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from services.lookup.lexicon import Lexicon, default_lexicon

# A `say` line whose medical phrase starts with "^" applies only at the start of a title: ICD-10-PCS
# titles start with their root operation ("Resection of ..."), and "Change" or "Map" elsewhere in a
# title are ordinary words.
_ANCHOR = "^"
# A phrase is matched as whole words; a hyphen joins words ("intra-abdominal" is not "abdominal").
_BEFORE = r"(?<![A-Za-z0-9-])"
_AFTER = r"(?![A-Za-z0-9-])"
# ICD-10-PCS capitalizes every word; a description reads as a sentence. All-capital words
# (acronyms such as CT) keep their case.
_CAPITALIZED_WORD = re.compile(r"\b[A-Z][a-z]+\b")


@dataclass(frozen=True)
class _Rules:
    anywhere: re.Pattern[str] | None
    at_start: re.Pattern[str] | None
    plain: dict[str, str]  # lower-case medical phrase -> plain phrase


def _trie_pattern(phrases: list[str]) -> str:
    """One regular expression matching any of `phrases`, longest first, built as a trie."""
    root: dict = {}
    for phrase in phrases:
        node = root
        for char in phrase:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict) -> str:
        ends = "" in node
        branches = []
        for char in sorted(k for k in node if k):
            # Follow a chain of single children as one literal: shallower, faster to match.
            literal, child = char, node[char]
            while len(child) == 1 and "" not in child:
                (next_char,) = child
                literal += next_char
                child = child[next_char]
            branches.append(re.escape(literal) + emit(child))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if ends:
            return f"(?:{body})?"
        return body

    return emit(root)


def _normalize_phrase(text: str) -> str:
    return " ".join(text.lower().split())


def rules_for(system: str, lexicon: Lexicon) -> _Rules:
    plain: dict[str, str] = {}
    anywhere, at_start = [], []
    for medical, lay in lexicon.describe_pairs(system):
        anchored = medical.startswith(_ANCHOR)
        key = _normalize_phrase(medical.removeprefix(_ANCHOR))
        # The first line for a phrase wins: the file lists the preferred wording first.
        if (_ANCHOR + key if anchored else key) in plain:
            continue
        plain[_ANCHOR + key if anchored else key] = lay
        (at_start if anchored else anywhere).append(key)
    flags = re.IGNORECASE
    return _Rules(
        re.compile(_BEFORE + "(?:" + _trie_pattern(anywhere) + ")" + _AFTER, flags) if anywhere else None,
        re.compile("^(?:" + _trie_pattern(at_start) + ")" + _AFTER, flags) if at_start else None,
        plain,
    )


@cache
def _default_rules(system: str) -> _Rules:
    return rules_for(system, default_lexicon())


def _sentence_case(title: str) -> str:
    return _CAPITALIZED_WORD.sub(lambda m: m.group(0).lower(), title)


def describe(title: str, system: str) -> str:
    """The title in plain words; the title itself when the lexicon has nothing for it."""
    # Titles repeat their parts ("initial encounter for closed fracture", "Open Approach"):
    # translating each comma-separated part once, through a cache, is most of the speed.
    parts = title.split(", ")
    translated = [_describe_part(parts[0], system, True)]
    translated.extend(_describe_part(part, system, False) for part in parts[1:])
    if not any(changed for _, changed in translated):
        return title
    text = ", ".join(plain for plain, _ in translated)
    return text[:1].upper() + text[1:]


@lru_cache(maxsize=1 << 17)
def _describe_part(part: str, system: str, first: bool) -> tuple[str, bool]:
    return _translate(part, system, _default_rules(system), first)


def describe_with(text: str, system: str, rules: _Rules, at_title_start: bool = True) -> str:
    """`text` in plain words by `rules`, or "" when no rule applies."""
    plain, changed = _translate(text, system, rules, at_title_start)
    return plain if changed else ""


def _translate(text: str, system: str, rules: _Rules, at_title_start: bool) -> tuple[str, bool]:
    """`text` in plain words (in sentence case for PCS), and whether any rule applied."""
    if system == "icd10pcs":
        text = _sentence_case(text)
    prefix = ""
    if at_title_start and rules.at_start is not None:
        match = rules.at_start.match(text)
        if match:
            # The root operation's plain words are final: the rest of the title is translated.
            prefix = rules.plain[_ANCHOR + _normalize_phrase(match.group(0))]
            text = text[match.end() :]
    changed = bool(prefix)

    def plain(match: re.Match[str]) -> str:
        nonlocal changed
        changed = True
        return rules.plain[_normalize_phrase(match.group(0))]

    if rules.anywhere is not None:
        text = rules.anywhere.sub(plain, text)
    return prefix + text, changed
