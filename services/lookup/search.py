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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from services.lookup.codes import code_key
from services.lookup.lexicon import Lexicon, default_lexicon
from services.lookup.records import KINDS, SYSTEMS
from services.lookup.search_build import TITLE, build_arrays
from services.lookup.search_format import pack, unpack
from services.lookup.search_match import EMPTY, WEIGHT_STEPS, Scope, WordMatcher
from services.lookup.search_query import QueryReader
from services.lookup.search_tokens import key_hash, token_weights

# A query has at most this many concepts; the rest of a very long query is ignored.
MAX_CONCEPTS = 32
# How much a code that is not reportable counts against it, as unrequested title words: a category
# that says exactly what was asked still leads, a billable code with one filler word beats it.
_NOT_BILLABLE_PENALTY = {"chapter": 1.0, "block": 0.8}
_DEFAULT_NOT_BILLABLE_PENALTY = 0.5

# A match's sort key packs, most significant first: tier, coverage gap, concepts found only in
# terms, unrequested title words, and the code's number (unique, so the order is total).
_DOC_BITS = 21
_COVERAGE_STEPS = 1000
_EXTRA_STEPS = WEIGHT_STEPS  # per title word
_MAX_EXTRA = 9999
_TIERS = 5  # exact title, other exact name, all concepts, some concepts, code-prefix after words
_TIER_EXACT_TITLE, _TIER_EXACT_NAME, _TIER_ALL, _TIER_PARTIAL, _TIER_AFTER_WORDS = range(_TIERS)
_TIER_SPAN = (_COVERAGE_STEPS + 1) * (MAX_CONCEPTS + 1) * (_MAX_EXTRA + 1)


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
    parent: str = ""  # the parent's code; kept so that a result can be shown without the database


@dataclass(frozen=True)
class SearchHit:
    system: str
    code: str
    score: float  # higher is better; comparable within one page
    title: str = ""
    kind: str = ""
    billable: bool = False
    parent: str = ""


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
        self._parents = arrays["parent_text"].tobytes()
        self._parent_offsets = arrays["parent_text_offsets"]
        self._code_offsets = arrays["code_text_offsets"]
        self._title_offsets = arrays["title_text_offsets"]
        self._docs = arrays["any_docs"]
        self._in_title = arrays["any_title"] == TITLE
        self._offsets = arrays["any_offsets"]
        self.system_start = arrays["system_start"]
        counts = np.diff(self._offsets)
        weights = token_weights(self.vocabulary, counts, self.size)
        self.reader = QueryReader(self.vocabulary, counts, weights, self.lexicon)
        penalty = np.array(
            [_NOT_BILLABLE_PENALTY.get(kind, _DEFAULT_NOT_BILLABLE_PENALTY) for kind in KINDS], np.float32
        )
        not_billable = ~arrays["doc_billable"]
        # Everything of a code's title counts against it until the query covers it.
        base_extra = arrays["doc_weight"] + not_billable * penalty[arrays["doc_kind"]]
        self._base_steps = np.rint(base_extra * WEIGHT_STEPS).astype(np.int32)
        self.matcher = WordMatcher(self._docs, self._in_title, self._offsets, self.size)

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
            parent=self._parents[self._parent_offsets[doc] : self._parent_offsets[doc + 1]].decode(),
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
        scope = Scope(
            self.size,
            self.system_start,
            self.arrays["doc_system"],
            self.arrays["doc_billable"],
            systems,
            billable_only,
        )
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
            hits.append(
                SearchHit(
                    entry.system, entry.code, score, entry.title, entry.kind, entry.billable, entry.parent
                )
            )
        return SearchPage(hits, total)

    def _code_matches(self, text: str, scope: Scope) -> tuple[np.ndarray, np.ndarray]:
        """Codes whose key starts with the query: the code itself first, then in catalog order."""
        key = code_key(text)
        if not any(ch.isdigit() for ch in key) or not key.replace("-", "").isalnum():
            return EMPTY, EMPTY
        encoded = key.encode()
        key_sorted = self.arrays["key_sorted"]
        if len(encoded) > key_sorted.dtype.itemsize:
            return EMPTY, EMPTY
        left = int(np.searchsorted(key_sorted, encoded, "left"))
        right = int(np.searchsorted(key_sorted, encoded + b"\xff", "left"))
        docs = self.arrays["key_doc"][left:right].astype(np.int64)
        exact = key_sorted[left:right] == encoded
        keep = scope.allows(docs)
        docs, exact = docs[keep], exact[keep]
        primary = np.where(exact, 0, _EXTRA_STEPS).astype(np.int64)
        return docs, (primary << _DOC_BITS) | docs

    # -- word matching ---------------------------------------------------------------------------

    def _exact_docs(self, table: str, hashes: list[int], scope: Scope) -> np.ndarray:
        if not hashes:
            return EMPTY
        keys = self.arrays[f"{table}_hash"]
        targets = np.array(hashes, np.uint64)
        left = np.searchsorted(keys, targets, side="left")
        right = np.searchsorted(keys, targets, side="right")
        chunks = [self.arrays[f"{table}_hash_doc"][a:b] for a, b in zip(left, right, strict=True) if b > a]
        if not chunks:
            return EMPTY
        docs = np.unique(np.concatenate(chunks)).astype(np.int64)
        return docs[scope.allows(docs)]

    def _text_matches(self, text: str, scope: Scope) -> tuple[np.ndarray, np.ndarray]:
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
            return EMPTY, EMPTY
        found = self.matcher.match(concepts, scope)
        docs, in_title, covered, coverage = found.docs, found.in_title, found.covered, found.coverage
        n = len(concepts)
        tier_step = (_COVERAGE_STEPS + 1) * (MAX_CONCEPTS + 1)
        if found.count is None:  # every code has the query's one word
            rank = _TIER_ALL * tier_step + (n - in_title)
        else:
            tier = np.where(found.count >= n, _TIER_ALL, _TIER_PARTIAL)
            rank = tier * (_COVERAGE_STEPS + 1)
            if found.total_idf > 0:
                gap = np.rint((1.0 - coverage / found.total_idf) * _COVERAGE_STEPS)
                rank += np.clip(gap, 0, _COVERAGE_STEPS).astype(rank.dtype)
            rank = rank * (MAX_CONCEPTS + 1) + np.maximum(found.count - in_title, 0)
        extra = self._base_steps[docs] - covered
        np.clip(extra, 0, _MAX_EXTRA, out=extra)
        for exact, exact_tier in ((exact_name, _TIER_EXACT_NAME), (exact_title, _TIER_EXACT_TITLE)):
            for doc in exact:
                where = np.flatnonzero(docs == doc)
                if len(where):
                    # On an exact name's tier only the unrequested title words still count.
                    rank[where] = exact_tier * tier_step + (rank[where] % tier_step)
                    continue
                # An exact name the words missed ranks on its tier, with full marks.
                docs = np.append(docs, doc)
                rank, extra = np.append(rank, exact_tier * tier_step), np.append(extra, 0)
        primary = rank.astype(np.int64) * (_MAX_EXTRA + 1) + extra
        return docs, (primary << _DOC_BITS) | docs


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
