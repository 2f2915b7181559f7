from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CodeSystem(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CODE_SYSTEM_UNSPECIFIED: _ClassVar[CodeSystem]
    CODE_SYSTEM_ICD10CM: _ClassVar[CodeSystem]
    CODE_SYSTEM_ICD10PCS: _ClassVar[CodeSystem]
    CODE_SYSTEM_CPT: _ClassVar[CodeSystem]
    CODE_SYSTEM_HCPCS: _ClassVar[CodeSystem]
    CODE_SYSTEM_ICD9CM: _ClassVar[CodeSystem]
    CODE_SYSTEM_ICD9PCS: _ClassVar[CodeSystem]

class CodeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CODE_KIND_UNSPECIFIED: _ClassVar[CodeKind]
    CODE_KIND_CHAPTER: _ClassVar[CodeKind]
    CODE_KIND_BLOCK: _ClassVar[CodeKind]
    CODE_KIND_CATEGORY: _ClassVar[CodeKind]
    CODE_KIND_SUBCATEGORY: _ClassVar[CodeKind]
    CODE_KIND_CODE: _ClassVar[CodeKind]
    CODE_KIND_TABLE: _ClassVar[CodeKind]

class NoteKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOTE_KIND_UNSPECIFIED: _ClassVar[NoteKind]
    NOTE_KIND_INCLUDES: _ClassVar[NoteKind]
    NOTE_KIND_INCLUSION_TERM: _ClassVar[NoteKind]
    NOTE_KIND_EXCLUDES1: _ClassVar[NoteKind]
    NOTE_KIND_EXCLUDES2: _ClassVar[NoteKind]
    NOTE_KIND_CODE_FIRST: _ClassVar[NoteKind]
    NOTE_KIND_USE_ADDITIONAL_CODE: _ClassVar[NoteKind]
    NOTE_KIND_CODE_ALSO: _ClassVar[NoteKind]
    NOTE_KIND_SEVENTH_CHARACTER: _ClassVar[NoteKind]
    NOTE_KIND_NOTE: _ClassVar[NoteKind]

class CodeView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CODE_VIEW_UNSPECIFIED: _ClassVar[CodeView]
    CODE_VIEW_BASIC: _ClassVar[CodeView]
    CODE_VIEW_FULL: _ClassVar[CodeView]

class PairVerdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAIR_VERDICT_UNSPECIFIED: _ClassVar[PairVerdict]
    PAIR_VERDICT_ALLOWED: _ClassVar[PairVerdict]
    PAIR_VERDICT_EXCLUDES1_CONFLICT: _ClassVar[PairVerdict]
    PAIR_VERDICT_ALLOWED_WITH_SEQUENCING: _ClassVar[PairVerdict]
    PAIR_VERDICT_ALLOWED_EXCLUDES2: _ClassVar[PairVerdict]
    PAIR_VERDICT_REDUNDANT: _ClassVar[PairVerdict]

class FindingKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FINDING_KIND_UNSPECIFIED: _ClassVar[FindingKind]
    FINDING_KIND_EXCLUDES1: _ClassVar[FindingKind]
    FINDING_KIND_EXCLUDES2: _ClassVar[FindingKind]
    FINDING_KIND_CODE_FIRST: _ClassVar[FindingKind]
    FINDING_KIND_USE_ADDITIONAL_CODE: _ClassVar[FindingKind]
    FINDING_KIND_CODE_ALSO: _ClassVar[FindingKind]
    FINDING_KIND_SAME_HIERARCHY: _ClassVar[FindingKind]
    FINDING_KIND_NOT_BILLABLE: _ClassVar[FindingKind]
CODE_SYSTEM_UNSPECIFIED: CodeSystem
CODE_SYSTEM_ICD10CM: CodeSystem
CODE_SYSTEM_ICD10PCS: CodeSystem
CODE_SYSTEM_CPT: CodeSystem
CODE_SYSTEM_HCPCS: CodeSystem
CODE_SYSTEM_ICD9CM: CodeSystem
CODE_SYSTEM_ICD9PCS: CodeSystem
CODE_KIND_UNSPECIFIED: CodeKind
CODE_KIND_CHAPTER: CodeKind
CODE_KIND_BLOCK: CodeKind
CODE_KIND_CATEGORY: CodeKind
CODE_KIND_SUBCATEGORY: CodeKind
CODE_KIND_CODE: CodeKind
CODE_KIND_TABLE: CodeKind
NOTE_KIND_UNSPECIFIED: NoteKind
NOTE_KIND_INCLUDES: NoteKind
NOTE_KIND_INCLUSION_TERM: NoteKind
NOTE_KIND_EXCLUDES1: NoteKind
NOTE_KIND_EXCLUDES2: NoteKind
NOTE_KIND_CODE_FIRST: NoteKind
NOTE_KIND_USE_ADDITIONAL_CODE: NoteKind
NOTE_KIND_CODE_ALSO: NoteKind
NOTE_KIND_SEVENTH_CHARACTER: NoteKind
NOTE_KIND_NOTE: NoteKind
CODE_VIEW_UNSPECIFIED: CodeView
CODE_VIEW_BASIC: CodeView
CODE_VIEW_FULL: CodeView
PAIR_VERDICT_UNSPECIFIED: PairVerdict
PAIR_VERDICT_ALLOWED: PairVerdict
PAIR_VERDICT_EXCLUDES1_CONFLICT: PairVerdict
PAIR_VERDICT_ALLOWED_WITH_SEQUENCING: PairVerdict
PAIR_VERDICT_ALLOWED_EXCLUDES2: PairVerdict
PAIR_VERDICT_REDUNDANT: PairVerdict
FINDING_KIND_UNSPECIFIED: FindingKind
FINDING_KIND_EXCLUDES1: FindingKind
FINDING_KIND_EXCLUDES2: FindingKind
FINDING_KIND_CODE_FIRST: FindingKind
FINDING_KIND_USE_ADDITIONAL_CODE: FindingKind
FINDING_KIND_CODE_ALSO: FindingKind
FINDING_KIND_SAME_HIERARCHY: FindingKind
FINDING_KIND_NOT_BILLABLE: FindingKind

class Note(_message.Message):
    __slots__ = ("kind", "text", "codes", "source")
    KIND_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CODES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    kind: NoteKind
    text: str
    codes: _containers.RepeatedScalarFieldContainer[str]
    source: str
    def __init__(self, kind: _Optional[_Union[NoteKind, str]] = ..., text: _Optional[str] = ..., codes: _Optional[_Iterable[str]] = ..., source: _Optional[str] = ...) -> None: ...

class CodeSummary(_message.Message):
    __slots__ = ("system", "code", "title", "kind", "billable")
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BILLABLE_FIELD_NUMBER: _ClassVar[int]
    system: CodeSystem
    code: str
    title: str
    kind: CodeKind
    billable: bool
    def __init__(self, system: _Optional[_Union[CodeSystem, str]] = ..., code: _Optional[str] = ..., title: _Optional[str] = ..., kind: _Optional[_Union[CodeKind, str]] = ..., billable: _Optional[bool] = ...) -> None: ...

class PcsCharacter(_message.Message):
    __slots__ = ("position", "axis", "value", "meaning", "definition", "explanation", "examples")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    AXIS_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    MEANING_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    position: int
    axis: str
    value: str
    meaning: str
    definition: str
    explanation: str
    examples: str
    def __init__(self, position: _Optional[int] = ..., axis: _Optional[str] = ..., value: _Optional[str] = ..., meaning: _Optional[str] = ..., definition: _Optional[str] = ..., explanation: _Optional[str] = ..., examples: _Optional[str] = ...) -> None: ...

class ClinicalCategory(_message.Message):
    __slots__ = ("id", "title", "body_system", "is_default")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BODY_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    body_system: str
    is_default: bool
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., body_system: _Optional[str] = ..., is_default: _Optional[bool] = ...) -> None: ...

