"""The plain-language lexicon: abbreviations, lay words and spellings a coder types, and the plain
words lay descriptions use, read from data/lexicon.tsv.

Each line of the file is `kind<TAB>from<TAB>to[<TAB>system]`:
- `abbr`  an abbreviation and what it stands for (search: `htn` also finds hypertension)
- `find`  words a coder or patient types and the catalog's words for them (search only)
- `syn`   two ways the catalog itself says the same thing (search, both ways: renal <-> kidney)
- `same`  a plain phrase and the medical phrase it means (search plain -> medical; lay
          descriptions medical -> plain)
- `say`   a medical phrase and how a lay description says it (lay descriptions only); the optional
          system column restricts the line to one code system
- `spell` a British spelling and the American one the catalogs use
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from services.lookup.search_tokens import STOP_WORDS, stem, words

LEXICON_PATH = Path(__file__).with_name("data") / "lexicon.tsv"
KINDS = ("abbr", "find", "syn", "same", "say", "spell")

# British spellings that follow a pattern; the explicit `spell` lines cover the rest.
_SPELLING_RULES = (
    (re.compile(r"^(.*)aemia$"), r"\1emia"),  # anaemia, leukaemia, septicaemia
    (re.compile(r"^haem(.*)$"), r"hem\1"),  # haemorrhage, haematoma
    (re.compile(r"^(.*)oedema(.*)$"), r"\1edema\2"),
    (re.compile(r"^oesophag(.*)$"), r"esophag\1"),
    (re.compile(r"^(.*)paed(.*)$"), r"\1ped\2"),  # paediatric, orthopaedic
    (re.compile(r"^(.*)gynaec(.*)$"), r"\1gynec\2"),
    (re.compile(r"^(.*)tumour(.*)$"), r"\1tumor\2"),
)


# Words whose spelling was worked out, kept for the next time; bounded for very long-lived processes.
_SPELLING_CACHE = 200_000


class LexiconError(ValueError):
    """A line of the lexicon file cannot be read: says which line and why."""


@dataclass(frozen=True)
class LexiconLine:
    kind: str
    source: str  # the `from` column
    target: str  # the `to` column
    system: str = ""  # for `say` lines: the one code system the line applies to, or "" for all
    line_number: int = 0


@dataclass
class Lexicon:
    lines: list[LexiconLine]
    # Search: the stems of what a coder types -> the texts the catalog says it with.
    expansions: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    spellings: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for line in self.lines:
            if line.kind == "spell":
                self.spellings[line.source.lower()] = line.target.lower()
        for line in self.lines:
            if line.kind in ("abbr", "find", "same", "syn"):
                self._add(line.source, line.target)
            if line.kind == "syn":
                self._add(line.target, line.source)

    def _add(self, typed: str, meaning: str) -> None:
        key = self.search_key(typed)
        if not key:
            raise LexiconError(f"lexicon: {typed!r} has only stop words, so a search never sees it")
        targets = self.expansions.setdefault(key, [])
        if meaning not in targets:
            targets.append(meaning)

    def us_spelling(self, word: str) -> str:
        """The American spelling of a lower-case word (the catalogs are American)."""
        known = self.spellings.get(word)
        if known is None:
            known = word
            for pattern, replacement in _SPELLING_RULES:
                if pattern.match(word):
                    known = pattern.sub(replacement, word)
                    break
            if len(self.spellings) < _SPELLING_CACHE:
                self.spellings[word] = known  # American words map to themselves: remembered too
        return known

    def search_key(self, text: str) -> tuple[str, ...]:
        """The stems a query is matched by: stop words out, American spelling, plural folded."""
        return tuple(stem(self.us_spelling(w)) for w in words(text) if w not in STOP_WORDS)

    def describe_pairs(self, system: str) -> list[tuple[str, str]]:
        """(medical phrase, plain phrase) for lay descriptions of `system`'s titles."""
        pairs = []
        for line in self.lines:
            if line.kind == "same":
                pairs.append((line.target, line.source))
            elif line.kind == "say" and line.system in ("", system):
                pairs.append((line.source, line.target))
        return pairs


def parse_lexicon(text: str) -> Lexicon:
    """Read the lexicon file's text; LexiconError names the first bad line."""
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        columns = raw.rstrip("\n").split("\t")
        if len(columns) not in (3, 4):
            raise LexiconError(f"lexicon line {number}: expected 3 or 4 tab-separated columns: {raw!r}")
        kind, source, target = (c.strip() for c in columns[:3])
        system = columns[3].strip() if len(columns) == 4 else ""
        if kind not in KINDS:
            raise LexiconError(f"lexicon line {number}: unknown kind {kind!r}; one of {', '.join(KINDS)}")
        if not source or not target:
            raise LexiconError(f"lexicon line {number}: empty phrase: {raw!r}")
        if system and kind != "say":
            raise LexiconError(f"lexicon line {number}: only `say` lines name a system")
        lines.append(LexiconLine(kind, source, target, system, number))
    return Lexicon(lines)


@cache
def default_lexicon() -> Lexicon:
    """The lexicon shipped with the service (read once per process)."""
    return parse_lexicon(LEXICON_PATH.read_text(encoding="utf-8"))
