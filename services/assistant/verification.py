"""Every code an answer cites exists in the catalog: checked, and what does not exist is taken out."""

from __future__ import annotations

import re
from collections import defaultdict

from services.assistant.answers import Answer, Citation
from services.assistant.catalog_client import CatalogClient
from services.assistant.code_mentions import codes_in_markdown, find_code_mentions, shape_systems

REMOVED = "[a code that is not in the catalog was removed]"


async def verify_answer(catalog: CatalogClient, answer: Answer, *, scan_text: bool = False) -> Answer:
    """Drop citations of codes that do not exist; codes in the Markdown that do not exist are removed
    and codes written in another spelling are corrected to the catalog's. `scan_text` also checks
    codes written without backticks (what a language model writes)."""
    written = set(codes_in_markdown(answer.markdown))
    if scan_text:
        written |= {m.text for m in find_code_mentions(answer.markdown)}
    asked: dict[str, set[str]] = defaultdict(set)
    for citation in answer.citations:
        asked[citation.system].add(citation.code)
    for code in written:
        for system in shape_systems(code):
            asked[system].add(code)
    existing = await catalog.existing(asked)
    by_key = {
        (system, code.replace(".", "").upper()): found
        for system, codes in existing.items()
        for code, found in codes.items()
    }
    citations = [c for c in answer.citations if c.code in existing.get(c.system, {})]
    markdown = answer.markdown
    for code in sorted(written, key=len, reverse=True):
        match = next(
            (
                by_key[(s, code.replace(".", "").upper())]
                for s in shape_systems(code)
                if (s, code.replace(".", "").upper()) in by_key
            ),
            None,
        )
        pattern = re.compile(rf"(?<![\w.]){re.escape(code)}(?![\w])", re.IGNORECASE)
        if match is None:
            markdown = pattern.sub(REMOVED, markdown)
        elif match.code != code:
            markdown = pattern.sub(match.code, markdown)
    if scan_text:
        cited = {(c.system, c.code) for c in citations}
        for system, codes in existing.items():
            for code, found in codes.items():
                if (system, code) not in cited and re.search(
                    rf"(?<![\w.]){re.escape(code)}(?![\w])", markdown
                ):
                    citations.append(Citation(system, found.code, found.title))
                    cited.add((system, code))
    markdown = markdown.replace(f"`{REMOVED}`", REMOVED)
    answer.markdown = markdown
    answer.citations = citations
    return answer
