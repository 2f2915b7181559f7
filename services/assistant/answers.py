"""An answer as the engine composes it: Markdown, the codes it cites, what was asked, what to ask next."""

from __future__ import annotations

from dataclasses import dataclass, field

from medcode.lookup.v1 import lookup_pb2

from services.assistant.catalog_client import system_of
from services.assistant.code_mentions import SYSTEM_LABELS


@dataclass(frozen=True)
class Citation:
    system: str
    code: str
    title: str


@dataclass
class Answer:
    intent: str  # medcode.assistant.v1.Intent without its prefix, lower case ("code_pair")
    markdown: str
    citations: list[Citation] = field(default_factory=list)
    follow_ups: list[str] = field(default_factory=list)
    conversation_id: str = ""
    # What a follow-up question may refer to: the codes answered about and the description searched.
    subject: list[tuple[str, str]] = field(default_factory=list)
    description: str = ""


class AnswerWriter:
    """Collects Markdown lines and the codes they cite, in order and each once."""

    def __init__(self, intent: str) -> None:
        self.intent = intent
        self.lines: list[str] = []
        self.citations: dict[tuple[str, str], Citation] = {}
        self.follow_ups: list[str] = []
        self.subject: list[tuple[str, str]] = []
        self.description = ""

    def line(self, text: str = "") -> None:
        self.lines.append(text)

    def cite(self, code: lookup_pb2.Code | lookup_pb2.CodeSummary) -> str:
        """Record the citation and return the code as the Markdown shows it."""
        system = system_of(code)
        self.citations.setdefault((system, code.code), Citation(system, code.code, code.title))
        return f"`{code.code}`"

    def about(self, code: lookup_pb2.Code | lookup_pb2.CodeSummary) -> None:
        """Mark a code as what this answer is about (follow-ups refer to it)."""
        key = (system_of(code), code.code)
        if key not in self.subject:
            self.subject.append(key)

    def suggest(self, question: str) -> None:
        if question not in self.follow_ups and len(self.follow_ups) < 4:
            self.follow_ups.append(question)

    def answer(self) -> Answer:
        markdown = "\n".join(self.lines).strip() + "\n"
        while "\n\n\n" in markdown:
            markdown = markdown.replace("\n\n\n", "\n\n")
        return Answer(
            intent=self.intent,
            markdown=markdown,
            citations=list(self.citations.values()),
            follow_ups=self.follow_ups,
            subject=self.subject,
            description=self.description,
        )


def label(system: str) -> str:
    return SYSTEM_LABELS.get(system, system)


def quote(text: str, limit: int = 400) -> str:
    """A note or guideline quoted as the publisher wrote it, shortened only when very long."""
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rsplit(" ", 1)[0] + "…"
    return f"\u201c{flat}\u201d"


def billable_words(code: lookup_pb2.Code | lookup_pb2.CodeSummary) -> str:
    return "billable" if code.billable else "not billable"
