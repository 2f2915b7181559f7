"""Which code fits a description: the best candidates, what tells them apart, the detail still missing."""

from __future__ import annotations

import re

from medcode.lookup.v1 import lookup_pb2

from services.assistant.answers import Answer, AnswerWriter, billable_words, label
from services.assistant.catalog_client import CatalogClient, system_of
from services.assistant.code_axes import AXIS_NAMES, extra_words, fit, read_axes, word_overlap
from services.assistant.code_mentions import code_key
from services.assistant.question_cues import Refinement

SEARCH_PAGE = 30
MAX_FAMILY = 60
MAX_FRONTIER = 12
OTHER_CANDIDATES = 5
MAX_VALUES = 6
ASK = {
    "laterality": "which side (right, left, bilateral or unspecified)",
    "encounter": "which encounter (initial, subsequent or sequela)",
    "complication": "whether the condition is with or without the complication the titles name",
    "approach": "the approach (open, percutaneous, endoscopic, through a natural opening…)",
}


async def family_codes(catalog: CatalogClient, code: lookup_pb2.Code) -> list[lookup_pb2.CodeSummary]:
    """The billable codes of the code's family: its parent's subtree (for a code with a 7th
    character, its grandparent's, since the parent only holds the 7th-character variants).

    Children are read from the parents' pages (BatchGetCodes, one call per level): the pages carry
    them already, and one batch is cheaper than a ListChildren per parent."""
    system = system_of(code)
    if system == "icd10pcs":
        (table,), _ = await catalog.batch_get(system, [code.code[:3]])
        return [row for row in table.children if row.billable and row.code[:4] == code.code[:4]][:MAX_FAMILY]
    root = code.parent
    if system == "icd10cm" and len(code_key(code.code)) == 7 and len(code_key(root)) == 6:
        key = code_key(root)[:5]
        root = f"{key[:3]}.{key[3:]}"
    if not root:
        return [code]
    found: list[lookup_pb2.CodeSummary] = []
    frontier = [root]
    # Two levels reach every variant that differs by side, encounter or with/without (S83.51 ->
    # S83.511 -> S83.511A).
    for _depth in range(2):
        parents, _ = await catalog.batch_get(system, frontier)
        next_frontier: list[str] = []
        for child in (child for parent in parents for child in parent.children):
            if child.billable:
                found.append(child)
            else:
                next_frontier.append(child.code)
        if len(found) >= MAX_FAMILY or not next_frontier:
            break
        frontier = next_frontier[:MAX_FRONTIER]
    return found[:MAX_FAMILY] or [code]


def axes_of_variants(
    best: lookup_pb2.Code, family: list[lookup_pb2.Code]
) -> dict[str, dict[str, lookup_pb2.Code]]:
    """For each axis on which the best code's variants differ: value -> the variant that differs
    from the best code on that axis only."""
    if system_of(best) == "icd10pcs":
        return _pcs_axes(best, family)
    sides = any(read_axes(c.title, False).laterality for c in family)
    mine = read_axes(best.title, sides)
    variants = [c for c in family if read_axes(c.title, sides).base == mine.base]
    axes: dict[str, dict[str, lookup_pb2.Code]] = {}
    for axis in ("laterality", "encounter", "complication"):
        values: dict[str, lookup_pb2.Code] = {}
        for variant in variants:
            theirs = read_axes(variant.title, sides)
            same_elsewhere = all(
                getattr(theirs, other) == getattr(mine, other)
                for other in ("laterality", "encounter", "complication")
                if other != axis
            )
            value = getattr(theirs, axis)
            if same_elsewhere and value and value not in values:
                values[value] = variant
        if len(values) > 1:
            axes[axis] = values
    return axes


PCS_AXES = {5: "approach", 6: "device", 7: "qualifier"}


