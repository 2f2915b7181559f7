"""HCPCS Level II modifiers from our own table (data/modifiers.tsv); CPT modifiers are named, never described."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from services.assistant.answers import Answer, AnswerWriter
from services.assistant.code_axes import content_words

DATA = Path(__file__).with_name("data") / "modifiers.tsv"
_CPT_MODIFIER = re.compile(r"^\d{2}$")
_IGNORED = {
    "modifier",
    "modifiers",
    "which",
    "what",
    "is",
    "for",
    "use",
    "used",
    "mean",
    "means",
    "does",
    "hcpcs",
}


@dataclass(frozen=True)
class Modifier:
    code: str
    group: str
    meaning: str
    use: str
    cpt_related: str


def load_modifiers(path: Path = DATA) -> dict[str, Modifier]:
    table: dict[str, Modifier] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        code, group, meaning, use, related = line.split("\t")
        table[code] = Modifier(code, group, meaning, use, "" if related == "-" else related)
    return table


def modifiers_named(table: dict[str, Modifier], tokens: tuple[str, ...]) -> list[str]:
    """The tokens of a question that are modifiers: ours (`XS`) or CPT ones (two digits)."""
    return [t for t in tokens if t in table or _CPT_MODIFIER.match(t)]


def modifiers_described(table: dict[str, Modifier], question: str) -> list[Modifier]:
    """The modifiers whose meaning best matches the question's words ("left hand thumb" -> FA)."""
    words = [w for w in content_words(question) if w not in _IGNORED]
    if not words:
        return []
    scored = []
    for modifier in table.values():
        meaning = set(content_words(modifier.meaning))
        hits = sum(1 for w in words if w in meaning)
        missing = len(meaning - set(words))
        if hits:
            scored.append((hits, -missing, modifier))
    scored.sort(key=lambda t: (-t[0], -t[1]))
    if not scored:
        return []
    top = scored[0][:2]
    return [m for h, miss, m in scored if (h, miss) == top][:3]


def modifier_answer(table: dict[str, Modifier], named: list[str], described: list[Modifier]) -> Answer:
    writer = AnswerWriter("modifier")
    shown: list[Modifier] = []
    for token in named:
        if token in table:
            shown.append(table[token])
            continue
        related = [m for m in table.values() if m.cpt_related == token]
        writer.line(
            f"**{token}** is a CPT (Level I) modifier. CPT's descriptors belong to the AMA and are not part "
            "of this platform's catalog, so the assistant does not describe it."
        )
        if related:
            writer.line(
                f"The HCPCS Level II modifiers related to {token}: "
                + ", ".join(f"**{m.code}** ({m.meaning})" for m in related)
                + "."
            )
            shown.extend(m for m in related if m not in shown)
        writer.line()
    for modifier in described:
        if modifier not in shown:
            shown.append(modifier)
    for modifier in shown:
        writer.line(f"**{modifier.code}** — {modifier.meaning} _(HCPCS Level II, {modifier.group})_")
        writer.line(f"{modifier.use}")
        writer.line()
    if shown:
        writer.line(
            "_Descriptions are medcode's own summary of HCPCS Level II modifiers; payer policies decide "
            "when each is accepted._"
        )
        family = [m for m in table.values() if m.group == shown[0].group and m not in shown][:4]
        for other in family[:2]:
            writer.suggest(f"What does modifier {other.code} mean?")
    return writer.answer()
