"""Building the search index's arrays from the catalog's entries (once per catalog build)."""

from __future__ import annotations

import gc
import hashlib
import re
from collections.abc import Callable, Sequence
from functools import cache
from itertools import chain
from pathlib import Path

import numpy as np

from services.lookup.codes import code_key
from services.lookup.lexicon import Lexicon
from services.lookup.records import KINDS, SYSTEMS
from services.lookup.search_tokens import (
    FILLER_WEIGHT,
    STOP_WORDS,
    key_hash,
    stem,
    token_weights,
    without_parentheses,
    words,
)

# Where a code has a word: in its title; only in a modifier of the title, that is a parenthesized
# (nonessential) word or a word of what the code is without ("without perforation", "not
# intractable"); or only in a term. A modifier says little about the code: it counts as filler
# and a query word found only there is found as in a term.
TERM, TITLE, MODIFIER = 0, 1, 2
_NEGATION = re.compile(r"\b(?:without|not)\b(.*?)(?=\bwith\b|$)", re.IGNORECASE)


def negated_text(title: str) -> str:
    """The words of a title that say what the code is without: each part after "without" or "not"
    up to a comma or a "with" (the default of a category: the code to pick when nothing is said)."""
    return " ".join(match.group(1) for part in title.split(",") for match in _NEGATION.finditer(part))


# What an index's bytes depend on besides the catalog: a change to any of these makes a stored
# index stale (see search_index_store.search_index_is_current).
_BUILDER_FILES = ("search_build.py", "search_tokens.py", "search_format.py", "lexicon.py", "codes.py")


