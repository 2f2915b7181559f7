"""The JSON the API takes and answers with, as pydantic models: they are the OpenAPI document."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gateway import convert

# Enums built from the protos' own values, so the API never drifts from the contracts.
SystemName = StrEnum("SystemName", {name: name for name in convert.SYSTEM_NAME.values()})
CodeKind = StrEnum("CodeKind", {name: name for name in convert.KIND_NAME.values()})
NoteKind = StrEnum("NoteKind", {name: name for name in convert.NOTE_KIND_NAME.values()})
PairVerdict = StrEnum("PairVerdict", {name: name for name in convert.VERDICT_NAME.values()})
FindingKind = StrEnum("FindingKind", {name: name for name in convert.FINDING_NAME.values()})
PrincipalKind = StrEnum("PrincipalKind", {name: name for name in convert.PRINCIPAL_KIND_NAME.values()})

# A code as typed: letters, digits, a dot, a dash in ranges (`E11.9`, `e119`, `E08-E13`, `0DTJ4ZZ`).
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,15}$"
CodeText = Annotated[str, StringConstraints(pattern=CODE_PATTERN, min_length=1, max_length=16)]
PAGE_TOKEN_PATTERN = r"^[A-Za-z0-9_\-]*$"
MAX_QUERY_LENGTH = 256
MAX_PAGE_SIZE = 100
RFC3339 = "date-time"


class Answer(BaseModel):
    model_config = ConfigDict(use_enum_values=True)


class CodeSummary(Answer):
    system: SystemName
    code: str = Field(examples=["E11.65"])
    title: str
    kind: CodeKind | None = Field(description="Null only for a crosswalk target missing from the catalog.")
    billable: bool


class Note(Answer):
    kind: NoteKind | None
    text: str
    codes: list[str] = Field(description="The codes the note refers to, as written (`E08.-`, `O00-O9A`).")
    source: str = Field(description="For an inherited note: the code, block or chapter that carries it.")


class PcsCharacter(Answer):
    position: int = Field(ge=1, le=7)
    axis: str
    value: str
    meaning: str
    definition: str
    explanation: str
    examples: str


class ClinicalCategory(Answer):
    id: str = Field(examples=["END002"])
    title: str
    body_system: str
    is_default: bool


class CrosswalkMapping(Answer):
    source: CodeSummary
    target: CodeSummary
    approximate: bool
    no_map: bool
    combination: bool
    scenario: int
    choice_list: int
    gem: str = Field(description="The GEM file the row comes from.")


class CodePage(CodeSummary):
    """A code's page: everything the catalog knows of it, its place in the hierarchy, its crosswalks."""

    short_title: str
    lay_description: str = Field(description="The title in plain words, for patients and new coders.")
    parent: str
    release: str
    licence: str = Field(description="The licence or copyright line that must be shown with the code.")
    notes: list[Note]
    inherited_notes: list[Note]
    ancestors: list[CodeSummary] = Field(description="From the top of the hierarchy down to the parent.")
    children: list[CodeSummary]
    pcs_characters: list[PcsCharacter]
    clinical_categories: list[ClinicalCategory]
    data_warnings: list[str]
    billable_descendant_count: int
    crosswalks: list[CrosswalkMapping] = Field(
        description="ICD-9-CM <-> ICD-10-CM and ICD-9-CM procedures <-> ICD-10-PCS (CMS GEMs)."
    )


class SearchPage(Answer):
    results: list[CodeSummary]
    next_page_token: str = Field(description="Pass back as page_token for the next page; empty at the end.")
    total_size: int


class ChildrenPage(Answer):
    children: list[CodeSummary]
    next_page_token: str
    total_size: int


class Crosswalk(Answer):
    source: CodeSummary
    mappings: list[CrosswalkMapping]


class PairCheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system: SystemName
    first_code: CodeText
    second_code: CodeText


class PairFinding(Answer):
    kind: FindingKind
    on_code: str
    about_code: str
    note: Note | None
    explanation: str


class PairCheck(Answer):
    verdict: PairVerdict
    first: CodeSummary
    second: CodeSummary
    findings: list[PairFinding]
    sequence_first: str = Field(description="When a sequencing note applies: the code to list first.")
    summary: str


class CodeSystemInfo(Answer):
    system: SystemName
    name: str
    version: str
    release: str
    licence: str
    code_count: int
    billable_count: int
    coverage: str
    source: str
    loaded: bool


class CodeSystems(Answer):
    code_systems: list[CodeSystemInfo]


class ClinicalCategories(Answer):
    categories: list[ClinicalCategory]


class CategoryCodes(Answer):
    category: ClinicalCategory
    codes: list[CodeSummary]
    next_page_token: str
    total_size: int


class Guideline(Answer):
    id: str
    section: str
    topic: str
    text: str


class Guidelines(Answer):
    guidelines: list[Guideline]


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(
        min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$", examples=["ana@example.org"]
    )
    password: str = Field(min_length=1, max_length=1024, examples=["amber tulip harbour 42"])


class Account(Answer):
    id: str
    email: str
    plan: str
    create_time: str = Field(json_schema_extra={"format": RFC3339})


class SignedIn(Answer):
    account: Account
    session_token: str = Field(description="Send as `Authorization: Bearer <token>`; browsers get a cookie.")
    expire_time: str = Field(json_schema_extra={"format": RFC3339})


class Principal(Answer):
    kind: PrincipalKind
    id: str
    email: str | None
    plan: str
    expire_time: str = Field(json_schema_extra={"format": RFC3339})


class Quota(Answer):
    limit: int | None = Field(description="Code page views per period; null when unlimited.")
    used: int
    remaining: int | None = Field(description="Views left in the period; null when unlimited.")
    unlimited: bool
    period_start: str = Field(json_schema_extra={"format": RFC3339})
    period_end: str = Field(json_schema_extra={"format": RFC3339})


class Me(Answer):
    principal: Principal
    plan: str
    quota: Quota


class Health(Answer):
    status: str


class Readiness(Answer):
    status: str
    backends: dict[str, str] = Field(description="Each backend's grpc.health.v1 status.")
