"""What the assistant says when the catalog cannot ground an answer: plainly that, and where to look."""

from __future__ import annotations

from services.assistant.answers import Answer, AnswerWriter, label
from services.assistant.catalog_client import CatalogClient, NotFound
from services.assistant.code_axes import content_words
from services.assistant.code_mentions import CodeMention

SCOPE = (
    "medcode answers coding questions from its code catalog: what a code means, which code fits a "
    "description, whether codes go together and in which order, ICD-9/ICD-10 crosswalks, the tabular "
    "conventions, the ICD-10-PCS guidelines and HCPCS modifiers."
)
OUT_OF_SCOPE_TOPICS = {
    "pay": "payment amounts", "pays": "payment amounts", "paid": "payment amounts",
    "payment": "payment amounts", "fee": "fee schedules", "fees": "fee schedules",
    "price": "prices", "prices": "prices", "cost": "costs", "costs": "costs", "rvu": "RVUs",
    "rvus": "RVUs", "npi": "provider identifiers (NPI)", "insurance": "insurance coverage",
    "insurer": "insurance coverage", "deductible": "insurance coverage", "salary": "salaries",
}  # fmt: skip


def _search_suggestions(writer: AnswerWriter, question: str) -> None:
    words = " ".join(content_words(question)[:6])
    if words:
        writer.line()
        writer.line(
            f"The closest searches to try: “{words}” in the code search, or ask “What is the code for {words}?”"
        )
        writer.suggest(f"What is the code for {words}?")


def out_of_scope(question: str, topic_word: str) -> Answer:
    writer = AnswerWriter("cannot_ground")
    topic = OUT_OF_SCOPE_TOPICS.get(
        topic_word, "payment amounts" if topic_word.startswith("reimburs") else "this"
    )
    writer.line(
        f"**I can't answer that from the catalog:** it holds no {topic}"
        if topic != "this"
        else "**I can't answer that from the catalog.**"
    )
    writer.line()
    writer.line(SCOPE)
    return writer.answer()


def nothing_found(question: str) -> Answer:
    writer = AnswerWriter("cannot_ground")
    writer.line("**I can't ground an answer to this in the catalog**, so I won't guess a code or a rule.")
    writer.line()
    writer.line(SCOPE)
    _search_suggestions(writer, question)
    return writer.answer()


async def codes_not_found(catalog: CatalogClient, mentions: list[CodeMention]) -> Answer:
    """Codes typed that no loaded system has (as written): say so and name the nearest ones that exist."""
    writer = AnswerWriter("cannot_ground")
    for mention in mentions[:3]:
        loaded = [s for s in mention.systems if await catalog.is_loaded(s)]
        unloaded = [s for s in mention.systems if s not in loaded]
        # "J1100" is written as HCPCS writes codes: that is the system it is not in, even when
        # ICD-10-CM has J11.00.
        hcpcs_shaped = "hcpcs" in mention.systems and "." not in mention.text
        missing_from = ["hcpcs"] if hcpcs_shaped else (loaded or unloaded)
        names = ", ".join(label(s) for s in missing_from) or "any loaded code system"
        writer.line(
            f"**{mention.text} is not in {names}** of this catalog: it is not a code I can answer about."
        )
        for system in unloaded:
            writer.line(
                f"{label(system)} is not loaded: an operator imports it from a licensed file (docs/importers.md)."
            )
        for system in loaded[:2]:
            try:
                other_reading = await catalog.get_code(system, mention.text)
            except NotFound as missing:
                await _nearest(writer, catalog, system, missing.nearest)
                continue
            writer.line(
                f"Read as {label(system)}, it would be {writer.cite(other_reading)} — {other_reading.title} "
                f"({label(system)} writes it with its dot)."
            )
            writer.suggest(f"What is {other_reading.code}?")
        writer.line()
    return writer.answer()


async def _nearest(writer: AnswerWriter, catalog: CatalogClient, system: str, nearest: list[str]) -> None:
    if not nearest:
        return
    found, _ = await catalog.batch_get(system, nearest, full=False)
    if found:
        writer.line(f"The nearest {label(system)} codes that exist:")
        for code in found[:5]:
            writer.line(f"- {writer.cite(code)} — {code.title}")
        writer.suggest(f"What is {found[0].code}?")


def system_not_loaded(system: str, question: str) -> Answer:
    writer = AnswerWriter("cannot_ground")
    writer.line(
        f"**{label(system)} is not loaded in this catalog**, so I can't answer from it: an operator imports "
        f"{label(system)} from a licensed file (docs/importers.md)."
    )
    writer.line()
    writer.line(SCOPE)
    return writer.answer()
