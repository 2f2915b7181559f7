"""Building the search index's arrays from the catalog's entries (once per catalog build)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from services.lookup.codes import code_key
from services.lookup.lexicon import Lexicon
from services.lookup.records import KINDS, SYSTEMS
from services.lookup.search_tokens import (
    FILLER_WEIGHT,
    STOP_WORDS,
    key_hash,
    stem,
    token_weight,
    without_parentheses,
    words,
)


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


def _hash_table(pairs: set[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    ordered = sorted(pairs)
    return np.array([h for h, _ in ordered], np.uint64), np.array([d for _, d in ordered], np.int32)


def build_arrays(entries: Sequence, lexicon: Lexicon) -> dict[str, np.ndarray]:
    """The index arrays for entries already in catalog order (their number is their position)."""
    stems_of = normalizer(lexicon)
    token_ids: dict[str, int] = {}
    postings: list[list[int]] = []  # token id -> docs
    in_title: list[list[bool]] = []  # token id -> per doc: in the title (else only in a term)
    title_keys: set[tuple[int, int]] = set()
    alias_keys: set[tuple[int, int]] = set()
    weights = np.zeros(len(entries), np.float32)
    for doc, entry in enumerate(entries):
        core = stems_of(without_parentheses(entry.title))
        full = stems_of(entry.title)
        title_tokens = dict.fromkeys(full)
        # Words in parentheses are nonessential modifiers: they count little against a code.
        core_set = set(core)
        weights[doc] = sum(token_weight(t) if t in core_set else FILLER_WEIGHT for t in title_tokens)
        title_keys.add((key_hash(full), doc))
        if core != full:
            alias_keys.add((key_hash(core), doc))
        seen: dict[str, bool] = dict.fromkeys(title_tokens, True)
        for term in entry.terms:
            term_stems = stems_of(term)
            if not term_stems:
                continue
            alias_keys.add((key_hash(term_stems), doc))
            term_core = stems_of(without_parentheses(term))
            if term_core and term_core != term_stems:
                alias_keys.add((key_hash(term_core), doc))
            for token in term_stems:
                seen.setdefault(token, False)
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
    any_docs = np.fromiter((d for i in order for d in postings[i]), np.int32, count=total)
    any_title = np.fromiter((t for i in order for t in in_title[i]), np.bool_, count=total)

    system_rank = {name: i for i, name in enumerate(SYSTEMS)}
    kind_rank = {name: i for i, name in enumerate(KINDS)}
    keys = [code_key(entry.code).encode() for entry in entries]
    key_order = np.array(sorted(range(len(keys)), key=keys.__getitem__), np.int32)
    width = max((len(k) for k in keys), default=1)
    systems = np.array([system_rank[e.system] for e in entries], np.uint8)
    code_text, code_offsets = _text_blob([e.code for e in entries])
    title_text, title_offsets = _text_blob([e.title for e in entries])
    title_hash, title_hash_doc = _hash_table(title_keys)
    alias_hash, alias_hash_doc = _hash_table(alias_keys)
    return {
        "doc_system": systems,
        "doc_kind": np.array([kind_rank[e.kind] for e in entries], np.uint8),
        "doc_billable": np.array([e.billable for e in entries], np.bool_),
        "doc_weight": weights,
        "system_start": np.searchsorted(systems, np.arange(len(SYSTEMS) + 1)).astype(np.int64),
        "vocabulary": np.frombuffer("\n".join(vocabulary).encode(), np.uint8),
        "any_docs": any_docs,
        "any_title": any_title,
        "any_offsets": offsets,
        "key_sorted": np.array([keys[i] for i in key_order], dtype=f"S{width}"),
        "key_doc": key_order,
        "code_text": code_text,
        "code_text_offsets": code_offsets,
        "title_text": title_text,
        "title_text_offsets": title_offsets,
        "title_hash": title_hash,
        "title_hash_doc": title_hash_doc,
        "alias_hash": alias_hash,
        "alias_hash_doc": alias_hash_doc,
    }
