"""The assistant's only way to the catalog: the lookup service over gRPC, with its errors typed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

import grpc
from medcode.lookup.v1 import lookup_pb2, lookup_pb2_grpc

from services.assistant.errors import LookupUnavailable
from services.common.errors import error_info

SYSTEM_TO_ENUM = {
    name: lookup_pb2.CodeSystem.Value(f"CODE_SYSTEM_{name.upper()}")
    for name in ("icd10cm", "icd10pcs", "cpt", "hcpcs", "icd9cm", "icd9pcs")
}
ENUM_TO_SYSTEM = {value: name for name, value in SYSTEM_TO_ENUM.items()}

# Statuses that mean "the lookup service is not there", as opposed to "it said no".
_UNREACHABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
DEFAULT_TIMEOUT_SECONDS = 5.0
# How long the list of loaded systems and the guidelines are kept before they are asked again.
KEEP_SECONDS = 300.0
MAX_BATCH = 1000


def system_of(code: lookup_pb2.Code | lookup_pb2.CodeSummary) -> str:
    return ENUM_TO_SYSTEM.get(code.system, "")


class NotFound(Exception):
    """A code the lookup does not have; `nearest` are the closest codes it names."""

    def __init__(self, system: str, code: str, nearest: list[str], message: str) -> None:
        super().__init__(message)
        self.system, self.code, self.nearest, self.message = system, code, nearest, message


class SystemNotLoaded(Exception):
    """CPT or HCPCS has not been imported into the catalog."""

    def __init__(self, system: str, message: str) -> None:
        super().__init__(message)
        self.system, self.message = system, message


class CatalogClient:
    """Typed calls to medcode.lookup.v1.LookupService; an unreachable service is LookupUnavailable."""

    def __init__(
        self, stub: lookup_pb2_grpc.LookupServiceStub, timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        self.stub = stub
        self.timeout = timeout
        self._guidelines: dict[str, tuple[float, list[lookup_pb2.Guideline]]] = {}
        self._loaded_systems: tuple[float, set[str]] | None = None

    async def _call(self, method, request):
        try:
            return await method(request, timeout=self.timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() in _UNREACHABLE:
                raise LookupUnavailable(
                    "the lookup service cannot be reached, so no answer can be grounded in the catalog: "
                    "try again shortly",
                    lookup_status=error.code().name,
                ) from error
            info = error_info(error)
            reason = info.reason if info else ""
            if error.code() == grpc.StatusCode.NOT_FOUND and reason == "CODE_NOT_FOUND":
                nearest = [c for c in (info.metadata.get("nearest", "") if info else "").split(",") if c]
                raise NotFound("", info.metadata.get("code", ""), nearest, error.details() or "") from error
            if error.code() == grpc.StatusCode.FAILED_PRECONDITION and reason == "CODE_SYSTEM_NOT_LOADED":
                raise SystemNotLoaded(info.metadata.get("system", ""), error.details() or "") from error
            raise

    async def get_code(self, system: str, code: str) -> lookup_pb2.Code:
        """One code in FULL view; NotFound (with the nearest codes) or SystemNotLoaded."""
        try:
            response = await self._call(
                self.stub.GetCode, lookup_pb2.GetCodeRequest(system=SYSTEM_TO_ENUM[system], code=code)
            )
        except NotFound as missing:
            missing.system = system
            raise
        return response.code

    async def batch_get(
        self, system: str, codes: Iterable[str], *, full: bool = True
    ) -> tuple[list[lookup_pb2.Code], list[str]]:
        """The codes that exist (in the order asked) and the ones that do not."""
        wanted = list(dict.fromkeys(codes))
        if not wanted:
            return [], []
        if not await self.is_loaded(system):
            return [], wanted
        found: list[lookup_pb2.Code] = []
        missing: list[str] = []
        for start in range(0, len(wanted), MAX_BATCH):
            response = await self._call(
                self.stub.BatchGetCodes,
                lookup_pb2.BatchGetCodesRequest(
                    system=SYSTEM_TO_ENUM[system],
                    codes=wanted[start : start + MAX_BATCH],
                    view=lookup_pb2.CODE_VIEW_FULL if full else lookup_pb2.CODE_VIEW_BASIC,
                ),
            )
            found.extend(response.codes)
            missing.extend(response.missing)
        return found, missing

    async def existing(self, codes_by_system: dict[str, set[str]]) -> dict[str, dict[str, lookup_pb2.Code]]:
        """For each system, the asked codes that exist, keyed by the catalog's spelling."""
        systems = [s for s, codes in codes_by_system.items() if codes]
        results = await asyncio.gather(
            *(self.batch_get(s, sorted(codes_by_system[s]), full=False) for s in systems)
        )
        return {
            system: {c.code: c for c in found} for system, (found, _) in zip(systems, results, strict=True)
        }

    async def search(
        self, query: str, systems: Iterable[str] = (), *, page_size: int = 20, billable_only: bool = False
    ) -> list[tuple[lookup_pb2.Code, float]]:
        response = await self._call(
            self.stub.SearchCodes,
            lookup_pb2.SearchCodesRequest(
                query=query[:256],
                systems=[SYSTEM_TO_ENUM[s] for s in systems],
                page_size=page_size,
                billable_only=billable_only,
                view=lookup_pb2.CODE_VIEW_BASIC,
            ),
        )
        return [(result.code, result.score) for result in response.results]

    async def crosswalk(
        self, system: str, code: str, target: str | None = None
    ) -> lookup_pb2.GetCrosswalkResponse:
        return await self._call(
            self.stub.GetCrosswalk,
            lookup_pb2.GetCrosswalkRequest(
                system=SYSTEM_TO_ENUM[system],
                code=code,
                target_system=SYSTEM_TO_ENUM[target] if target else lookup_pb2.CODE_SYSTEM_UNSPECIFIED,
            ),
        )

    async def check_pair(self, system: str, first: str, second: str) -> lookup_pb2.CheckCodePairResponse:
        return await self._call(
            self.stub.CheckCodePair,
            lookup_pb2.CheckCodePairRequest(
                system=SYSTEM_TO_ENUM[system], first_code=first, second_code=second
            ),
        )

    async def guidelines(self, system: str = "icd10pcs") -> list[lookup_pb2.Guideline]:
        """The official guidelines the catalog carries, kept for a few minutes (they change with a release)."""
        kept = self._guidelines.get(system)
        if kept is None or time.monotonic() - kept[0] > KEEP_SECONDS:
            response = await self._call(
                self.stub.ListGuidelines, lookup_pb2.ListGuidelinesRequest(system=SYSTEM_TO_ENUM[system])
            )
            kept = self._guidelines[system] = (time.monotonic(), list(response.guidelines))
        return kept[1]

    async def is_loaded(self, system: str) -> bool:
        """Whether the catalog holds `system` (CPT and HCPCS only once an operator imports them); the
        answer is kept for a few minutes, so that an import shows without a restart."""
        kept = self._loaded_systems
        if kept is None or time.monotonic() - kept[0] > KEEP_SECONDS:
            response = await self._call(self.stub.ListCodeSystems, lookup_pb2.ListCodeSystemsRequest())
            kept = self._loaded_systems = (
                time.monotonic(),
                {ENUM_TO_SYSTEM[info.system] for info in response.code_systems if info.loaded},
            )
        return system in kept[1]
