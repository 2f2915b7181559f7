"""Which codes have which concepts of a query: postings, bitsets and the candidate sets.

A posting is the sorted int32 array of the codes a word is found in, with a flag per code for "in
the title". Frequent words also get bitsets (one bit per code), so that testing thousands of
candidates against them is one gather. Candidates come from the rarest concepts, so most queries
touch a few hundred codes, however common their other words are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.lookup.records import SYSTEMS
from services.lookup.search_query import Concept

# Words found in at least this many codes get bitsets at load.
BITSET_MIN_CODES = 1024
# When fewer codes than this have every concept of a query, codes with all but one follow.
PARTIAL_BELOW = 50
# Below this many candidates, codes with all concepts and with all but one are found in one pass.
CHEAP_RELAXED = 5000

EMPTY = np.zeros(0, np.int64)


class Scope:
    """Which codes a search may return: a range of systems (codes are numbered system by system),
    then the filters."""

    def __init__(
        self,
        size: int,
        system_start: np.ndarray,
        doc_system: np.ndarray,
        doc_billable: np.ndarray,
        systems: frozenset[str] | None,
        billable_only: bool,
    ) -> None:
        self.doc_system, self.doc_billable = doc_system, doc_billable
        self.billable_only = billable_only
        self.system_mask = None
        self.lo, self.hi = 0, size
        self.narrowed = False
        self.empty = False
        self.filtered = billable_only
        if systems is not None:
            ranks = sorted(SYSTEMS.index(s) for s in systems if s in SYSTEMS)
            if not ranks:
                self.empty = True
                return
            self.lo, self.hi = int(system_start[ranks[0]]), int(system_start[ranks[-1] + 1])
            self.narrowed = True
            if ranks != list(range(ranks[0], ranks[-1] + 1)):
                self.filtered = True
                self.system_mask = np.zeros(len(SYSTEMS), np.bool_)
                self.system_mask[ranks] = True
            self.empty = self.lo >= self.hi

    def allows(self, docs: np.ndarray) -> np.ndarray:
        keep = (docs >= self.lo) & (docs < self.hi)
        if self.system_mask is not None:
            keep &= self.system_mask[self.doc_system[docs]]
        if self.billable_only:
            keep &= self.doc_billable[docs]
        return keep


# Title weights are compared in hundredths of a word.
WEIGHT_STEPS = 100


@dataclass
class Matches:
    """The matching codes (sorted) and, per code, what of the query it has."""

    docs: np.ndarray
    count: np.ndarray | None  # concepts it has (None: all of them, every code)
    coverage: np.ndarray | None  # the idf of those concepts, summed (None: all of them)
    in_title: np.ndarray  # concepts it has in its title
    covered: np.ndarray  # the title weight the query's words cover, in WEIGHT_STEPS
    total_idf: float  # the idf of every concept of the query

    def subset(self, keep: np.ndarray) -> Matches:
        return Matches(
            self.docs[keep],
            None if self.count is None else self.count[keep],
            None if self.coverage is None else self.coverage[keep],
            self.in_title[keep],
            self.covered[keep],
            self.total_idf,
        )


class WordMatcher:
    def __init__(self, docs: np.ndarray, in_title: np.ndarray, offsets: np.ndarray, size: int) -> None:
        self.docs, self.in_title, self.offsets, self.size = docs, in_title, offsets, size
        counts = np.diff(offsets)
        frequent = np.flatnonzero(counts >= BITSET_MIN_CODES)
        self.bitset_row = {int(token): row for row, token in enumerate(frequent)}
        width = (size + 7) // 8
        self.any_bits = np.zeros((len(frequent), width), np.uint8)
        self.title_bits = np.zeros((len(frequent), width), np.uint8)
        dense = np.zeros(size, np.bool_)
        for row, token in enumerate(frequent):
            start, end = offsets[token], offsets[token + 1]
            dense[:] = False
            dense[docs[start:end]] = True
            self.any_bits[row] = np.packbits(dense, bitorder="little")
            dense[:] = False
            dense[docs[start:end][in_title[start:end]]] = True
            self.title_bits[row] = np.packbits(dense, bitorder="little")

    # -- codes of words and concepts -------------------------------------------------------------

    def _slice(self, token: int, scope: Scope) -> tuple[int, int]:
        start, end = int(self.offsets[token]), int(self.offsets[token + 1])
        if scope.narrowed:
            lo, hi = np.searchsorted(self.docs[start:end], (scope.lo, scope.hi))
            start, end = start + int(lo), start + int(hi)
        return start, end

    def _count(self, token: int) -> int:
        return int(self.offsets[token + 1] - self.offsets[token])

    def alternative_docs(self, tokens: Sequence[int], scope: Scope) -> np.ndarray:
        """The codes with every word: the rarest word's codes, tested for the others."""
        ordered = sorted(tokens, key=self._count)
        start, end = self._slice(ordered[0], scope)
        docs = self.docs[start:end]
        if len(ordered) > 1 and len(docs):
            any_has, _ = self.presence(docs, ordered[1:], scope)
            docs = docs[any_has.all(axis=0)]
        return docs

    def concept_docs(self, concept: Concept, scope: Scope) -> np.ndarray:
        return self.union([self.alternative_docs(a.tokens, scope) for a in concept.alternatives])

    def union(self, parts: list[np.ndarray]) -> np.ndarray:
        """Sorted unique codes of all parts: by sorting when small, by marking when large."""
        if len(parts) == 1:
            return parts[0]
        if sum(len(p) for p in parts) < 4096:
            return np.unique(np.concatenate(parts))
        marks = np.zeros(self.size, np.bool_)
        for part in parts:
            marks[part] = True
        return np.flatnonzero(marks)

    def estimate(self, concept: Concept) -> int:
        """About how many codes have the concept: enough to order concepts rarest first."""
        return sum(min(self._count(t) for t in a.tokens) for a in concept.alternatives)

    # -- which candidates have which words -------------------------------------------------------

    def presence(
        self,
        candidates: np.ndarray,
        tokens: Sequence[int],
        scope: Scope,
        seed: tuple[int, np.ndarray] | None = None,
    ):
        """Two (words x candidates) boolean matrices: has the word anywhere; has it in its title.

        `seed` is (word, its title flags) when the candidates are exactly that word's codes.
        """
        any_has = np.zeros((len(tokens), len(candidates)), np.bool_)
        title_has = np.zeros((len(tokens), len(candidates)), np.bool_)
        if not len(candidates) or not len(tokens):
            return any_has, title_has
        byte = bit = None
        for i, token in enumerate(tokens):
            if seed is not None and token == seed[0]:
                any_has[i] = True
                title_has[i] = seed[1]
                continue
            row = self.bitset_row.get(token)
            if row is not None:
                if byte is None:
                    byte = candidates >> 3
                    bit = np.left_shift(1, candidates & 7).astype(np.uint8)
                any_has[i] = (self.any_bits[row][byte] & bit) != 0
                title_has[i] = (self.title_bits[row][byte] & bit) != 0
                continue
            start, end = self._slice(token, scope)
            docs = self.docs[start:end]
            where = np.searchsorted(candidates, docs)
            inside = where < len(candidates)
            where, docs, titled = where[inside], docs[inside], self.in_title[start:end][inside]
            found = candidates[where] == docs
            any_has[i, where[found]] = True
            title_has[i, where[found & titled]] = True
        return any_has, title_has

    def match(self, concepts: Sequence[Concept], scope: Scope) -> Matches:
        """The codes with every concept, or, when those are few, with all but one.

        A code with at least `required` of n concepts has one of the n - required + 1 rarest, so
        only those concepts' codes are candidates.
        """
        n = len(concepts)
        if n == 0:
            return Matches(EMPTY, EMPTY, np.zeros(0), EMPTY, EMPTY, 0.0)
        estimates = [self.estimate(c) for c in concepts]
        order = sorted(range(n), key=estimates.__getitem__)
        idf = [math.log(1.0 + self.size / max(e, 1)) for e in estimates]
        # Few codes having every concept, those with all but one (of three or more) follow them,
        # and those with fewer still when nothing has them all.
        required = n - 1 if n >= 3 else n
        if required < n and estimates[order[0]] + estimates[order[1]] <= CHEAP_RELAXED:
            # Cheap enough to look for both at once; keep the partial ones only if needed.
            found = self._with_at_least(concepts, order, idf, required, scope)
            complete = found.count == n
            if complete.sum() >= PARTIAL_BELOW:
                return found.subset(complete)
        else:
            found = self._with_at_least(concepts, order, idf, n, scope)
            if n == 1 or len(found.docs) >= PARTIAL_BELOW:
                return found
            if required < n:
                found = self._with_at_least(concepts, order, idf, required, scope)
        while not len(found.docs) and required > 1:
            required -= 1
            found = self._with_at_least(concepts, order, idf, required, scope)
        return found

    def _with_at_least(self, concepts, order, idf, required: int, scope: Scope) -> Matches:
        n = len(concepts)
        seeds = [concepts[i] for i in order[: n - required + 1]]
        seed = None
        if len(seeds) == 1 and len(seeds[0].alternatives) == 1 and len(seeds[0].alternatives[0].tokens) == 1:
            # The candidates are one word's codes: its flags say which have it in the title.
            token = seeds[0].alternatives[0].tokens[0]
            start, end = self._slice(token, scope)
            docs, flags = self.docs[start:end], self.in_title[start:end]
            if scope.filtered and len(docs):
                allowed = scope.allows(docs)
                docs, flags = docs[allowed], flags[allowed]
            seed = (token, flags)
        else:
            docs = self.union([self.concept_docs(c, scope) for c in seeds])
            if scope.filtered and len(docs):
                docs = docs[scope.allows(docs)]
        total_idf = sum(idf)
        if n == 1 and seed is not None and len(concepts[0].alternatives) == 1:
            # One word: every candidate has it; its flags say where.
            in_title = seed[1].astype(np.int32)
            steps = np.int32(round(concepts[0].alternatives[0].weight * WEIGHT_STEPS))
            return Matches(docs, None, None, in_title, in_title * steps, total_idf)
        tokens = list(dict.fromkeys(t for c in concepts for a in c.alternatives for t in a.tokens))
        column = {t: i for i, t in enumerate(tokens)}
        any_has, title_has = self.presence(docs, tokens, scope, seed)
        count = np.zeros(len(docs), np.int32)
        coverage = np.zeros(len(docs), np.float32)
        in_title = np.zeros(len(docs), np.int32)
        covered = np.zeros(len(docs), np.int32)
        for i, concept in enumerate(concepts):
            has = None
            titled = None
            # The heaviest alternative in a title is the one that covers it.
            for alternative in sorted(concept.alternatives, key=lambda a: -a.weight):
                rows = [column[t] for t in alternative.tokens]
                if len(rows) == 1:
                    found, in_it = any_has[rows[0]], title_has[rows[0]].copy()
                else:
                    found, in_it = any_has[rows].all(axis=0), title_has[rows].all(axis=0)
                if titled is None:
                    has, titled = found, in_it
                else:
                    in_it &= ~titled
                    has, titled = has | found, titled | in_it
                covered += in_it * np.int32(round(alternative.weight * WEIGHT_STEPS))
            count += has
            coverage += has * np.float32(idf[i])
            in_title += titled
        found = Matches(docs, count, coverage, in_title, covered, total_idf)
        keep = count >= required
        return found if keep.all() else found.subset(keep)
