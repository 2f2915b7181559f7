"""ICD-9 <-> ICD-10 through the CMS General Equivalence Mappings, with their flags explained."""

from __future__ import annotations

from collections import defaultdict

from medcode.lookup.v1 import lookup_pb2

from services.assistant.answers import Answer, AnswerWriter, label
from services.assistant.catalog_client import CatalogClient, system_of

MAX_ROWS = 15
FLAG_MEANINGS = {
    "approximate": "**approximate** — the two codes do not mean exactly the same thing (one is broader, "
    "narrower or differently divided); check the target's title against the record",
    "exact": "**exact** (no approximate flag) — the GEM considers the two codes equivalent",
    "no map": "**no map** — the GEM has no code of the other revision for it; code from the record "
    "with the current classification's index and tables",
    "combination": "**combination** — one source code needs several target codes together: within a "
    "*scenario*, take one code from each *choice list*",
}


async def crosswalk(catalog: CatalogClient, code: lookup_pb2.Code, target: str | None) -> Answer:
    writer = AnswerWriter("crosswalk")
    writer.about(code)
    system = system_of(code)
    response = await catalog.crosswalk(system, code.code, target)
    mappings = list(response.mappings)
    target_name = label(system_of(mappings[0].target)) if mappings and mappings[0].target.code else ""
    target_name = target_name or (label(target) if target else "the other revision")
    writer.line(f"**{label(system)} {writer.cite(code)}** — {code.title} → **{target_name}**")
    if not mappings:
        writer.line()
        writer.line(
            f"The GEMs in the catalog have no row for {writer.cite(code)}: there is nothing to map it to. "
            "Code the condition or procedure from the record in the other revision."
        )
        return writer.answer()
    writer.line()
    flags_seen: set[str] = set()
    by_gem: dict[str, list[lookup_pb2.CrosswalkMapping]] = defaultdict(list)
    for mapping in mappings:
        by_gem[mapping.gem].append(mapping)
    for gem, rows in by_gem.items():
        writer.line(f"From the {gem}:")
        combinations = [m for m in rows if m.combination]
        singles = [m for m in rows if not m.combination]
        for mapping in singles[:MAX_ROWS]:
            writer.line(_row(writer, mapping, flags_seen))
        if len(singles) > MAX_ROWS:
            writer.line(f"- … and {len(singles) - MAX_ROWS} more targets")
        if combinations:
            flags_seen.add("combination")
            scenarios: dict[int, list[lookup_pb2.CrosswalkMapping]] = defaultdict(list)
            for mapping in combinations:
                scenarios[mapping.scenario].append(mapping)
            for scenario, members in sorted(scenarios.items()):
                writer.line(f"- Combination, scenario {scenario}: report together one code from each list —")
                for mapping in sorted(members, key=lambda m: m.choice_list):
                    writer.line(
                        f"  - choice list {mapping.choice_list}: " + _row(writer, mapping, flags_seen)[2:]
                    )
        writer.line()
    writer.line("**What the GEM flags mean**")
    for flag in ("exact", "approximate", "no map", "combination"):
        if flag in flags_seen:
            writer.line(f"- {FLAG_MEANINGS[flag]}.")
    writer.line(
        "- A GEM is a translation aid between the revisions, not a coding rule: the code reported is "
        "the one the record supports."
    )
    first_target = next((m.target.code for m in mappings if m.target.code), "")
    if first_target:
        writer.suggest(f"What is {first_target}?")
    writer.suggest(f"What is {code.code}?")
    return writer.answer()


def _row(writer: AnswerWriter, mapping: lookup_pb2.CrosswalkMapping, flags_seen: set[str]) -> str:
    if mapping.no_map or not mapping.target.code:
        flags_seen.add("no map")
        return "- **no map**: the GEM gives no target code"
    flag = "approximate" if mapping.approximate else "exact"
    flags_seen.add(flag)
    return f"- {writer.cite(mapping.target)} — {mapping.target.title} · {flag}"
