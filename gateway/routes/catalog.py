"""What the catalog holds: code systems, their top level, CCSR clinical categories, guidelines (free)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from medcode.lookup.v1 import lookup_pb2

from gateway import convert
from gateway.clients import LOOKUP
from gateway.context import GatewayDep
from gateway.problems import problem_responses
from gateway.routes.common import PageSize, PageToken
from gateway.schemas import (
    CategoryCodes,
    ChildrenPage,
    ClinicalCategories,
    CodeSystems,
    Guidelines,
    SystemName,
)

router = APIRouter(tags=["catalog"])
BodySystem = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z]{3}$", description="A CCSR body system (`END`); all when absent.", examples=["END"]
    ),
]
CategoryId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9]{1,16}$", description="A CCSR category id.", examples=["END002"])
]


@router.get(
    "/v1/code-systems",
    response_model=CodeSystems,
    summary="The code systems loaded",
    responses=problem_responses(),
)
async def code_systems(gw: GatewayDep) -> dict:
    answer = await gw.clients.call(LOOKUP, "ListCodeSystems", lookup_pb2.ListCodeSystemsRequest())
    return {"code_systems": [convert.code_system(info) for info in answer.code_systems]}


@router.get(
    "/v1/code-systems/{system}/chapters",
    response_model=ChildrenPage,
    summary="The top level of a system: its chapters (PCS: sections)",
    responses=problem_responses(),
)
async def chapters(
    gw: GatewayDep, system: SystemName, page_size: PageSize = 100, page_token: PageToken = ""
) -> dict:
    answer = await gw.clients.call(
        LOOKUP,
        "ListChildren",
        lookup_pb2.ListChildrenRequest(
            system=convert.SYSTEM_ENUM[system.value], page_size=page_size, page_token=page_token
        ),
    )
    return {
        "children": [convert.summary(c) for c in answer.children],
        "next_page_token": answer.next_page_token,
        "total_size": answer.total_size,
    }


@router.get(
    "/v1/clinical-categories",
    response_model=ClinicalCategories,
    summary="The CCSR clinical categories, to browse ICD-10-CM by clinical category",
    responses=problem_responses(),
)
async def clinical_categories(gw: GatewayDep, body_system: BodySystem = None) -> dict:
    answer = await gw.clients.call(
        LOOKUP,
        "ListClinicalCategories",
        lookup_pb2.ListClinicalCategoriesRequest(body_system=body_system or ""),
    )
    return {"categories": [convert.clinical_category(c) for c in answer.categories]}


@router.get(
    "/v1/clinical-categories/{category_id}/codes",
    response_model=CategoryCodes,
    summary="The ICD-10-CM codes of one CCSR clinical category",
    responses=problem_responses(404),
)
async def category_codes(
    gw: GatewayDep, category_id: CategoryId, page_size: PageSize = 100, page_token: PageToken = ""
) -> dict:
    answer = await gw.clients.call(
        LOOKUP,
        "ListCategoryCodes",
        lookup_pb2.ListCategoryCodesRequest(
            category_id=category_id, page_size=page_size, page_token=page_token
        ),
    )
    return {
        "category": convert.clinical_category(answer.category),
        "codes": [convert.summary(c) for c in answer.codes],
        "next_page_token": answer.next_page_token,
        "total_size": answer.total_size,
    }


@router.get(
    "/v1/guidelines/{system}",
    response_model=Guidelines,
    summary="The official guidelines the catalog carries for a system (ICD-10-PCS)",
    responses=problem_responses(),
)
async def guidelines(gw: GatewayDep, system: SystemName) -> dict:
    answer = await gw.clients.call(
        LOOKUP, "ListGuidelines", lookup_pb2.ListGuidelinesRequest(system=convert.SYSTEM_ENUM[system.value])
    )
    return {"guidelines": [convert.guideline(g) for g in answer.guidelines]}
