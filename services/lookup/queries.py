"""What coders and services ask of the catalog: validated, answered from the repository and index.

The catalog stores each code's page as a serialized `Code` message, so answers are built as
protobuf messages here; the gRPC adapter only wraps them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from medcode.lookup.v1 import lookup_pb2

from services.lookup import page_tokens
from services.lookup.codes import SYSTEM_NAMES, SYSTEM_TO_ENUM, InvalidCode, code_key, validate_code_text
from services.lookup.convert import KIND_TO_ENUM, code_summary, crosswalk_message, note_record
from services.lookup.errors import CategoryNotFound, CodeNotFound, InvalidArgument, SystemNotLoaded
from services.lookup.pairs import PairSubject, PairVerdict, check_pair
from services.lookup.records import SYSTEMS, CrosswalkRecord
from services.lookup.repository import CatalogRepository, CodeRow

log = logging.getLogger(__name__)

MAX_BATCH = 1000
MAX_QUERY_LENGTH = 256
IMPORTED_SYSTEMS = {"cpt": "import-cpt", "hcpcs": "import-hcpcs"}
# The other revision of the same kind, for crosswalks without an explicit target.
DEFAULT_TARGET = {"icd9cm": "icd10cm", "icd10cm": "icd9cm", "icd9pcs": "icd10pcs", "icd10pcs": "icd9pcs"}


@dataclass(frozen=True)
class SearchRequest:
    query: str
    systems: frozenset[str] | None
    billable_only: bool
    page_size: int
    page_token: str
    full_view: bool = False


def summary(row: CodeRow) -> lookup_pb2.CodeSummary:
    return lookup_pb2.CodeSummary(
        system=SYSTEM_TO_ENUM[row.system],
        code=row.code,
        title=row.title,
        kind=KIND_TO_ENUM[row.kind],
        billable=row.billable,
    )


def basic_code(row: CodeRow, release: str = "") -> lookup_pb2.Code:
    return lookup_pb2.Code(
        system=SYSTEM_TO_ENUM[row.system],
        code=row.code,
        title=row.title,
        kind=KIND_TO_ENUM[row.kind],
        billable=row.billable,
        parent=row.parent or "",
        release=release,
    )


class Catalog:
    """The lookup service's use cases over one stored catalog."""

    def __init__(self, repository: CatalogRepository, search_index=None) -> None:
        self.repository = repository
        self.search_index = search_index
        self.systems = {row.system: row for row in repository.code_systems()}

    # -- single codes -------------------------------------------------------------------------

    def _require_loaded(self, system: str) -> None:
        if system not in self.systems:
            if system in IMPORTED_SYSTEMS:
                how = (
                    f"an operator imports it with `python -m services.lookup.catalog "
                    f"{IMPORTED_SYSTEMS[system]} FILE` (docs/importers.md)"
                )
            else:
                how = "run `make catalog` to build it"
            raise SystemNotLoaded(SYSTEM_NAMES[system], how)

    def _key(self, field: str, code: str) -> str:
        try:
            return code_key(validate_code_text(code))
        except InvalidCode as error:
            raise InvalidArgument(field, f"{field}: {error}", reason="INVALID_CODE") from error

    def code_payload(self, system: str, code: str, field: str = "code") -> bytes:
        """The serialized Code (FULL view) of one code; CodeNotFound names the nearest codes."""
        key = self._key(field, code)
        self._require_loaded(system)
        payload = self.repository.payload(system, key)
        if payload is None:
            raise self._not_found(system, code.strip(), key)
        return payload

    def get_code(self, system: str, code: str, field: str = "code") -> lookup_pb2.Code:
        return lookup_pb2.Code.FromString(self.code_payload(system, code, field))

    def _not_found(self, system: str, code: str, key: str) -> CodeNotFound:
        nearest: list[CodeRow] = []
        for length in range(len(key) - 1, 0, -1):
            nearest = self.repository.codes_with_prefix(system, key[:length], limit=5)
            if nearest:
                break
        elsewhere = [row for row in self.repository.systems_having(key) if row.system != system]
        hint = ""
        if elsewhere:
            names = ", ".join(f"{SYSTEM_NAMES[row.system]} ({row.code})" for row in elsewhere)
            hint = f"; the same code exists in {names}"
        return CodeNotFound(SYSTEM_NAMES[system], code, [row.code for row in nearest], hint)

    def batch_get(
        self, system: str, codes: list[str], full_view: bool
    ) -> tuple[list[lookup_pb2.Code], list[str]]:
        if not codes:
            raise InvalidArgument("codes", "codes is empty: give 1 to 1,000 codes")
        if len(codes) > MAX_BATCH:
            raise InvalidArgument("codes", f"at most {MAX_BATCH:,} codes a call; got {len(codes):,}")
        keys = [self._key(f"codes[{i}]", code) for i, code in enumerate(codes)]
        self._require_loaded(system)
        payloads = self.repository.payloads(system, list(dict.fromkeys(keys)))
        found, missing = [], []
        for code, key in zip(codes, keys, strict=True):
            payload = payloads.get(key)
            if payload is None:
                missing.append(code)
                continue
            message = lookup_pb2.Code.FromString(payload)
            found.append(message if full_view else _basic(message))
        return found, missing

    # -- search -------------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> tuple[list[lookup_pb2.SearchResult], str, int]:
        query = request.query.strip()
        if not query:
            raise InvalidArgument("query", "query is empty: type a code, a code prefix or words")
        if len(request.query) > MAX_QUERY_LENGTH:
            raise InvalidArgument(
                "query", f"query has {len(request.query)} characters; at most {MAX_QUERY_LENGTH}"
            )
        size = page_tokens.page_size(request.page_size)
        systems = sorted(request.systems) if request.systems else None
        owner = page_tokens.fingerprint(query.lower(), systems, request.billable_only)
        offset = page_tokens.decode(request.page_token, owner)
        if self.search_index is None:
            raise SystemNotLoaded("search index", "run `make catalog` to build it")
        page = self.search_index.search(
            query,
            systems=frozenset(systems) if systems else None,
            billable_only=request.billable_only,
            offset=offset,
            limit=size,
        )
        if request.full_view:
            codes = [self.get_code(hit.system, hit.code) for hit in page.hits]
        else:
            # The index carries what the basic view shows: no database round trip per page.
            codes = [
                lookup_pb2.Code(
                    system=SYSTEM_TO_ENUM[hit.system],
                    code=hit.code,
                    title=hit.title,
                    kind=KIND_TO_ENUM[hit.kind],
                    billable=hit.billable,
                    release=self._release(hit.system),
                )
                for hit in page.hits
            ]
        results = [
            lookup_pb2.SearchResult(code=code, score=hit.score)
            for code, hit in zip(codes, page.hits, strict=True)
        ]
        next_offset = offset + len(page.hits)
        token = page_tokens.encode(next_offset, owner) if next_offset < page.total and page.hits else ""
        return results, token, page.total

    def _release(self, system: str) -> str:
        row = self.systems.get(system)
        return f"{row.name} {row.release}" if row else ""

    # -- hierarchy ----------------------------------------------------------------------------

    def list_children(
        self, system: str, code: str, page_size: int, page_token: str, full_view: bool
    ) -> tuple[list[lookup_pb2.Code], str, int]:
        self._require_loaded(system)
        parent = None
        if code.strip():
            parent = lookup_pb2.Code.FromString(self.code_payload(system, code)).code
        size = page_tokens.page_size(page_size)
        owner = page_tokens.fingerprint("children", system, parent)
        offset = page_tokens.decode(page_token, owner)
        rows, total = self.repository.children(system, parent, offset, size)
        if full_view:
            children = [self.get_code(system, row.code) for row in rows]
        else:
            children = [basic_code(row, self._release(system)) for row in rows]
        next_offset = offset + len(rows)
        return children, (page_tokens.encode(next_offset, owner) if next_offset < total else ""), total

    # -- crosswalks ---------------------------------------------------------------------------

    def crosswalk(
        self, system: str, code: str, target: str | None
    ) -> tuple[lookup_pb2.CodeSummary, list[lookup_pb2.CrosswalkMapping]]:
        source = self.get_code(system, code)
        target = target or DEFAULT_TARGET.get(system)
        if target is None or target == system:
            raise InvalidArgument(
                "target_system",
                f"no crosswalk from {SYSTEM_NAMES[system]}"
                + (f" to {SYSTEM_NAMES[target]}" if target else "")
                + ": GEMs link ICD-9-CM with ICD-10-CM and ICD-9-CM procedures with ICD-10-PCS",
            )
        rows = [r for r in self.repository.crosswalk_from(system, source.code) if r.target_system == target]
        if not rows:
            # Read the other direction's GEM backwards (ICD-10-PCS has no backward GEM here).
            rows = [
                CrosswalkRecord(
                    system,
                    source.code,
                    r.source_system,
                    r.source_code,
                    r.approximate,
                    r.no_map,
                    r.combination,
                    r.scenario,
                    r.choice_list,
                    f"{r.gem}, read backward",
                )
                for r in self.repository.crosswalk_to(system, source.code)
                if r.source_system == target
            ]
        titles = self.repository.rows([(target, r.target_code) for r in rows if r.target_code])
        source_summary = code_summary(source)
        mappings = []
        for row in rows:
            found = titles.get((target, row.target_code))
            target_summary = (
                summary(found)
                if found
                else lookup_pb2.CodeSummary(system=SYSTEM_TO_ENUM[target], code=row.target_code)
            )
            mappings.append(
                crosswalk_message(
                    row,
                    source_summary,
                    target_summary,
                    target_not_in_catalog=bool(row.target_code) and found is None,
                )
            )
        return source_summary, mappings

    # -- pairs --------------------------------------------------------------------------------

    def check_pair(self, system: str, first_code: str, second_code: str):
        first = self.get_code(system, first_code, "first_code")
        second = self.get_code(system, second_code, "second_code")
        verdict: PairVerdict = check_pair(_subject(first), _subject(second))
        return first, second, verdict

    # -- systems, categories, guidelines ------------------------------------------------------

    def code_systems(self) -> list[lookup_pb2.CodeSystemInfo]:
        stored = {row.system: row for row in self.repository.code_systems()}
        self.systems = stored
        infos = []
        for system in SYSTEMS:
            row = stored.get(system)
            enum = SYSTEM_TO_ENUM[system]
            if row is None:
                how = IMPORTED_SYSTEMS.get(system)
                infos.append(
                    lookup_pb2.CodeSystemInfo(
                        system=enum,
                        name=SYSTEM_NAMES[system],
                        coverage=(
                            f"not imported: an operator loads a licensed file with `{how}` (docs/importers.md)"
                            if how
                            else "not built: run `make catalog`"
                        ),
                        loaded=False,
                    )
                )
                continue
            infos.append(
                lookup_pb2.CodeSystemInfo(
                    system=enum,
                    name=row.name,
                    version=row.version,
                    release=row.release,
                    licence=row.licence,
                    code_count=row.code_count,
                    billable_count=row.billable_count,
                    coverage=row.coverage,
                    source=row.source,
                    loaded=True,
                )
            )
        return infos

    def clinical_categories(self, body_system: str) -> list[lookup_pb2.ClinicalCategory]:
        body_system = body_system.strip().upper()
        if body_system and (len(body_system) != 3 or not body_system.isalpha()):
            raise InvalidArgument(
                "body_system", f"body_system is a 3-letter CCSR id such as END; got {body_system!r}"
            )
        return [
            lookup_pb2.ClinicalCategory(id=cid, title=title, body_system=body)
            for cid, title, body in self.repository.clinical_categories(body_system or None)
        ]

    def category_codes(
        self, category_id: str, page_size: int, page_token: str
    ) -> tuple[lookup_pb2.ClinicalCategory, list[lookup_pb2.CodeSummary], str, int]:
        wanted = category_id.strip().upper()
        if not wanted or len(wanted) > 16 or not wanted.isalnum():
            raise InvalidArgument(
                "category_id", f"category_id is a CCSR id such as END002; got {category_id!r}"
            )
        matches = [c for c in self.repository.clinical_categories(wanted[:3]) if c[0] == wanted]
        if not matches:
            raise CategoryNotFound(f"no CCSR clinical category {wanted!r}: ListClinicalCategories lists them")
        cid, title, body = matches[0]
        size = page_tokens.page_size(page_size)
        owner = page_tokens.fingerprint("category", cid)
        offset = page_tokens.decode(page_token, owner)
        rows, total = self.repository.category_members(cid, offset, size)
        next_offset = offset + len(rows)
        return (
            lookup_pb2.ClinicalCategory(id=cid, title=title, body_system=body),
            [summary(row) for row in rows],
            page_tokens.encode(next_offset, owner) if next_offset < total else "",
            total,
        )

    def guidelines(self, system: str) -> list[lookup_pb2.Guideline]:
        self._require_loaded(system)
        return [
            lookup_pb2.Guideline(id=gid, section=section, topic=topic, text=text)
            for gid, section, topic, text in self.repository.guidelines(system)
        ]


def _basic(message: lookup_pb2.Code) -> lookup_pb2.Code:
    return lookup_pb2.Code(
        system=message.system,
        code=message.code,
        title=message.title,
        kind=message.kind,
        billable=message.billable,
        parent=message.parent,
        release=message.release,
    )


def _subject(code: lookup_pb2.Code) -> PairSubject:
    return PairSubject(
        code=code.code,
        title=code.title,
        billable=code.billable,
        ancestors=tuple(a.code for a in code.ancestors),
        notes=tuple(note_record(n) for n in (*code.notes, *code.inherited_notes)),
    )
