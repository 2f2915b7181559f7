"""Code search: an in-memory index over every code's code, title and terms, and its query engine.

Codes are numbered in catalog order (system order, then publication order), so a code's number is
also its tie-breaker and each system is one contiguous range. A posting is the sorted int32 array
of the codes a word is found in, with a flag for "in the title". Frequent words also get a bitset,
so that testing thousands of candidates against them costs a few vectorized operations.

Ranking, best first: the code whose own title the query is; a code one of whose other names
(title without its parenthesized modifiers, inclusion terms) the query is; codes with every
concept of the query; codes with most of them. Within each: rarer concepts matched, concepts
found in the title rather than only in terms, fewer title words the query did not ask for
(billable codes ahead of the category that holds them), then catalog order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from services.lookup.codes import code_key
from services.lookup.lexicon import Lexicon, default_lexicon
from services.lookup.records import KINDS, SYSTEMS
from services.lookup.search_build import build_arrays
from services.lookup.search_format import pack, unpack
from services.lookup.search_query import Alternative, Concept, QueryReader
from services.lookup.search_tokens import key_hash

# A query has at most this many concepts; the rest of a very long query is ignored.
MAX_CONCEPTS = 32
# When fewer codes than this have every concept of a query, codes with most of them follow.
PARTIAL_BELOW = 50
# Words found in at least this many codes get bitsets at load.
BITSET_MIN_CODES = 1024
# How much a code that is not reportable counts against it, as unrequested title words: a category
# that says exactly what was asked still leads, a billable code with one filler word beats it.
_NOT_BILLABLE_PENALTY = {"chapter": 1.0, "block": 0.8}
_DEFAULT_NOT_BILLABLE_PENALTY = 0.5

# A match's sort key packs, most significant first: tier, coverage gap, concepts found only in
# terms, unrequested title words, and the code's number (unique, so the order is total).
_DOC_BITS = 21
_COVERAGE_STEPS = 1000
_EXTRA_STEPS = 100  # per title word
_MAX_EXTRA = 9999
_TIERS = 5  # exact title, other exact name, all concepts, some concepts, code-prefix after words
_TIER_EXACT_TITLE, _TIER_EXACT_NAME, _TIER_ALL, _TIER_PARTIAL, _TIER_AFTER_WORDS = range(_TIERS)
_TIER_SPAN = (_COVERAGE_STEPS + 1) * (MAX_CONCEPTS + 1) * (_MAX_EXTRA + 1)

_EMPTY = np.zeros(0, np.int64)


class SearchIndexError(ValueError):
    """Bytes that are not a search index of this version, or entries that cannot be indexed."""


@dataclass(frozen=True)
class SearchEntry:
    system: str
    code: str
    title: str
    kind: str
    billable: bool
    terms: Sequence[str] = ()  # inclusion terms and other words the code is found by


@dataclass(frozen=True)
class SearchHit:
    system: str
    code: str
    score: float  # higher is better; comparable within one page
    title: str = ""
    kind: str = ""
    billable: bool = False


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit] = field(default_factory=list)
    total: int = 0


class SearchIndex:
    """The search index of a catalog; immutable once built, safe to share between threads."""

    def __init__(self, arrays: dict[str, np.ndarray], lexicon: Lexicon | None = None) -> None:
        self.arrays = arrays
        self.lexicon = lexicon or default_lexicon()
        self.size = len(arrays["doc_system"])
        blob = arrays["vocabulary"].tobytes().decode()
        self.vocabulary = blob.split("\n") if blob else []
        self._codes = arrays["code_text"].tobytes()
        self._titles = arrays["title_text"].tobytes()
        self._code_offsets = arrays["code_text_offsets"]
        self._title_offsets = arrays["title_text_offsets"]
        self._docs = arrays["any_docs"]
        self._in_title = arrays["any_title"]
        self._offsets = arrays["any_offsets"]
        self.system_start = arrays["system_start"]
        self.reader = QueryReader(self.vocabulary, np.diff(self._offsets), self.lexicon)
        penalty = np.array(
            [_NOT_BILLABLE_PENALTY.get(kind, _DEFAULT_NOT_BILLABLE_PENALTY) for kind in KINDS], np.float32
        )
        not_billable = ~arrays["doc_billable"]
        # Everything of a code's title counts against it until the query covers it.
        self._base_extra = arrays["doc_weight"] + not_billable * penalty[arrays["doc_kind"]]
        self._bitsets = self._frequent_word_bitsets()

    def _frequent_word_bitsets(self) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        bitsets = {}
        counts = np.diff(self._offsets)
        dense = np.zeros(self.size, np.bool_)
        for token in np.flatnonzero(counts >= BITSET_MIN_CODES):
            start, end = self._offsets[token], self._offsets[token + 1]
            docs = self._docs[start:end]
            dense[:] = False
            dense[docs] = True
            any_bits = np.packbits(dense, bitorder="little")
            dense[:] = False
            dense[docs[self._in_title[start:end]]] = True
            bitsets[int(token)] = (any_bits, np.packbits(dense, bitorder="little"))
        return bitsets

    # -- building and storing -------------------------------------------------------------------

    @classmethod
    def build(cls, entries: Iterable[SearchEntry], lexicon: Lexicon | None = None) -> SearchIndex:
        """Index entries given in publication order; systems are put in catalog order."""
        lexicon = lexicon or default_lexicon()
        system_rank = {name: i for i, name in enumerate(SYSTEMS)}
        ordered = list(entries)
        for entry in ordered:
            if entry.system not in system_rank:
                raise SearchIndexError(f"{entry.code}: unknown code system {entry.system!r}")
            if entry.kind not in KINDS:
                raise SearchIndexError(f"{entry.system} {entry.code}: unknown kind {entry.kind!r}")
        ordered.sort(key=lambda entry: system_rank[entry.system])  # stable: publication order stays
        if len(ordered) >= 1 << _DOC_BITS:
            raise SearchIndexError(f"{len(ordered):,} codes: the index holds fewer than {1 << _DOC_BITS:,}")
        return cls(build_arrays(ordered, lexicon), lexicon)

    def to_bytes(self) -> bytes:
        return pack(self.arrays)

    @classmethod
    def from_bytes(cls, payload: bytes, lexicon: Lexicon | None = None) -> SearchIndex:
        try:
            arrays = unpack(payload)
        except (ValueError, KeyError, TypeError) as error:
            raise SearchIndexError(f"not a search index: {error}") from error
        return cls(arrays, lexicon)

    # -- reading -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.size

    def entry(self, doc: int) -> SearchEntry:
        """The indexed code with number `doc` (its terms are not kept)."""
        return SearchEntry(
            SYSTEMS[self.arrays["doc_system"][doc]],
            self._codes[self._code_offsets[doc] : self._code_offsets[doc + 1]].decode(),
            self._titles[self._title_offsets[doc] : self._title_offsets[doc + 1]].decode(),
            KINDS[self.arrays["doc_kind"][doc]],
            bool(self.arrays["doc_billable"][doc]),
        )

    # -- searching -----------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        systems: frozenset[str] | None = None,
        billable_only: bool = False,
        offset: int = 0,
        limit: int = 20,
    ) -> SearchPage:
        """The page `offset:offset+limit` of the codes matching `query`, best first."""
        scope = _Scope(self, systems, billable_only)
        text = query.strip()
        if not text or scope.empty:
            return SearchPage([], 0)
        code_docs, code_keys = self._code_matches(text, scope)
        if len(code_docs) and not self.reader.is_lexicon_key(text):
            docs, keys = code_docs, code_keys
        else:
            docs, keys = self._text_matches(text, scope)
            if len(code_docs):
                # Both an abbreviation and a code prefix ("dm2"): the words' matches first.
                code_keys = code_keys + (np.int64(_TIER_AFTER_WORDS * _TIER_SPAN) << _DOC_BITS)
                docs, keys = _merge(docs, keys, code_docs, code_keys)
        return self._page(docs, keys, max(offset, 0), max(limit, 0))

    def _page(self, docs: np.ndarray, keys: np.ndarray, offset: int, limit: int) -> SearchPage:
        total = len(docs)
        end = min(offset + limit, total)
        if offset >= end:
            return SearchPage([], total)
        if end < total:
            top = np.argpartition(keys, end - 1)[:end]
            top = top[np.argsort(keys[top])]
        else:
            top = np.argsort(keys)
        hits = []
        for position in top[offset:end]:
            entry = self.entry(int(docs[position]))
            score = _score(int(keys[position]) >> _DOC_BITS)
            hits.append(SearchHit(entry.system, entry.code, score, entry.title, entry.kind, entry.billable))
        return SearchPage(hits, total)

    def _code_matches(self, text: str, scope: _Scope) -> tuple[np.ndarray, np.ndarray]:
        """Codes whose key starts with the query: the code itself first, then in catalog order."""
        key = code_key(text)
        if not any(ch.isdigit() for ch in key) or not key.replace("-", "").isalnum():
            return _EMPTY, _EMPTY
        encoded = key.encode()
        key_sorted = self.arrays["key_sorted"]
        if len(encoded) > key_sorted.dtype.itemsize:
            return _EMPTY, _EMPTY
        left = int(np.searchsorted(key_sorted, encoded, "left"))
        right = int(np.searchsorted(key_sorted, encoded + b"\xff", "left"))
        docs = self.arrays["key_doc"][left:right].astype(np.int64)
        exact = key_sorted[left:right] == encoded
        keep = scope.allows(docs)
        docs, exact = docs[keep], exact[keep]
        primary = np.where(exact, 0, _EXTRA_STEPS).astype(np.int64)
        return docs, (primary << _DOC_BITS) | docs

    # -- word matching ---------------------------------------------------------------------------

    def _posting(self, token: int, scope: _Scope, title_only: bool = False) -> np.ndarray:
        start, end = self._offsets[token], self._offsets[token + 1]
        docs = self._docs[start:end]
        if title_only:
            docs = docs[self._in_title[start:end]]
        if scope.narrowed:
            lo, hi = np.searchsorted(docs, (scope.lo, scope.hi))
            docs = docs[lo:hi]
        return docs

    def _has(self, candidates: _Candidates, token: int, scope: _Scope, title_only: bool) -> np.ndarray:
        """For each candidate: whether it has the word (in its title when `title_only`)."""
        bitset = self._bitsets.get(token)
        if bitset is not None:
            return (bitset[1 if title_only else 0][candidates.byte] & candidates.bit) != 0
        docs = self._posting(token, scope, title_only)
        has = np.zeros(len(candidates.docs), np.bool_)
        if len(docs) and len(candidates.docs):
            where = np.searchsorted(candidates.docs, docs)
            inside = where < len(candidates.docs)
            where, docs = where[inside], docs[inside]
            has[where[candidates.docs[where] == docs]] = True
        return has

    def _has_alternative(
        self, candidates: _Candidates, alternative: Alternative, scope: _Scope, title_only: bool
    ) -> np.ndarray:
        has = None
        for token in alternative.tokens:
            found = self._has(candidates, token, scope, title_only)
            has = found if has is None else has & found
        return has

    def _alternative_docs(self, alternative: Alternative, scope: _Scope) -> np.ndarray:
        """The codes with every word of the alternative: the rarest word's codes, tested for the rest."""
        tokens = sorted(alternative.tokens, key=lambda t: self._offsets[t + 1] - self._offsets[t])
        docs = self._posting(tokens[0], scope)
        for token in tokens[1:]:
            if not len(docs):
                break
            candidates = _Candidates(docs)
            docs = docs[self._has(candidates, token, scope, False)]
        return docs

    def _concept_docs(self, concept: Concept, scope: _Scope) -> np.ndarray:
        return self._union([self._alternative_docs(a, scope) for a in concept.alternatives])

    def _union(self, parts: list[np.ndarray]) -> np.ndarray:
        """Sorted unique codes of all parts: by sorting when small, by marking when large."""
        if len(parts) == 1:
            return parts[0]
        total = sum(len(p) for p in parts)
        if total < 4096:
            return np.unique(np.concatenate(parts))
        marks = np.zeros(self.size, np.bool_)
        for part in parts:
            marks[part] = True
        return np.flatnonzero(marks)

    def _estimate(self, concept: Concept) -> int:
        """About how many codes have the concept: enough to order concepts rarest first."""
        return sum(
            min(int(self._offsets[t + 1] - self._offsets[t]) for t in a.tokens) for a in concept.alternatives
        )

    def _exact_docs(self, table: str, hashes: list[int], scope: _Scope) -> np.ndarray:
        if not hashes:
            return _EMPTY
        keys = self.arrays[f"{table}_hash"]
        targets = np.array(hashes, np.uint64)
        left = np.searchsorted(keys, targets, side="left")
        right = np.searchsorted(keys, targets, side="right")
        chunks = [self.arrays[f"{table}_hash_doc"][a:b] for a, b in zip(left, right, strict=True) if b > a]
        if not chunks:
            return _EMPTY
        docs = np.unique(np.concatenate(chunks)).astype(np.int64)
        return docs[scope.allows(docs)]

    def _text_matches(self, text: str, scope: _Scope) -> tuple[np.ndarray, np.ndarray]:
        concepts = self.reader.concepts(text)[:MAX_CONCEPTS]
        typed = self.reader.stems(text)
        typed_hash = [key_hash(typed)] if typed else []
        # A query of one concept may be another name of a code ("htn" -> "hypertension").
        other_names = [key_hash(a.stems) for a in concepts[0].alternatives] if len(concepts) == 1 else []
        exact_title = self._exact_docs("title", typed_hash, scope)
        exact_name = np.union1d(
            self._exact_docs("alias", typed_hash + other_names, scope),
            self._exact_docs("title", other_names, scope),
        )
        if not concepts and not len(exact_title) and not len(exact_name):
            return _EMPTY, _EMPTY
        candidates, count, coverage, total_idf = self._candidates(concepts, scope)
        in_title, covered = self._title_cover(candidates, concepts, scope)
        docs = candidates.docs
        n = len(concepts)
        tier = np.where(count >= n, _TIER_ALL, _TIER_PARTIAL).astype(np.int64)
        exact = np.union1d(exact_title, exact_name)
        if len(exact):
            # Exact names rank on their tier alone; those the words missed join with full marks.
            missing = exact[~np.isin(exact, docs)]
            if len(missing):
                docs = np.concatenate([docs, missing])
                ones = np.ones(len(missing))
                tier = np.concatenate([tier, np.full(len(missing), _TIER_ALL, np.int64)])
                coverage = np.concatenate([coverage, ones * total_idf])
                count = np.concatenate([count, ones * n])
                in_title = np.concatenate([in_title, ones * n])
                covered = np.concatenate([covered, self.arrays["doc_weight"][missing]])
            tier[np.isin(docs, exact_name)] = _TIER_EXACT_NAME
            tier[np.isin(docs, exact_title)] = _TIER_EXACT_TITLE
        gap = np.zeros(len(docs), np.int64)
        if total_idf > 0:
            gap = np.clip(np.rint((1.0 - coverage / total_idf) * _COVERAGE_STEPS), 0, _COVERAGE_STEPS)
        terms_only = np.maximum(count - in_title, 0).astype(np.int64)
        extra = np.maximum(self._base_extra[docs] - covered, 0.0)
        extra_steps = np.minimum(np.rint(extra * _EXTRA_STEPS), _MAX_EXTRA).astype(np.int64)
        primary = (
            (tier * (_COVERAGE_STEPS + 1) + gap.astype(np.int64)) * (MAX_CONCEPTS + 1) + terms_only
        ) * (_MAX_EXTRA + 1) + extra_steps
        return docs, (primary << _DOC_BITS) | docs

    def _candidates(self, concepts: Sequence[Concept], scope: _Scope):
        """The codes with every concept, or, when those are few, with most of them.

        A code with at least `required` of n concepts has one of the n - required + 1 rarest, so
        only those concepts' codes are candidates; after each concept, candidates that can no
        longer reach `required` are dropped. Returns the candidates, how many concepts each has,
        the idf-weighted sum of those, and the idf of the whole query.
        """
        n = len(concepts)
        if n == 0:
            return _Candidates(_EMPTY), _EMPTY, np.zeros(0), 0.0
        estimates = [self._estimate(c) for c in concepts]
        order = sorted(range(n), key=estimates.__getitem__)
        idf = [math.log(1.0 + self.size / max(e, 1)) for e in estimates]
        total_idf = sum(idf)
        found = self._with_at_least(concepts, order, idf, n, scope)
        if n == 1 or len(found[0].docs) >= PARTIAL_BELOW:
            return (*found, total_idf)
        # Few codes have every concept: add those with most of them (all but one of three or
        # more), or with fewer still when nothing has them all.
        required = n - n // 3
        if required < n:
            found = self._with_at_least(concepts, order, idf, required, scope)
        while not len(found[0].docs) and required > 1:
            required -= 1
            found = self._with_at_least(concepts, order, idf, required, scope)
        return (*found, total_idf)

    def _with_at_least(self, concepts, order, idf, required, scope):
        n = len(concepts)
        seeds = [self._concept_docs(concepts[i], scope) for i in order[: n - required + 1]]
        docs = self._union(seeds)
        if scope.filtered:
            docs = docs[scope.allows(docs)]
        candidates = _Candidates(docs)
        count = np.full(len(docs), 1 if n == 1 else 0, np.int64)
        coverage = np.full(len(docs), idf[0] if n == 1 else 0.0)
        if n == 1:
            return candidates, count, coverage
        for step, i in enumerate(order):
            has = None
            for alternative in concepts[i].alternatives:
                found = self._has_alternative(candidates, alternative, scope, False)
                has = found if has is None else has | found
            count += has
            coverage += has * idf[i]
            still_possible = count + (n - step - 1) >= required
            if not still_possible.all():
                candidates = candidates.subset(still_possible)
                count, coverage = count[still_possible], coverage[still_possible]
        return candidates, count, coverage

    def _title_cover(self, candidates: _Candidates, concepts: Sequence[Concept], scope: _Scope):
        """Per candidate: concepts found in its title, and the title weight their words cover."""
        in_title = np.zeros(len(candidates.docs), np.int64)
        covered = np.zeros(len(candidates.docs), np.float32)
        if not len(candidates.docs):
            return in_title, covered
        for concept in concepts:
            done = None
            # The heaviest alternative in a title is the one that covers it.
            for alternative in sorted(concept.alternatives, key=lambda a: -a.weight):
                has = self._has_alternative(candidates, alternative, scope, True)
                if done is not None:
                    has &= ~done
                    done |= has
                else:
                    done = has.copy()
                in_title += has
                covered += has * np.float32(alternative.weight)
        return in_title, covered


