"""The search index beside the catalog: rebuilt from table `codes`, kept in table `artifacts`.

Storing the bytes in the catalog's own database means a PostgreSQL catalog needs no local files,
and the index always comes from the codes it sits next to.
"""

from __future__ import annotations

import hashlib
import logging
import time

from sqlalchemy import Engine, case, delete, insert, select

from services.lookup import storage
from services.lookup.records import SYSTEMS
from services.lookup.search import SearchEntry, SearchIndex, SearchIndexError
from services.lookup.search_build import builder_stamp
from services.lookup.search_format import unpack

log = logging.getLogger(__name__)

ARTIFACT_NAME = "search_index"


class SearchIndexMissing(LookupError):
    """The catalog has no search index: it was never built, or built by an older version."""


def catalog_entries(engine: Engine) -> list[SearchEntry]:
    """Every code of the catalog as search indexes it, in catalog order."""
    codes = storage.codes.c
    system_order = case({name: rank for rank, name in enumerate(SYSTEMS)}, value=codes.system, else_=99)
    query = select(
        codes.system, codes.code, codes.title, codes.kind, codes.billable, codes.terms, codes.parent
    ).order_by(system_order, codes.position)
    with engine.connect() as conn:
        return [
            SearchEntry(
                system, code, title, kind, bool(billable), terms.split("\n") if terms else (), parent or ""
            )
            for system, code, title, kind, billable, terms, parent in conn.execute(query)
        ]


def rebuild_search_index(engine: Engine) -> None:
    """Index every code of the catalog and store the index, replacing the one stored before."""
    started = time.perf_counter()
    entries = catalog_entries(engine)
    read = time.perf_counter()
    payload = SearchIndex.build(entries).to_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    artifacts = storage.artifacts
    with engine.begin() as conn:
        conn.execute(delete(artifacts).where(artifacts.c.name == ARTIFACT_NAME))
        conn.execute(insert(artifacts).values(name=ARTIFACT_NAME, content_hash=digest, payload=payload))
    log.info(
        "search index rebuilt",
        extra={
            "codes": len(entries),
            "bytes": len(payload),
            "read_seconds": round(read - started, 2),
            "seconds": round(time.perf_counter() - started, 2),
        },
    )


def search_index_is_current(engine: Engine) -> bool:
    """Whether the stored index was built by this code and lexicon (else the build should redo it)."""
    artifacts = storage.artifacts
    with engine.connect() as conn:
        payload = conn.execute(select(artifacts.c.payload).where(artifacts.c.name == ARTIFACT_NAME)).scalar()
    if payload is None:
        return False
    try:
        builder = unpack(bytes(payload)).get("builder")
    except ValueError:
        return False
    return builder is not None and builder.tobytes().decode() == builder_stamp()


def load_search_index(engine: Engine) -> SearchIndex:
    """The stored search index, checked against its content hash."""
    artifacts = storage.artifacts
    with engine.connect() as conn:
        row = conn.execute(
            select(artifacts.c.content_hash, artifacts.c.payload).where(artifacts.c.name == ARTIFACT_NAME)
        ).first()
    if row is None:
        raise SearchIndexMissing("the catalog has no search index: run `make catalog` to build it")
    payload = bytes(row.payload)
    if hashlib.sha256(payload).hexdigest() != row.content_hash:
        raise SearchIndexMissing("the stored search index does not match its hash: run `make catalog`")
    try:
        return SearchIndex.from_bytes(payload)
    except SearchIndexError as error:
        raise SearchIndexMissing(f"{error}: rebuild it with `make catalog`") from error
