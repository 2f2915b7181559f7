"""How search reads text: words, stop words, plural stemming and the exact-title key.

The index and the query go through the same functions, so a stem only has to be consistent, not
pretty: "diabetes" becomes "diabete" on both sides and still matches.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

# Words too common in titles to tell codes apart. "without" stays: "with" vs "without
# complications" is a different code, and a coder who types "without" means it.
STOP_WORDS = frozenset(
    {"a", "an", "and", "the", "of", "or", "in", "on", "to", "for", "with", "by", "at", "as", "from", "into"}
    | {"due", "nos", "its", "is", "be", "are", "than"}
)

# Words that say little about which code is meant: as words of a title that the query did not ask
# for they count less against the code, so that "Type 2 diabetes mellitus without complications"
# (the code to pick when nothing more is said) outranks "... with hyperglycemia". "Other" is not
# one of them: "Other specified sepsis" needs documentation of a type; "unspecified" is the default.
FILLER_WORDS = frozenset(
    {
        "unspecified",
        "unqualified",  # ICD-9-CM's word for it
        "specified",
        "without",
        "complication",
        "approach",
        "site",
        "part",
        "region",
        "elsewhere",
        "classified",
        "nec",
        "not",
        "organism",
        "initial",
        "encounter",
    }
)
FILLER_WEIGHT = 0.3
# A word found in fewer than total / e^8 codes (about 1 in 3,000) counts in full as unrequested.
RARE_WORD_IDF = 8.0

_WORD = re.compile(r"[a-z0-9]+")
_POSSESSIVE = re.compile(r"['’]s\b")


def words(text: str) -> list[str]:
    """The lower-case words of `text`, stop words included ("Crohn's" -> "crohn")."""
    return _WORD.findall(_POSSESSIVE.sub("", text.lower()))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Fold English and Latin plurals onto one form ("fractures", "injuries", "vertebrae")."""
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if word.endswith("ae") and len(word) > 4:
        return word[:-1]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def token_weights(vocabulary: Sequence[str], document_counts: np.ndarray, total: int) -> np.ndarray:
    """How much each word, unrequested in a title, counts against a code: filler words little,
    common words (right, type, acute) less than rare ones (underlying, neonatal), which say that
    the code is about something more specific than what was asked."""
    rarity = np.log(max(total, 1) / np.maximum(document_counts, 1)) / RARE_WORD_IDF
    weights = (0.5 + 0.5 * np.clip(rarity, 0.0, 1.0)).astype(np.float32)
    filler = [i for i, token in enumerate(vocabulary) if token in FILLER_WORDS]
    weights[filler] = FILLER_WEIGHT
    return weights


_PARENTHESES = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")


def without_parentheses(text: str) -> str:
    """The text without its nonessential modifiers: ICD writes them in parentheses."""
    return _PARENTHESES.sub(" ", text)


def key_hash(stems: Iterable[str]) -> int:
    """A stable 63-bit hash of a sequence of stems (Python's own hash changes between processes)."""
    digest = hashlib.blake2b(" ".join(stems).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1
