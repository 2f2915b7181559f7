"""Reads of the stored catalog. Plain SQL through SQLAlchemy Core; payloads are cached in memory."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from medcode.lookup.v1 import lookup_pb2
from sqlalchemy import Engine, and_, func, select

from services.lookup import storage
from services.lookup.codes import code_key
from services.lookup.convert import NOTE_KIND_TO_ENUM
from services.lookup.records import INHERITED_NOTE_KINDS, SYSTEMS, CrosswalkRecord

_SEVENTH = NOTE_KIND_TO_ENUM["seventh_character"]
_INHERITED_ENUMS = frozenset(NOTE_KIND_TO_ENUM[kind] for kind in INHERITED_NOTE_KINDS)


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
        # Items that have descendants are few (chapters, blocks, categories): kept without bound.
        self._ancestor_notes: dict[tuple[str, str], list[lookup_pb2.Note]] = {}

    def payload(self, system: str, key: str) -> bytes | None:
        """The serialized Code (FULL view, inherited notes included) for a code key, or None."""
        cached = self.cache.get((system, key))
        if cached is not None:
            return cached
        return self.payloads(system, [key]).get(key)

    def payloads(self, system: str, keys: list[str]) -> dict[str, bytes]:
        """Full pages for many code keys of one system; unknown keys are left out."""
        found: dict[str, bytes] = {}
        missing = []
        for key in keys:
            cached = self.cache.get((system, key))
            if cached is None:
                missing.append(key)
            else:
                found[key] = cached
        for start in range(0, len(missing), 500):
            for key, stored in self._stored_payloads(
                system, storage.codes.c.code_key, missing[start : start + 500]
            ):
                page = self._with_inherited_notes(system, stored)
                found[key] = page
                self.cache.put((system, key), page)
        return found

    def _stored_payloads(self, system: str, column, values: list[str]) -> list[tuple[str, bytes]]:
        with self.engine.connect() as conn:
            return [
                tuple(row)
                for row in conn.execute(
                    select(column, storage.codes.c.payload).where(
                        storage.codes.c.system == system, column.in_(values)
                    )
                )
            ]

    def _with_inherited_notes(self, system: str, stored: bytes) -> bytes:
        """The stored page plus the notes its ancestors carry for everything below them."""
        code = lookup_pb2.Code.FromString(stored)
        if not code.ancestors:
            return stored
        ancestors = [a.code for a in reversed(code.ancestors)]  # nearest first
        notes = self._inheritable_notes(system, ancestors)
        # 7th-character definitions do not add up: the nearest item that defines them decides.
        seventh_defined = any(note.kind == _SEVENTH for note in code.notes)
        for ancestor in ancestors:
            for note in notes[ancestor]:
                if note.kind != _SEVENTH:
                    code.inherited_notes.append(note)
                elif not seventh_defined:
                    code.inherited_notes.append(note)
            seventh_defined = seventh_defined or any(note.kind == _SEVENTH for note in notes[ancestor])
        return code.SerializeToString()

    def _inheritable_notes(self, system: str, codes: list[str]) -> dict[str, list[lookup_pb2.Note]]:
        """The inheritable own notes of ancestor items, with their source set; cached per item."""
        missing = [code for code in codes if (system, code) not in self._ancestor_notes]
        if missing:
            code_of = {code_key(code): code for code in missing}
            for key, stored in self._stored_payloads(system, storage.codes.c.code_key, list(code_of)):
                code = code_of[key]
                notes = []
                for note in lookup_pb2.Code.FromString(stored).notes:
                    if note.kind in _INHERITED_ENUMS:
                        note.source = code
                        notes.append(note)
                self._ancestor_notes[(system, code)] = notes
        return {code: self._ancestor_notes.get((system, code), []) for code in codes}

    def rows(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], CodeRow]:
        """CodeRows for (system, code) pairs, keyed the same way (through the unique code-key index)."""
        keys_by_system: dict[str, list[str]] = {}
        for system, code in pairs:
            keys_by_system.setdefault(system, []).append(code_key(code))
        result: dict[tuple[str, str], CodeRow] = {}
        with self.engine.connect() as conn:
            for system, keys in keys_by_system.items():
                for start in range(0, len(keys), 500):
                    for row in conn.execute(
                        select(*_ROW_COLUMNS).where(
                            storage.codes.c.system == system,
                            storage.codes.c.code_key.in_(keys[start : start + 500]),
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
        # A range on the key (not LIKE, which neither SQLite nor PostgreSQL serve from the index).
        upper = prefix + "\x7f"
        query = select(*_ROW_COLUMNS).where(
            storage.codes.c.code_key >= prefix, storage.codes.c.code_key < upper
        )
        if system is not None:
            query = query.where(storage.codes.c.system == system)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(storage.codes.c.position).limit(limit)).all()
        return [CodeRow(*row) for row in rows]

    def systems_having(self, key: str) -> list[CodeRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(*_ROW_COLUMNS).where(
                    storage.codes.c.system.in_(SYSTEMS), storage.codes.c.code_key == key
                )
            ).all()
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
        """One page of a clinical category's codes in publication order, and how many it has."""
        members = storage.category_members
        with self.engine.connect() as conn:
            pairs = [
                (system, code)
                for system, code in conn.execute(
                    select(members.c.system, members.c.code).where(members.c.category_id == category_id)
                )
            ]
        # A category has at most a few thousand codes: ordering them here keeps every read on an
        # index (joining on the dotted code would scan the codes table).
        rows = sorted(self.rows(pairs).values(), key=lambda row: (row.system, row.position))
        return rows[offset : offset + limit], len(rows)

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