def _pcs_axes(best: lookup_pb2.Code, family: list) -> dict[str, dict[str, lookup_pb2.Code]]:
    """PCS codes of one table and body part differ by approach, device and qualifier (characters
    5-7); each value is named by the part of the title that is the variant's own."""
    axes: dict[str, dict[str, lookup_pb2.Code]] = {}
    for position, axis in PCS_AXES.items():
        others = [p - 1 for p in PCS_AXES if p != position]
        variants = [
            c
            for c in family
            if c.code[:4] == best.code[:4] and all(c.code[i] == best.code[i] for i in others)
        ]
        if len({c.code[position - 1] for c in variants}) < 2:
            continue
        shared = set.intersection(*(set(c.title.split(", ")) for c in variants))
        axes[axis] = {
            (
                ", ".join(part for part in c.title.split(", ") if part not in shared)
                or f"none ({c.code[position - 1]})"
            ): c
            for c in variants
        }
    return axes


_APPROACH_WORDS = re.compile(
    r"\b(open|percutaneous|endoscopic|laparoscopic|arthroscopic|thoracoscopic|scope|natural|"
    r"artificial opening|via|external|transorifice|robotic)\b",
    re.I,
)


def _specified(axis: str, wanted: Refinement, description: str = "") -> bool:
    if axis == "laterality":
        return bool(wanted.laterality)
    if axis == "encounter":
        return bool(wanted.encounter)
    if axis == "approach":
        return bool(_APPROACH_WORDS.search(description))
    if axis in ("device", "qualifier"):
        return True  # shown, not asked: the record's procedure note names them
    return bool(wanted.with_phrases)


# Titles for a population the question must name to mean it (P74.22 "Hyponatremia of newborn" is
# not what "hyponatremia" asks for).
_POPULATIONS = re.compile(
    r"\b(newborn|neonatal|perinatal|fetus|fetal|pregnancy|childbirth|puerperium|maternal|obstetric)\b", re.I
)
# What the classification codes when the record says no more: the uncomplicated form, then the
# unspecified one ("with unspecified complications" says there are complications: not a default).
_UNCOMPLICATED = re.compile(r"\b(uncomplicated|without complications?)\b", re.I)
_UNSPECIFIED = re.compile(r"\bunspecified\b", re.I)
_WITH = re.compile(r"\bwith\b", re.I)


def _default_form(title: str) -> int:
    if _UNCOMPLICATED.search(title):
        return 2
    return 1 if _UNSPECIFIED.search(title) and not _WITH.search(title) else 0


def _rank(results: list[lookup_pb2.Code], description: str, wanted: Refinement) -> list[lookup_pb2.Code]:
    """The search's order, moved by what the question says about side, encounter and with/without;
    then titles that hold every word of the description go ahead (partial overlaps do not move a
    title: the search's lexicon knows that "COVID-19" is "coronavirus disease 2019", word counts do
    not); among those, titles for a population the question does not name go back, then titles that
    add the fewest words of their own ("COVID-19" before "Post COVID-19 condition"), then the
    default (uncomplicated, unspecified) form."""
    asks_population = bool(_POPULATIONS.search(description))
    asks_detail = bool(_UNCOMPLICATED.search(description) or _UNSPECIFIED.search(description))

    def key(pair: tuple[int, lookup_pb2.Code]):
        index, code = pair
        full = word_overlap(description, code.title) >= 0.99
        return (
            -fit(code.title, wanted),
            not full,
            full and not asks_population and bool(_POPULATIONS.search(code.title)),
            extra_words(description, code.title) if full else 0,
            -_default_form(code.title) if full and not asks_detail else 0,
            index,
        )

    return [code for _index, code in sorted(enumerate(results), key=key)]


def _pick(results: list[lookup_pb2.Code]) -> lookup_pb2.Code | None:
    return next((c for c in results if c.billable), None)


def grounded(description: str, best: lookup_pb2.Code, top_score: float, strict: bool) -> bool:
    """Whether the best candidate is about the description: enough of its words in the title or the
    plain-words description, or a strong search score (the search reads lay words through its lexicon:
    "laparoscopic cholecystectomy" finds "Resection of Gallbladder, Percutaneous Endoscopic Approach").
    A question without coding words ("strict") must meet the higher bar."""
    needed = 0.5 if strict else 0.3
    coverage = word_overlap(description, f"{best.title} {best.lay_description}")
    return coverage >= needed or top_score >= (0.5 if strict else 0.3)


