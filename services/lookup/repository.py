"""Reads of the stored catalog. Plain SQL through SQLAlchemy Core; payloads are cached in memory."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import Engine, and_, func, select, tuple_

from services.lookup import storage
from services.lookup.records import CrosswalkRecord


@dataclass(frozen=True)
class CodeRow:
    """A stored code without its payload: enough for lists, summaries and search results."""

    system: str
    code: str
    title: str
    kind: str
    billable: bool
    parent: str | None
    position: int


@dataclass(frozen=True)
class SystemRow:
    system: str
    name: str
    version: str
    release: str
    licence: str
    coverage: str
    source: str
    code_count: int
    billable_count: int


_ROW_COLUMNS = (
    storage.codes.c.system,
    storage.codes.c.code,
    storage.codes.c.title,
    storage.codes.c.kind,
    storage.codes.c.billable,
    storage.codes.c.parent,
    storage.codes.c.position,
)


class PayloadCache:
    """A bounded LRU of serialized Code payloads keyed by (system, code_key)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, str], bytes] = OrderedDict()

    def get(self, key: tuple[str, str]) -> bytes | None:
        payload = self._entries.get(key)
        if payload is not None:
            self._entries.move_to_end(key)
        return payload

    def put(self, key: tuple[str, str], payload: bytes) -> None:
        self._entries[key] = payload
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)


class CatalogRepository:
    def __init__(self, engine: Engine, *, cache_size: int = 20_000) -> None:
        self.engine = engine
        self.cache = PayloadCache(cache_size)

    def payload(self, system: str, key: str) -> bytes | None:
        """The serialized Code (FULL view) for a code key, or None."""
        cached = self.cache.get((system, key))
        if cached is not None:
            return cached
        with self.engine.connect() as conn:
            payload = conn.execute(
                select(storage.codes.c.payload).where(
                    storage.codes.c.system == system, storage.codes.c.code_key == key
                )
            ).scalar()
        if payload is not None:
            self.cache.put((system, key), payload)
        return payload

    def payloads(self, system: str, keys: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        missing = []
        for key in keys:
            cached = self.cache.get((system, key))
            if cached is None:
                missing.append(key)
            else:
                found[key] = cached
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(storage.codes.c.code_key, storage.codes.c.payload).where(
                        storage.codes.c.system == system, storage.codes.c.code_key.in_(chunk)
                    )
                )
                for key, payload in rows:
                    found[key] = payload
                    self.cache.put((system, key), payload)
        return found

    def rows(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], CodeRow]:
        """CodeRows for (system, code) pairs, keyed the same way."""
        result: dict[tuple[str, str], CodeRow] = {}
        for start in range(0, len(pairs), 500):
            chunk = pairs[start : start + 500]
            with self.engine.connect() as conn:
                for row in conn.execute(
                    select(*_ROW_COLUMNS).where(
                        tuple_(storage.codes.c.system, storage.codes.c.code).in_(chunk)
                    )
                ):
                    result[(row.system, row.code)] = CodeRow(*row)
        return result

    def children(self, system: str, parent: str | None, offset: int, limit: int) -> tuple[list[CodeRow], int]:
        condition = storage.codes.c.parent.is_(None) if parent is None else storage.codes.c.parent == parent
        where = and_(storage.codes.c.system == system, condition)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(storage.codes).where(where)).scalar_one()
            rows = conn.execute(
                select(*_ROW_COLUMNS)
                .where(where)
                .order_by(storage.codes.c.position)
                .offset(offset)
                .limit(limit)
            ).all()
        return [CodeRow(*row) for row in rows], total

    def codes_with_prefix(self, system: str | None, prefix: str, limit: int) -> list[CodeRow]:
        """Codes whose key starts with `prefix`, in publication order (for nearest-code hints)."""
        query = select(*_ROW_COLUMNS).where(storage.codes.c.code_key.startswith(prefix, autoescape=True))
        if system is not None:
            query = query.where(storage.codes.c.system == system)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(storage.codes.c.position).limit(limit)).all()
        return [CodeRow(*row) for row in rows]

    def systems_having(self, key: str) -> list[CodeRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_ROW_COLUMNS).where(storage.codes.c.code_key == key)).all()
        return [CodeRow(*row) for row in rows]

    def crosswalk_from(self, system: str, code: str) -> list[CrosswalkRecord]:
        return self._crosswalk(
            and_(storage.crosswalks.c.source_system == system, storage.crosswalks.c.source_code == code)
        )

    def crosswalk_to(self, system: str, code: str) -> list[CrosswalkRecord]:
        return self._crosswalk(
            and_(storage.crosswalks.c.target_system == system, storage.crosswalks.c.target_code == code)
        )

    def _crosswalk(self, where) -> list[CrosswalkRecord]:
        table = storage.crosswalks
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    table.c.source_system,
                    table.c.source_code,
                    table.c.target_system,
                    table.c.target_code,
                    table.c.approximate,
                    table.c.no_map,
                    table.c.combination,
                    table.c.scenario,
                    table.c.choice_list,
                    table.c.gem,
                )
                .where(where)
                .order_by(table.c.id)
            ).all()
        return [CrosswalkRecord(*row) for row in rows]

    def code_systems(self) -> list[SystemRow]:
        t = storage.code_systems
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    t.c.system,
                    t.c.name,
                    t.c.version,
                    t.c.release,
                    t.c.licence,
                    t.c.coverage,
                    t.c.source,
                    t.c.code_count,
                    t.c.billable_count,
                )
            ).all()
        return [SystemRow(*row) for row in rows]

    def clinical_categories(self, body_system: str | None) -> list[tuple[str, str, str]]:
        t = storage.clinical_categories
        query = select(t.c.id, t.c.title, t.c.body_system).order_by(t.c.id)
        if body_system:
            query = query.where(t.c.body_system == body_system)
        with self.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]

    def category_members(self, category_id: str, offset: int, limit: int) -> tuple[list[CodeRow], int]:
        members = storage.category_members
        codes = storage.codes
        join = members.join(codes, and_(codes.c.system == members.c.system, codes.c.code == members.c.code))
        where = members.c.category_id == category_id
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(join).where(where)).scalar_one()
            rows = conn.execute(
                select(*_ROW_COLUMNS)
                .select_from(join)
                .where(where)
                .order_by(codes.c.position)
                .offset(offset)
                .limit(limit)
            ).all()
        return [CodeRow(*row) for row in rows], total

    def guidelines(self, system: str) -> list[tuple[str, str, str, str]]:
        t = storage.guidelines
        with self.engine.connect() as conn:
            return [
                tuple(row)
                for row in conn.execute(
                    select(t.c.guideline_id, t.c.section, t.c.topic, t.c.text)
                    .where(t.c.system == system)
                    .order_by(t.c.id)
                )
            ]
