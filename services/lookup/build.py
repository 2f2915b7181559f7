"""The catalog build: read each packaged code set, derive the hierarchy, store it, index it.

Idempotent: a code system whose stored version is newer is left alone, one whose content is
unchanged is skipped, anything else is replaced in one transaction.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from medcode.lookup.v1 import lookup_pb2
from sqlalchemy import Engine, delete, insert, inspect, select

from services.lookup import storage
from services.lookup.codes import SYSTEM_NAMES, code_key
from services.lookup.convert import (
    basic_code_message,
    note_message,
    pcs_character_message,
    summary_message,
)
from services.lookup.records import CodeRecord, SystemData

log = logging.getLogger(__name__)

# The packaged code sets, in build order. Each module has `load() -> list[SystemData]`.
SHIPPED_SOURCES = (
    "services.lookup.sources.icd10cm_loader",
    "services.lookup.sources.icd10pcs_loader",
    "services.lookup.sources.icd9_loader",
)

_BATCH = 5000


@dataclass
class BuildReport:
    system: str
    action: str  # "built", "unchanged", "kept-newer"
    code_count: int
    seconds: float


def children_of(records: list[CodeRecord]) -> dict[str, list[CodeRecord]]:
    """The children of each code, in publication order; every parent must be in the data."""
    by_code = {record.code for record in records}
    children: dict[str, list[CodeRecord]] = {}
    for record in records:
        if record.parent is not None:
            if record.parent not in by_code:
                raise ValueError(f"{record.system} {record.code}: parent {record.parent} is not in the data")
            children.setdefault(record.parent, []).append(record)
    return children


def _ancestors(record: CodeRecord, by_code: dict[str, CodeRecord]) -> list[CodeRecord]:
    chain = []
    parent = record.parent
    while parent is not None:
        chain.append(by_code[parent])
        parent = by_code[parent].parent
    chain.reverse()
    return chain


def _billable_counts(records: list[CodeRecord], by_code: dict[str, CodeRecord]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        if not record.billable:
            continue
        code: str | None = record.code
        while code is not None:
            counts[code] = counts.get(code, 0) + 1
            code = by_code[code].parent
    return counts


def full_code_message(
    record: CodeRecord,
    by_code: dict[str, CodeRecord],
    summaries: dict[str, lookup_pb2.CodeSummary],
    children: dict[str, list[CodeRecord]],
    billable_counts: dict[str, int],
    licence: str,
    categories: list[lookup_pb2.ClinicalCategory],
) -> lookup_pb2.Code:
    message = basic_code_message(record)
    message.lay_description = record.lay_description
    message.short_title = record.short_title
    message.notes.extend(note_message(note) for note in record.notes)
    message.ancestors.extend(summaries[a.code] for a in _ancestors(record, by_code))
    message.children.extend(summaries[c.code] for c in children.get(record.code, ()))
    message.pcs_characters.extend(pcs_character_message(c) for c in record.pcs_characters)
    message.clinical_categories.extend(categories)
    message.licence = licence
    message.data_warnings.extend(record.data_warnings)
    message.billable_descendant_count = billable_counts.get(record.code, 0)
    return message


def content_hash(data: SystemData) -> str:
    digest = hashlib.sha256()
    info = data.info
    digest.update(
        repr((storage.SCHEMA_VERSION, info.version, info.release, info.licence, info.source)).encode()
    )
    for record in data.codes:
        digest.update(
            repr((record.code, record.title, record.parent, record.billable, record.notes)).encode()
        )
    for rows in (data.crosswalks, data.categories, data.category_members, data.guidelines):
        digest.update(repr(len(rows)).encode())
        for row in rows:
            digest.update(repr(row).encode())
    return digest.hexdigest()


def _describe(record: CodeRecord) -> None:
    if not record.lay_description:
        from services.lookup import lay

        record.lay_description = lay.describe(record.title, record.system)


def store_system(engine: Engine, data: SystemData, *, force: bool = False) -> BuildReport:
    """Replace one code system in the catalog, unless what is stored is newer or the same."""
    started = time.perf_counter()
    system = data.info.system
    digest = content_hash(data)
    with engine.begin() as conn:
        stored = conn.execute(
            select(storage.code_systems).where(storage.code_systems.c.system == system)
        ).first()
    if stored is not None and not force and stored.schema_version == storage.SCHEMA_VERSION:
        if stored.version > data.info.version:
            log.info("kept newer stored version", extra={"system": system, "stored": stored.version})
            return BuildReport(system, "kept-newer", stored.code_count, time.perf_counter() - started)
        if stored.content_hash == digest:
            return BuildReport(system, "unchanged", stored.code_count, time.perf_counter() - started)

    records = data.codes
    by_code = {record.code: record for record in records}
    if len(by_code) != len(records):
        raise ValueError(f"{system}: the data lists some codes twice")
    children = children_of(records)
    summaries = {record.code: summary_message(record) for record in records}
    billable_counts = _billable_counts(records, by_code)
    category_titles = {c.id: c for c in data.categories}
    categories_of: dict[str, list[lookup_pb2.ClinicalCategory]] = {}
    for member in data.category_members:
        category = category_titles[member.category_id]
        categories_of.setdefault(member.code, []).append(
            lookup_pb2.ClinicalCategory(
                id=category.id,
                title=category.title,
                body_system=category.body_system,
                is_default=member.is_default,
            )
        )

    def rows() -> Iterable[dict]:
        for position, record in enumerate(records):
            _describe(record)
            message = full_code_message(
                record,
                by_code,
                summaries,
                children,
                billable_counts,
                data.info.licence,
                categories_of.get(record.code, []),
            )
            yield {
                "system": system,
                "code": record.code,
                "code_key": code_key(record.code),
                "title": record.title,
                "kind": record.kind,
                "billable": record.billable,
                "parent": record.parent,
                "position": position,
                "terms": "\n".join(
                    [n.text for n in record.notes if n.kind == "inclusion_term"] + record.search_terms
                ),
                "payload": message.SerializeToString(),
            }

    with engine.begin() as conn:
        conn.execute(delete(storage.codes).where(storage.codes.c.system == system))
        for table in storage.OWNED_TABLES:
            conn.execute(delete(table).where(table.c.owner == system))
        _insert_batched(conn, storage.codes, rows())
        _insert_batched(conn, storage.crosswalks, ({"owner": system, **vars(r)} for r in data.crosswalks))
        _insert_batched(
            conn, storage.clinical_categories, ({"owner": system, **vars(c)} for c in data.categories)
        )
        _insert_batched(
            conn, storage.category_members, ({"owner": system, **vars(m)} for m in data.category_members)
        )
        _insert_batched(
            conn,
            storage.guidelines,
            (
                {
                    "owner": system,
                    "system": g.system,
                    "guideline_id": g.id,
                    "section": g.section,
                    "topic": g.topic,
                    "text": g.text,
                }
                for g in data.guidelines
            ),
        )
        conn.execute(delete(storage.code_systems).where(storage.code_systems.c.system == system))
        conn.execute(
            insert(storage.code_systems).values(
                system=system,
                name=data.info.name or SYSTEM_NAMES[system],
                version=data.info.version,
                release=data.info.release,
                licence=data.info.licence,
                coverage=data.info.coverage,
                source=data.info.source,
                code_count=len(records),
                billable_count=sum(1 for r in records if r.billable),
                content_hash=digest,
                schema_version=storage.SCHEMA_VERSION,
                built_at=datetime.now(UTC),
            )
        )
    seconds = time.perf_counter() - started
    log.info(
        "stored code system", extra={"system": system, "codes": len(records), "seconds": round(seconds, 2)}
    )
    return BuildReport(system, "built", len(records), seconds)


def _insert_batched(conn, table, rows: Iterable[dict]) -> None:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= _BATCH:
            conn.execute(insert(table), batch)
            batch = []
    if batch:
        conn.execute(insert(table), batch)


def load_sources(modules: Iterable[str] = SHIPPED_SOURCES) -> Iterable[SystemData]:
    for module_name in modules:
        module = importlib.import_module(module_name)
        loader: Callable[[], list[SystemData]] = module.load
        yield from loader()


def build_catalog(
    engine: Engine, sources: Iterable[SystemData] | None = None, *, force: bool = False
) -> list[BuildReport]:
    """Store every shipped code system (or the given ones); re-index search when anything changed."""
    from services.lookup.search_index_store import rebuild_search_index, search_index_is_current

    _reset_if_schema_changed(engine)
    storage.metadata.create_all(engine)
    reports = [store_system(engine, data, force=force) for data in (sources or load_sources())]
    if any(r.action == "built" for r in reports) or not search_index_is_current(engine):
        rebuild_search_index(engine)
    return reports


def _reset_if_schema_changed(engine: Engine) -> None:
    """Drop a catalog stored with another schema version: it is derived data, rebuilt right after."""
    if not inspect(engine).has_table(storage.code_systems.name):
        return
    with engine.connect() as conn:
        versions = set(conn.execute(select(storage.code_systems.c.schema_version)).scalars())
    if versions - {storage.SCHEMA_VERSION}:
        log.warning(
            "catalog schema changed: rebuilding it (imported CPT/HCPCS files must be imported again)",
            extra={"stored": sorted(versions), "current": storage.SCHEMA_VERSION},
        )
        storage.metadata.drop_all(engine)