@cache
def builder_stamp() -> str:
    """A digest of the code and lexicon that build the index."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in [here / name for name in _BUILDER_FILES] + sorted((here / "data").glob("*")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def normalizer(lexicon: Lexicon) -> Callable[[str], list[str]]:
    """text -> its stems as search reads them, with a per-word cache (the build sees each word often)."""
    cache: dict[str, str] = {}

    def stems(text: str) -> list[str]:
        found = []
        for word in words(text):
            if word in STOP_WORDS:
                continue
            stemmed = cache.get(word)
            if stemmed is None:
                stemmed = cache[word] = stem(lexicon.us_spelling(word))
            found.append(stemmed)
        return found

    return stems


def _text_blob(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    encoded = [t.encode() for t in texts]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), np.uint8), offsets


def _hash_table(pairs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    ordered = sorted(set(pairs))
    return np.array([h for h, _ in ordered], np.uint64), np.array([d for _, d in ordered], np.int32)


class _Analyzer:
    """Stems and exact-name hashes of texts; terms repeat across codes, so they are cached."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.stems_of = normalizer(lexicon)
        self.cache: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {}

    def analyze(self, text: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """The text's stems, and the hashes of its exact names: as written, and without the
        parenthesized modifiers when it has some."""
        found = self.cache.get(text)
        if found is None:
            stems = tuple(self.stems_of(text))
            hashes = (key_hash(stems),) if stems else ()
            if "(" in text or "[" in text:
                core = self.stems_of(without_parentheses(text))
                if core and tuple(core) != stems:
                    hashes += (key_hash(core),)
            found = (stems, hashes)
            if len(self.cache) < 500_000:
                self.cache[text] = found
        return found


def build_arrays(entries: Sequence, lexicon: Lexicon) -> dict[str, np.ndarray]:
    """The index arrays for entries already in catalog order (their number is their position)."""
    # Millions of small lists and tuples, none cyclic: the cycle collector would only rescan them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build_arrays(entries, lexicon)
    finally:
        if collecting:
            gc.enable()


def _build_arrays(entries: Sequence, lexicon: Lexicon) -> dict[str, np.ndarray]:
    analyzer = _Analyzer(lexicon)
    token_ids: dict[str, int] = {}
    postings: list[list[int]] = []  # token id -> docs
    # token id -> per doc: TITLE, MODIFIER or TERM
    in_title: list[list[int]] = []
    title_keys: list[tuple[int, int]] = []
    alias_keys: list[tuple[int, int]] = []
    for doc, entry in enumerate(entries):
        full, hashes = analyzer.analyze(entry.title)
        title_tokens = dict.fromkeys(full, TITLE)
        if hashes:
            title_keys.append((hashes[0], doc))
            # Without its parenthesized (nonessential) modifiers the title is another name.
            alias_keys.extend((h, doc) for h in hashes[1:])
        if "(" in entry.title or "[" in entry.title:
            core = set(analyzer.stems_of(without_parentheses(entry.title)))
            for token in title_tokens:
                if token not in core:
                    title_tokens[token] = MODIFIER
        if "without" in entry.title or "not" in entry.title:
            positive = ",".join(_NEGATION.sub(" ", part) for part in entry.title.split(","))
            negated = set(analyzer.stems_of(negated_text(entry.title))) - set(analyzer.stems_of(positive))
            for token in negated:
                if title_tokens.get(token) == TITLE:
                    title_tokens[token] = MODIFIER
        seen = title_tokens
        for term in entry.terms:
            term_stems, term_hashes = analyzer.analyze(term)
            alias_keys.extend((h, doc) for h in term_hashes)
            for token in term_stems:
                if token not in seen:
                    seen[token] = TERM
        for token, titled in seen.items():
            token_id = token_ids.get(token)
            if token_id is None:
                token_id = token_ids[token] = len(postings)
                postings.append([])
                in_title.append([])
            postings[token_id].append(doc)
            in_title[token_id].append(titled)

    # Number the vocabulary alphabetically so that equal catalogs give equal bytes.
    vocabulary = sorted(token_ids)
    order = [token_ids[token] for token in vocabulary]
    offsets = np.zeros(len(vocabulary) + 1, np.int64)
    np.cumsum([len(postings[i]) for i in order], out=offsets[1:])
    total = int(offsets[-1])
    any_docs = np.fromiter(chain.from_iterable(postings[i] for i in order), np.int32, count=total)
    any_title = np.fromiter(chain.from_iterable(in_title[i] for i in order), np.uint8, count=total)
    # What each code's title weighs: its words' weights, nonessential modifiers as filler.
    weights_of = token_weights(vocabulary, np.diff(offsets), len(entries))
    token_of = np.repeat(np.arange(len(vocabulary)), np.diff(offsets))
    posting_weight = np.where(any_title == TITLE, weights_of[token_of], 0.0)
    posting_weight = np.where(any_title == MODIFIER, FILLER_WEIGHT, posting_weight)
    weights = np.bincount(any_docs, weights=posting_weight, minlength=len(entries)).astype(np.float32)

    system_rank = {name: i for i, name in enumerate(SYSTEMS)}
    kind_rank = {name: i for i, name in enumerate(KINDS)}
    keys = np.array([code_key(entry.code).encode() for entry in entries] or [b""])[: len(entries)]
    key_order = np.argsort(keys, kind="stable").astype(np.int32)
    systems = np.array([system_rank[e.system] for e in entries], np.uint8)
    code_text, code_offsets = _text_blob([e.code for e in entries])
    title_text, title_offsets = _text_blob([e.title for e in entries])
    parent_text, parent_offsets = _text_blob([e.parent or "" for e in entries])
    title_hash, title_hash_doc = _hash_table(title_keys)
    alias_hash, alias_hash_doc = _hash_table(alias_keys)
    return {
        "builder": np.frombuffer(builder_stamp().encode(), np.uint8),
        "doc_system": systems,
        "doc_kind": np.array([kind_rank[e.kind] for e in entries], np.uint8),
        "doc_billable": np.array([e.billable for e in entries], np.bool_),
        "doc_weight": weights,
        "system_start": np.searchsorted(systems, np.arange(len(SYSTEMS) + 1)).astype(np.int64),
        "vocabulary": np.frombuffer("\n".join(vocabulary).encode(), np.uint8),
        "any_docs": any_docs,
        "any_title": any_title,
        "any_offsets": offsets,
        "key_sorted": keys[key_order],
        "key_doc": key_order,
        "code_text": code_text,
        "code_text_offsets": code_offsets,
        "title_text": title_text,
        "title_text_offsets": title_offsets,
        "parent_text": parent_text,
        "parent_text_offsets": parent_offsets,
        "title_hash": title_hash,
        "title_hash_doc": title_hash_doc,
        "alias_hash": alias_hash,
        "alias_hash_doc": alias_hash_doc,
    }