class Code(_message.Message):
    __slots__ = ("system", "code", "title", "lay_description", "kind", "billable", "parent", "notes", "inherited_notes", "release", "short_title", "ancestors", "children", "pcs_characters", "clinical_categories", "licence", "data_warnings", "billable_descendant_count")
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    LAY_DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    BILLABLE_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    INHERITED_NOTES_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    SHORT_TITLE_FIELD_NUMBER: _ClassVar[int]
    ANCESTORS_FIELD_NUMBER: _ClassVar[int]
    CHILDREN_FIELD_NUMBER: _ClassVar[int]
    PCS_CHARACTERS_FIELD_NUMBER: _ClassVar[int]
    CLINICAL_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    LICENCE_FIELD_NUMBER: _ClassVar[int]
    DATA_WARNINGS_FIELD_NUMBER: _ClassVar[int]
    BILLABLE_DESCENDANT_COUNT_FIELD_NUMBER: _ClassVar[int]
    system: CodeSystem
    code: str
    title: str
    lay_description: str
    kind: CodeKind
    billable: bool
    parent: str
    notes: _containers.RepeatedCompositeFieldContainer[Note]
    inherited_notes: _containers.RepeatedCompositeFieldContainer[Note]
    release: str
    short_title: str
    ancestors: _containers.RepeatedCompositeFieldContainer[CodeSummary]
    children: _containers.RepeatedCompositeFieldContainer[CodeSummary]
    pcs_characters: _containers.RepeatedCompositeFieldContainer[PcsCharacter]
    clinical_categories: _containers.RepeatedCompositeFieldContainer[ClinicalCategory]
    licence: str
    data_warnings: _containers.RepeatedScalarFieldContainer[str]
    billable_descendant_count: int
    def __init__(self, system: _Optional[_Union[CodeSystem, str]] = ..., code: _Optional[str] = ..., title: _Optional[str] = ..., lay_description: _Optional[str] = ..., kind: _Optional[_Union[CodeKind, str]] = ..., billable: _Optional[bool] = ..., parent: _Optional[str] = ..., notes: _Optional[_Iterable[_Union[Note, _Mapping]]] = ..., inherited_notes: _Optional[_Iterable[_Union[Note, _Mapping]]] = ..., release: _Optional[str] = ..., short_title: _Optional[str] = ..., ancestors: _Optional[_Iterable[_Union[CodeSummary, _Mapping]]] = ..., children: _Optional[_Iterable[_Union[CodeSummary, _Mapping]]] = ..., pcs_characters: _Optional[_Iterable[_Union[PcsCharacter, _Mapping]]] = ..., clinical_categories: _Optional[_Iterable[_Union[ClinicalCategory, _Mapping]]] = ..., licence: _Optional[str] = ..., data_warnings: _Optional[_Iterable[str]] = ..., billable_descendant_count: _Optional[int] = ...) -> None: ...

