"""The catalog's plain records: what loaders produce and the build stores. No transport, no database."""

from __future__ import annotations

from dataclasses import dataclass, field

# Code systems as the gateway writes them; the proto enum is CODE_SYSTEM_<upper>.
SYSTEMS = ("icd10cm", "icd10pcs", "cpt", "hcpcs", "icd9cm", "icd9pcs")

# Kinds of items (CodeKind without its prefix, lower case).
KINDS = ("chapter", "block", "category", "subcategory", "code", "table")

# Note kinds (NoteKind without its prefix, lower case).
NOTE_KINDS = (
    "includes",
    "inclusion_term",
    "excludes1",
    "excludes2",
    "code_first",
    "use_additional_code",
    "code_also",
    "seventh_character",
    "note",
)

# Notes that apply to everything below the item that carries them. Inclusion terms describe the
# item itself, so they stay where they are.
INHERITED_NOTE_KINDS = frozenset(
    {
        "includes",
        "excludes1",
        "excludes2",
        "code_first",
        "use_additional_code",
        "code_also",
        "seventh_character",
        "note",
    }
)


@dataclass(frozen=True)
class NoteRecord:
    kind: str  # one of NOTE_KINDS
    text: str
    codes: tuple[str, ...] = ()  # codes referred to, as written: "E08.-", "E11.A", "O00-O9A"
    source: str = ""  # on inherited notes: the ancestor that carries it


@dataclass(frozen=True)
class PcsCharacterRecord:
    position: int  # 1..7
    axis: str
    value: str
    meaning: str
    definition: str = ""
    explanation: str = ""
    examples: str = ""


@dataclass
class CodeRecord:
    """One item of a code system as a loader reads it; the build derives children and ancestors."""

    system: str  # one of SYSTEMS
    code: str  # as the publisher writes it: "E11.9", "0DTJ4ZZ", "E08-E13", "4"
    title: str
    kind: str  # one of KINDS
    billable: bool
    parent: str | None  # code of the parent item in the same system; None at the top
    release: str  # "ICD-10-CM FY2026 (April 1, 2026)"
    short_title: str = ""
    # The item's own notes. The notes it inherits are its ancestors' own notes of the kinds in
    # INHERITED_NOTE_KINDS, assembled when the code is read (storing them on every descendant
    # would multiply the catalog's size).
    notes: list[NoteRecord] = field(default_factory=list)
    # Extra words a search should match (index entries, synonyms from the carrier), besides the
    # title and inclusion terms.
    search_terms: list[str] = field(default_factory=list)
    pcs_characters: list[PcsCharacterRecord] = field(default_factory=list)
    data_warnings: list[str] = field(default_factory=list)
    lay_description: str = ""


@dataclass(frozen=True)
class CrosswalkRecord:
    """One row of a GEM: source -> target with its flags."""

    source_system: str
    source_code: str
    target_system: str
    target_code: str  # "" when no_map
    approximate: bool
    no_map: bool
    combination: bool
    scenario: int
    choice_list: int
    gem: str  # which file: "ICD-9-CM to ICD-10-CM (2018 GEM)"


@dataclass(frozen=True)
class ClinicalCategoryRecord:
    id: str  # "END002"
    title: str
    body_system: str  # "END"


@dataclass(frozen=True)
class CategoryMemberRecord:
    category_id: str
    system: str
    code: str
    is_default: bool = False


@dataclass(frozen=True)
class GuidelineRecord:
    system: str
    id: str
    section: str
    topic: str
    text: str


@dataclass
class SystemRecord:
    """A code system's identity: the version decides whether a rebuild replaces what is stored."""

    system: str
    name: str  # "ICD-10-CM"
    version: str  # sortable: "2026.04" (FY2026 April release)
    release: str  # "FY2026 (April 1, 2026)"
    licence: str
    coverage: str
    source: str  # "simple-icd-10-cm 1.5.0: CDC tabular XML icd10c-tabular-April-1-2026.xml"


@dataclass
class SystemData:
    """Everything one loader contributes for one code system."""

    info: SystemRecord
    codes: list[CodeRecord]
    crosswalks: list[CrosswalkRecord] = field(default_factory=list)
    categories: list[ClinicalCategoryRecord] = field(default_factory=list)
    category_members: list[CategoryMemberRecord] = field(default_factory=list)
    guidelines: list[GuidelineRecord] = field(default_factory=list)
