"""The gRPC adapter of the lookup service: protobuf in, catalog queries, protobuf or a status out."""

from __future__ import annotations

import logging

import grpc
from medcode.lookup.v1 import lookup_pb2, lookup_pb2_grpc

from services.common.errors import domain_error_handler
from services.lookup.codes import ENUM_TO_SYSTEM
from services.lookup.convert import code_summary, note_message
from services.lookup.errors import (
    CategoryNotFound,
    CodeNotFound,
    InvalidArgument,
    LookupError_,
    SystemNotLoaded,
)
from services.lookup.queries import Catalog, SearchRequest

log = logging.getLogger(__name__)

SERVICE_NAME = lookup_pb2.DESCRIPTOR.services_by_name["LookupService"].full_name
DOMAIN = "lookup.medcode"

# One table from domain error to gRPC status.
STATUS_OF: dict[type[LookupError_], grpc.StatusCode] = {
    InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    CodeNotFound: grpc.StatusCode.NOT_FOUND,
    CategoryNotFound: grpc.StatusCode.NOT_FOUND,
    SystemNotLoaded: grpc.StatusCode.FAILED_PRECONDITION,
}
_with_errors = domain_error_handler(STATUS_OF, DOMAIN, errors=LookupError_, service="lookup", logger=log)

_SYSTEM_CHOICES = ", ".join(lookup_pb2.CodeSystem.Name(v) for v in ENUM_TO_SYSTEM)

VERDICTS = {
    name: lookup_pb2.PairVerdict.Value(f"PAIR_VERDICT_{name.upper()}")
    for name in ("allowed", "excludes1_conflict", "allowed_with_sequencing", "allowed_excludes2", "redundant")
}
FINDINGS = {
    name: lookup_pb2.FindingKind.Value(f"FINDING_KIND_{name.upper()}")
    for name in (
        "excludes1",
        "excludes2",
        "code_first",
        "use_additional_code",
        "code_also",
        "same_hierarchy",
        "not_billable",
    )
}


def system_name(value: int, field: str = "system") -> str:
    """The catalog's name of a CodeSystem enum value, or InvalidArgument saying which are valid."""
    try:
        return ENUM_TO_SYSTEM[value]
    except KeyError:
        raise InvalidArgument(
            field,
            f"{field} is {'missing' if value == 0 else f'unknown ({value})'}: use one of {_SYSTEM_CHOICES}",
            reason="UNKNOWN_SYSTEM",
        ) from None


def _full(view: int) -> bool:
    return view == lookup_pb2.CODE_VIEW_FULL


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def get_code_response_bytes(code_payload: bytes) -> bytes:
    """GetCodeResponse{code} encoded around an already serialized Code: field 1, length-delimited."""
    return b"\x0a" + _varint(len(code_payload)) + code_payload


class LookupServicer(lookup_pb2_grpc.LookupServiceServicer):
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def GetCode(self, request, context):  # returns bytes: see build_handlers
        return get_code_response_bytes(self.catalog.code_payload(system_name(request.system), request.code))

    async def BatchGetCodes(self, request, context):
        codes, missing = self.catalog.batch_get(
            system_name(request.system),
            list(request.codes),
            full_view=request.view != lookup_pb2.CODE_VIEW_BASIC,
        )
        return lookup_pb2.BatchGetCodesResponse(codes=codes, missing=missing)

    async def SearchCodes(self, request, context):
        systems = frozenset(system_name(s, "systems") for s in request.systems) or None
        results, token, total = self.catalog.search(
            SearchRequest(
                query=request.query,
                systems=systems,
                billable_only=request.billable_only,
                page_size=request.page_size,
                page_token=request.page_token,
                full_view=_full(request.view),
            )
        )
        return lookup_pb2.SearchCodesResponse(results=results, next_page_token=token, total_size=total)

    async def ListChildren(self, request, context):
        children, token, total = self.catalog.list_children(
            system_name(request.system),
            request.code,
            request.page_size,
            request.page_token,
            _full(request.view),
        )
        return lookup_pb2.ListChildrenResponse(children=children, next_page_token=token, total_size=total)

    async def GetCrosswalk(self, request, context):
        target = system_name(request.target_system, "target_system") if request.target_system else None
        source, mappings = self.catalog.crosswalk(system_name(request.system), request.code, target)
        return lookup_pb2.GetCrosswalkResponse(source=source, mappings=mappings)

    async def CheckCodePair(self, request, context):
        first, second, verdict = self.catalog.check_pair(
            system_name(request.system), request.first_code, request.second_code
        )
        return lookup_pb2.CheckCodePairResponse(
            verdict=VERDICTS[verdict.verdict],
            first=code_summary(first),
            second=code_summary(second),
            findings=[
                lookup_pb2.PairFinding(
                    kind=FINDINGS[f.kind],
                    on_code=f.on_code,
                    about_code=f.about_code,
                    note=note_message(f.note) if f.note else None,
                    explanation=f.explanation,
                )
                for f in verdict.findings
            ],
            sequence_first=verdict.sequence_first,
            summary=verdict.summary,
        )

    async def ListCodeSystems(self, request, context):
        return lookup_pb2.ListCodeSystemsResponse(code_systems=self.catalog.code_systems())

    async def ListClinicalCategories(self, request, context):
        return lookup_pb2.ListClinicalCategoriesResponse(
            categories=self.catalog.clinical_categories(request.body_system)
        )

    async def ListCategoryCodes(self, request, context):
        category, codes, token, total = self.catalog.category_codes(
            request.category_id, request.page_size, request.page_token
        )
        return lookup_pb2.ListCategoryCodesResponse(
            category=category, codes=codes, next_page_token=token, total_size=total
        )

    async def ListGuidelines(self, request, context):
        return lookup_pb2.ListGuidelinesResponse(
            guidelines=self.catalog.guidelines(system_name(request.system))
        )


def build_handler(servicer: LookupServicer) -> grpc.GenericRpcHandler:
    """The service's method handlers: the generated ones, except GetCode sends pre-serialized bytes."""
    handlers = {}
    service = lookup_pb2.DESCRIPTOR.services_by_name["LookupService"]
    for method in service.methods:
        request_class = getattr(lookup_pb2, method.input_type.name)
        response_class = getattr(lookup_pb2, method.output_type.name)
        serializer = (
            (lambda payload: payload) if method.name == "GetCode" else response_class.SerializeToString
        )
        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            _with_errors(getattr(servicer, method.name)),
            request_deserializer=request_class.FromString,
            response_serializer=serializer,
        )
    return grpc.method_handlers_generic_handler(SERVICE_NAME, handlers)
