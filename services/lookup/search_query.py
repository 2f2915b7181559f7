"""How a typed query becomes what the index looks for: concepts, each with its alternatives.

A concept is one thing the coder asked for ("heart attack", "right", "femur"); an alternative is
one way the catalog may say it, as words that must all be there ("myocardial infarction"). A code
matches a concept when it has every word of at least one of its alternatives.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from services.lookup.lexicon import Lexicon
from services.lookup.search_tokens import STOP_WORDS, stem, words

# An expansion can itself hold words the lexicon knows ("laparoscopic cholecystectomy" ->
# "percutaneous endoscopic" + "resection gallbladder"); this many combinations are enough.
MAX_ALTERNATIVES = 16
# Typo tolerance: words shorter than this are too ambiguous to correct.
MIN_FUZZY_LENGTH = 4


@dataclass(frozen=True)
class Alternative:
    stems: tuple[str, ...]
    tokens: tuple[int, ...]  # vocabulary ids of the stems, all required
    weight: float  # the words' weight in a title: how much of it they cover


@dataclass(frozen=True)
class Concept:
    typed: str  # what the coder typed for it
    alternatives: tuple[Alternative, ...]
    corrected: bool = False  # found by typo correction


class QueryReader:
    """Reads queries against one index's vocabulary and the lexicon."""

    def __init__(
        self,
        vocabulary: Sequence[str],
        document_counts: Sequence[int],
        weights: Sequence[float],
        lexicon: Lexicon,
    ) -> None:
        self.vocabulary = vocabulary
        self.ids = {token: i for i, token in enumerate(vocabulary)}
        self.document_counts = document_counts
        self.weights = weights
        self.lexicon = lexicon
        self.longest_key = max((len(k) for k in lexicon.expansions), default=1)
        self.key_starts = {k[0] for k in lexicon.expansions}
        # Typo correction looks among the known words of about the typed word's length.
        self._by_length: dict[int, list[str]] = {}
        known = set(vocabulary) | {k[0] for k in lexicon.expansions if len(k) == 1}
        for token in sorted(known):
            if not token.isdigit():
                self._by_length.setdefault(len(token), []).append(token)
        self.concepts = lru_cache(maxsize=4096)(self._concepts)
        self._stems = lru_cache(maxsize=4096)(self._stems_uncached)
        self._correct = lru_cache(maxsize=8192)(self._correct_uncached)

    def stems(self, text: str) -> tuple[str, ...]:
        return self._stems(text)

    def _stems_uncached(self, text: str) -> tuple[str, ...]:
        return tuple(stem(self.lexicon.us_spelling(w)) for w in words(text) if w not in STOP_WORDS)

    def is_lexicon_key(self, text: str) -> bool:
        return self.stems(text) in self.lexicon.expansions

    def _concepts(self, text: str) -> tuple[Concept, ...]:
        """The concepts of a query; words the index cannot match in any way are left out."""
        concepts = []
        for typed, alternatives, corrected in self._segments(list(self.stems(text)), depth=1, fuzzy=True):
            resolved = self._resolve(alternatives)
            if resolved:
                concepts.append(Concept(" ".join(typed), resolved, corrected))
        return tuple(concepts)

    def _segments(self, stems: list[str], depth: int, fuzzy: bool):
        """Split stems into lexicon phrases and single words, each with its alternatives (as stems)."""
        i = 0
        while i < len(stems):
            phrase = self._phrase_at(stems, i)
            if phrase:
                yield phrase, self._expand(phrase, depth), False
                i += len(phrase)
                continue
            word = stems[i]
            if i + 1 < len(stems) and word not in self.ids and word + stems[i + 1] in self.ids:
                # "non displaced" -> "nondisplaced", "heart beat" -> "heartbeat"
                yield (word, stems[i + 1]), [(word, stems[i + 1]), (word + stems[i + 1],)], False
                i += 2
                continue
            if word in self.ids or not fuzzy:
                yield (word,), [(word,)], False
            else:
                corrected = self._correct(word)
                key = (corrected,) if corrected else ()
                if key in self.lexicon.expansions:
                    yield (word,), self._expand(key, depth), True
                else:
                    yield (word,), [key] if key else [], True
            i += 1

    def _phrase_at(self, stems: list[str], start: int) -> tuple[str, ...]:
        if stems[start] not in self.key_starts:
            return ()
        for length in range(min(self.longest_key, len(stems) - start), 0, -1):
            candidate = tuple(stems[start : start + length])
            if candidate in self.lexicon.expansions:
                return candidate
        return ()

    def _expand(self, key: tuple[str, ...], depth: int) -> list[tuple[str, ...]]:
        alternatives = [key]
        for meaning in self.lexicon.expansions[key]:
            meaning_stems = list(self.stems(meaning))
            if depth <= 0:
                alternatives.append(tuple(meaning_stems))
                continue
            # The meaning's own words may have other names: combine them, within a cap.
            parts = [alts for _, alts, _ in self._segments(meaning_stems, depth - 1, fuzzy=False)]
            for combination in itertools.islice(itertools.product(*parts), MAX_ALTERNATIVES):
                alternatives.append(tuple(itertools.chain.from_iterable(combination)))
        return list(dict.fromkeys(alternatives))[:MAX_ALTERNATIVES]

    def _resolve(self, alternatives: list[tuple[str, ...]]) -> tuple[Alternative, ...]:
        resolved = []
        for alternative in alternatives:
            unique = tuple(dict.fromkeys(alternative))
            if unique and all(token in self.ids for token in unique):
                ids = tuple(self.ids[token] for token in unique)
                weight = float(sum(self.weights[i] for i in ids))
                resolved.append(Alternative(unique, ids, weight))
        return tuple(resolved)

    def _correct_uncached(self, word: str) -> str:
        """The closest word the index or the lexicon knows, for a word neither knows, or ""."""
        if len(word) < MIN_FUZZY_LENGTH or any(ch.isdigit() for ch in word):
            return ""
        limit = 1 if len(word) <= 6 else 2
        best: tuple[int, int, int, str] | None = None
        for length in range(len(word) - limit, len(word) + limit + 1):
            choices = self._by_length.get(length)
            if not choices:
                continue
            for token, distance, _ in process.extract(
                word, choices, scorer=OSA.distance, score_cutoff=limit, limit=None
            ):
                # Nearest first; then a word with the same first letter (typos rarely hit the
                # first letter); then the word more codes use.
                token_id = self.ids.get(token)
                count = int(self.document_counts[token_id]) if token_id is not None else 0
                rank = (int(distance), token[0] != word[0], -count, token)
                if best is None or rank < best:
                    best = rank
        return best[3] if best else ""