async def find_code(
    catalog: CatalogClient, description: str, systems: list[str], wanted: Refinement, *, strict: bool = False
) -> Answer | None:
    """The answer for a description, or None when the catalog has nothing that is about it."""
    scored = await catalog.search(description, systems, page_size=SEARCH_PAGE)
    if not scored:
        return None
    top_score = scored[0][1]
    results = _rank([code for code, _score in scored], description, wanted)
    writer = AnswerWriter("find_code")
    writer.description = description
    heading = results[0]
    best = _pick(results)
    if best is None or (not heading.billable and not code_key(best.code).startswith(code_key(heading.code))):
        best = await _first_billable_below(catalog, heading) or best
    if best is None:
        return None
    # Search hits are BASIC and may not carry the parent the family walk starts from.
    best = await catalog.get_code(system_of(best), best.code)
    if not grounded(description, best, top_score, strict):
        return None
    family = await family_codes(catalog, best)
    axes = axes_of_variants(best, family)
    # A variant that meets what the question says beats the search's pick (one axis at a time).
    for _round in range(3):
        better = max(
            (v for values in axes.values() for v in values.values()),
            key=lambda v: fit(v.title, wanted),
            default=best,
        )
        if fit(better.title, wanted) <= fit(best.title, wanted):
            break
        best = better
        axes = axes_of_variants(best, family)
    writer.about(best)
    writer.line(
        f"**Best match:** {writer.cite(best)} — {best.title} ({label(system_of(best))}, {billable_words(best)})"
    )
    missing = [axis for axis in axes if not _specified(axis, wanted, description)]
    if axes:
        writer.line()
        writer.line("**What tells the candidates apart**")
        for axis, values in axes.items():
            listed = list(values.items())
            shown = " · ".join(f"{value} {writer.cite(code)}" for value, code in listed[:MAX_VALUES])
            more = f" · … and {len(listed) - MAX_VALUES} more" if len(listed) > MAX_VALUES else ""
            writer.line(f"- {AXIS_NAMES[axis]}: {shown}{more}")
    if missing:
        writer.line()
        writer.line(
            "**Missing detail:** the question does not say "
            + " or ".join(ASK[axis] for axis in missing)
            + "; the catalog has a separate code for each, so the record must say which."
        )
        for axis in missing:
            for value, variant in list(axes[axis].items())[:2]:
                if axis in PCS_AXES.values():
                    writer.suggest(f"What is {variant.code}?")
                else:
                    writer.suggest(f"and {value}?" if axis != "encounter" else f"and for the {value}?")
    if not heading.billable and code_key(best.code).startswith(code_key(heading.code)) and not axes:
        await _list_below(writer, catalog, heading, best)
    # Other candidates must share half the description's words: a search hit that matched one word
    # ("first" in "first degree" for "first visit") is not a candidate.
    others = [
        c
        for c in results
        if c.billable
        and c.code != best.code
        and (system_of(c), c.code) not in writer.citations
        and word_overlap(description, c.title) >= 0.5
    ][:OTHER_CANDIDATES]
    if others:
        writer.line()
        writer.line("Other candidates from the search:")
        for code in others:
            writer.line(f"- {writer.cite(code)} — {code.title}")
    writer.line()
    writer.line(f"Check the notes of {writer.cite(best)} before reporting it (ask “What is {best.code}?”).")
    writer.suggest(f"What is {best.code}?")
    return writer.answer()


async def _first_billable_below(
    catalog: CatalogClient, code: lookup_pb2.Code
) -> lookup_pb2.CodeSummary | None:
    system = system_of(code)
    parent = code.code
    for _depth in range(4):
        children = list((await catalog.get_code(system, parent)).children)
        if not children:
            return None
        billable = next((c for c in children if c.billable), None)
        if billable:
            return billable
        parent = children[0].code
    return None


async def _list_below(
    writer: AnswerWriter, catalog: CatalogClient, heading: lookup_pb2.Code, best: lookup_pb2.Code
) -> None:
    """The heading the description names is not billable: show what lies below it to choose from."""
    children = list((await catalog.get_code(system_of(heading), heading.code)).children)
    if not children:
        return
    writer.line()
    writer.line(
        f"{writer.cite(heading)} ({heading.title}) is not billable; the catalog divides it further — "
        "the record must say which applies:"
    )
    for child in children[:15]:
        more = "" if child.billable else ", has codes below it"
        writer.line(f"- {writer.cite(child)} — {child.title} ({billable_words(child)}{more})")