class GetCodeRequest(_message.Message):
    __slots__ = ("system", "code")
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    system: CodeSystem
    code: str
    def __init__(self, system: _Optional[_Union[CodeSystem, str]] = ..., code: _Optional[str] = ...) -> None: ...

class GetCodeResponse(_message.Message):
    __slots__ = ("code",)
    CODE_FIELD_NUMBER: _ClassVar[int]
    code: Code
    def __init__(self, code: _Optional[_Union[Code, _Mapping]] = ...) -> None: ...

class BatchGetCodesRequest(_message.Message):
    __slots__ = ("system", "codes", "view")
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    CODES_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    system: CodeSystem
    codes: _containers.RepeatedScalarFieldContainer[str]
    view: CodeView
    def __init__(self, system: _Optional[_Union[CodeSystem, str]] = ..., codes: _Optional[_Iterable[str]] = ..., view: _Optional[_Union[CodeView, str]] = ...) -> None: ...

class BatchGetCodesResponse(_message.Message):
    __slots__ = ("codes", "missing")
    CODES_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    codes: _containers.RepeatedCompositeFieldContainer[Code]
    missing: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, codes: _Optional[_Iterable[_Union[Code, _Mapping]]] = ..., missing: _Optional[_Iterable[str]] = ...) -> None: ...

class SearchCodesRequest(_message.Message):
    __slots__ = ("query", "systems", "billable_only", "page_size", "page_token", "view")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    SYSTEMS_FIELD_NUMBER: _ClassVar[int]
    BILLABLE_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    query: str
    systems: _containers.RepeatedScalarFieldContainer[CodeSystem]
    billable_only: bool
    page_size: int
    page_token: str
    view: CodeView
    def __init__(self, query: _Optional[str] = ..., systems: _Optional[_Iterable[_Union[CodeSystem, str]]] = ..., billable_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., view: _Optional[_Union[CodeView, str]] = ...) -> None: ...

class SearchResult(_message.Message):
    __slots__ = ("code", "score")
    CODE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    code: Code
    score: float
    def __init__(self, code: _Optional[_Union[Code, _Mapping]] = ..., score: _Optional[float] = ...) -> None: ...