class _Candidates:
    """Sorted candidate codes, with the byte and bit of each in a bitset, computed when first used."""

    def __init__(self, docs: np.ndarray) -> None:
        self.docs = docs
        self._byte: np.ndarray | None = None
        self._bit: np.ndarray | None = None

    @property
    def byte(self) -> np.ndarray:
        if self._byte is None:
            self._byte = self.docs >> 3
        return self._byte

    @property
    def bit(self) -> np.ndarray:
        if self._bit is None:
            self._bit = np.left_shift(1, self.docs & 7).astype(np.uint8)
        return self._bit

    def subset(self, keep: np.ndarray) -> _Candidates:
        subset = _Candidates(self.docs[keep])
        if self._byte is not None:
            subset._byte, subset._bit = self._byte[keep], self.bit[keep]
        return subset


class _Scope:
    """Which codes a search may return: a range of systems, then the filters."""

    def __init__(self, index: SearchIndex, systems: frozenset[str] | None, billable_only: bool) -> None:
        self.index = index
        self.billable_only = billable_only
        self.system_mask = None
        self.lo, self.hi = 0, index.size
        self.narrowed = False
        self.empty = False
        self.filtered = billable_only
        if systems is not None:
            ranks = sorted(SYSTEMS.index(s) for s in systems if s in SYSTEMS)
            if not ranks:
                self.empty = True
                return
            self.lo = int(index.system_start[ranks[0]])
            self.hi = int(index.system_start[ranks[-1] + 1])
            self.narrowed = True
            if ranks != list(range(ranks[0], ranks[-1] + 1)):
                self.filtered = True
                self.system_mask = np.zeros(len(SYSTEMS), np.bool_)
                self.system_mask[ranks] = True
            self.empty = self.lo >= self.hi

    def allows(self, docs: np.ndarray) -> np.ndarray:
        keep = (docs >= self.lo) & (docs < self.hi)
        if self.system_mask is not None:
            keep &= self.system_mask[self.index.arrays["doc_system"][docs]]
        if self.billable_only:
            keep &= self.index.arrays["doc_billable"][docs]
        return keep


def _score(primary: int) -> float:
    """A relevance in (0, 1] from a sort key: what a client may show; the order is the key's."""
    tier, rest = divmod(primary, _TIER_SPAN)
    gap, rest = divmod(rest, (MAX_CONCEPTS + 1) * (_MAX_EXTRA + 1))
    terms_only, extra = divmod(rest, _MAX_EXTRA + 1)
    penalty = tier + gap / _COVERAGE_STEPS + 0.25 * terms_only + 0.05 * extra / _EXTRA_STEPS
    return round(1.0 / (1.0 + penalty), 6)


def _merge(
    docs: np.ndarray, keys: np.ndarray, more_docs: np.ndarray, more_keys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Both result sets, each code once with its better key."""
    all_docs = np.concatenate([docs, more_docs])
    all_keys = np.concatenate([keys, more_keys])
    order = np.argsort(all_keys, kind="stable")
    _, first = np.unique(all_docs[order], return_index=True)
    keep = order[first]
    return all_docs[keep], all_keys[keep]