class SearchCodesResponse(_message.Message):
    __slots__ = ("results", "next_page_token", "total_size")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SearchResult]
    next_page_token: str
    total_size: int
    def __init__(self, results: _Optional[_Iterable[_Union[SearchResult, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class ListChildrenRequest(_message.Message):
    __slots__ = ("system", "code", "page_size", "page_token", "view")
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    system: CodeSystem
    code: str
    page_size: int
    page_token: str
    view: CodeView
    def __init__(self, system: _Optional[_Union[CodeSystem, str]] = ..., code: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., view: _Optional[_Union[CodeView, str]] = ...) -> None: ...

class ListChildrenResponse(_message.Message):
    __slots__ = ("children", "next_page_token", "total_size")
    CHILDREN_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    children: _containers.RepeatedCompositeFieldContainer[Code]
    next_page_token: str
    total_size: int
    def __init__(self, children: _Optional[_Iterable[_Union[Code, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class CrosswalkMapping(_message.Message):
    __slots__ = ("source", "target", "approximate", "no_map", "combination", "scenario", "choice_list", "gem", "target_not_in_catalog")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    APPROXIMATE_FIELD_NUMBER: _ClassVar[int]
    NO_MAP_FIELD_NUMBER: _ClassVar[int]
    COMBINATION_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_FIELD_NUMBER: _ClassVar[int]
    CHOICE_LIST_FIELD_NUMBER: _ClassVar[int]
    GEM_FIELD_NUMBER: _ClassVar[int]
    TARGET_NOT_IN_CATALOG_FIELD_NUMBER: _ClassVar[int]
    source: CodeSummary
    target: CodeSummary
    approximate: bool
    no_map: bool
    combination: bool
    scenario: int
    choice_list: int
    gem: str
    target_not_in_catalog: bool
    def __init__(self, source: _Optional[_Union[CodeSummary, _Mapping]] = ..., target: _Optional[_Union[CodeSummary, _Mapping]] = ..., approximate: _Optional[bool] = ..., no_map: _Optional[bool] = ..., combination: _Optional[bool] = ..., scenario: _Optional[int] = ..., choice_list: _Optional[int] = ..., gem: _Optional[str] = ..., target_not_in_catalog: _Optional[bool] = ...) -> None: ...

class GetCrosswalkRequest(_message.Message):
    __slots__ = ("system", "code", "target_system")
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    TARGET_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    system: CodeSystem
    code: str
    target_system: CodeSystem
    def __init__(self, system: _Optional[_Union[CodeSystem, str]] = ..., code: _Optional[str] = ..., target_system: _Optional[_Union[CodeSystem, str]] = ...) -> None: ...

class GetCrosswalkResponse(_message.Message):
    __slots__ = ("source", "mappings")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    MAPPINGS_FIELD_NUMBER: _ClassVar[int]
    source: CodeSummary
    mappings: _containers.RepeatedCompositeFieldContainer[CrosswalkMapping]
    def __init__(self, source: _Optional[_Union[CodeSummary, _Mapping]] = ..., mappings: _Optional[_Iterable[_Union[CrosswalkMapping, _Mapping]]] = ...) -> None: ...

class PairFinding(_message.Message):
    __slots__ = ("kind", "on_code", "about_code", "note", "explanation")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ON_CODE_FIELD_NUMBER: _ClassVar[int]
    ABOUT_CODE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    kind: FindingKind
    on_code: str
    about_code: str
    note: Note
    explanation: str
    def __init__(self, kind: _Optional[_Union[FindingKind, str]] = ..., on_code: _Optional[str] = ..., about_code: _Optional[str] = ..., note: _Optional[_Union[Note, _Mapping]] = ..., explanation: _Optional[str] = ...) -> None: ...

class CheckCodePairRequest(_message.Message):
    __slots__ = ("system", "first_code", "second_code")
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    FIRST_CODE_FIELD_NUMBER: _ClassVar[int]
    SECOND_CODE_FIELD_NUMBER: _ClassVar[int]
    system: CodeSystem
    first_code: str
    second_code: str
    def __init__(self, system: _Optional[_Union[CodeSystem, str]] = ..., first_code: _Optional[str] = ..., second_code: _Optional[str] = ...) -> None: ...

class CheckCodePairResponse(_message.Message):
    __slots__ = ("verdict", "first", "second", "findings", "sequence_first", "summary")
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    FIRST_FIELD_NUMBER: _ClassVar[int]
    SECOND_FIELD_NUMBER: _ClassVar[int]
    FINDINGS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIRST_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    verdict: PairVerdict
    first: CodeSummary
    second: CodeSummary
    findings: _containers.RepeatedCompositeFieldContainer[PairFinding]
    sequence_first: str
    summary: str
    def __init__(self, verdict: _Optional[_Union[PairVerdict, str]] = ..., first: _Optional[_Union[CodeSummary, _Mapping]] = ..., second: _Optional[_Union[CodeSummary, _Mapping]] = ..., findings: _Optional[_Iterable[_Union[PairFinding, _Mapping]]] = ..., sequence_first: _Optional[str] = ..., summary: _Optional[str] = ...) -> None: ...

class CodeSystemInfo(_message.Message):
    __slots__ = ("system", "name", "version", "release", "licence", "code_count", "billable_count", "coverage", "source", "loaded")
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    LICENCE_FIELD_NUMBER: _ClassVar[int]
    CODE_COUNT_FIELD_NUMBER: _ClassVar[int]
    BILLABLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    LOADED_FIELD_NUMBER: _ClassVar[int]
    system: CodeSystem
    name: str
    version: str
    release: str
    licence: str
    code_count: int
    billable_count: int
    coverage: str
    source: str
    loaded: bool
    def __init__(self, system: _Optional[_Union[CodeSystem, str]] = ..., name: _Optional[str] = ..., version: _Optional[str] = ..., release: _Optional[str] = ..., licence: _Optional[str] = ..., code_count: _Optional[int] = ..., billable_count: _Optional[int] = ..., coverage: _Optional[str] = ..., source: _Optional[str] = ..., loaded: _Optional[bool] = ...) -> None: ...

class ListCodeSystemsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCodeSystemsResponse(_message.Message):
    __slots__ = ("code_systems",)
    CODE_SYSTEMS_FIELD_NUMBER: _ClassVar[int]
    code_systems: _containers.RepeatedCompositeFieldContainer[CodeSystemInfo]
    def __init__(self, code_systems: _Optional[_Iterable[_Union[CodeSystemInfo, _Mapping]]] = ...) -> None: ...

class ListClinicalCategoriesRequest(_message.Message):
    __slots__ = ("body_system",)
    BODY_SYSTEM_FIELD_NUMBER: _ClassVar[int]
    body_system: str
    def __init__(self, body_system: _Optional[str] = ...) -> None: ...

class ListClinicalCategoriesResponse(_message.Message):
    __slots__ = ("categories",)
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedCompositeFieldContainer[ClinicalCategory]
    def __init__(self, categories: _Optional[_Iterable[_Union[ClinicalCategory, _Mapping]]] = ...) -> None: ...

class ListCategoryCodesRequest(_message.Message):
    __slots__ = ("category_id", "page_size", "page_token")
    CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    category_id: str
    page_size: int
    page_token: str
    def __init__(self, category_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCategoryCodesResponse(_message.Message):
    __slots__ = ("category", "codes", "next_page_token", "total_size")
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CODES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    category: ClinicalCategory
    codes: _containers.RepeatedCompositeFieldContainer[CodeSummary]
    next_page_token: str
    total_size: int
    def __init__(self, category: _Optional[_Union[ClinicalCategory, _Mapping]] = ..., codes: _Optional[_Iterable[_Union[CodeSummary, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size: _Optional[int] = ...) -> None: ...

class Guideline(_message.Message):
    __slots__ = ("id", "section", "topic", "text")
    ID_FIELD_NUMBER: _ClassVar[int]
    SECTION_FIELD_NUMBER: _ClassVar[int]
    TOPIC_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    id: str
    section: str
    topic: str
    text: str
    def __init__(self, id: _Optional[str] = ..., section: _Optional[str] = ..., topic: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class ListGuidelinesRequest(_message.Message):
    __slots__ = ("system",)
    SYSTEM_FIELD_NUMBER: _ClassVar[int]
    system: CodeSystem
    def __init__(self, system: _Optional[_Union[CodeSystem, str]] = ...) -> None: ...

class ListGuidelinesResponse(_message.Message):
    __slots__ = ("guidelines",)
    GUIDELINES_FIELD_NUMBER: _ClassVar[int]
    guidelines: _containers.RepeatedCompositeFieldContainer[Guideline]
    def __init__(self, guidelines: _Optional[_Iterable[_Union[Guideline, _Mapping]]] = ...) -> None: ...
