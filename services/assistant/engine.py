"""The assistant's engine: read the question, retrieve from the catalog, compose, verify, remember.

`Assistant.answer(question, ...)` is the entry point the gRPC servicer and the consultation worker
call. It is deterministic: the same catalog and the same question give the same answer. An optional
language model (llm.py) may compose instead; its answers go through the same verification.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import AsyncIterator

from medcode.lookup.v1 import lookup_pb2

from services.assistant.answers import Answer
from services.assistant.catalog_client import CatalogClient, NotFound, SystemNotLoaded
from services.assistant.code_mentions import SYSTEM_PREFERENCE, CodeMention, find_code_mentions, shape_systems
from services.assistant.compose_codes import code_meaning, pcs_character
from services.assistant.compose_crosswalk import crosswalk
from services.assistant.compose_find import find_code
from services.assistant.compose_guidance import (
    explain_conventions,
    guidelines_answer,
    load_conventions,
    root_operation,
)
from services.assistant.compose_pairs import NcciLookup, code_pair, ncci_pair, sequencing_for
from services.assistant.compose_unknown import codes_not_found, nothing_found, out_of_scope, system_not_loaded
from services.assistant.conversations import Conversation, ConversationStore
from services.assistant.intents import Context, Reading, classify
from services.assistant.modifiers import load_modifiers, modifier_answer
from services.assistant.question_cues import Cues, read_cues
from services.assistant.questions import validate_context_code, validate_question
from services.assistant.verification import verify_answer

log = logging.getLogger(__name__)

CHUNK_CHARS = 160


class Assistant:
    """Answers coding questions from the catalog the lookup service serves."""

    def __init__(
        self,
        catalog: CatalogClient,
        conversations: ConversationStore | None = None,
        *,
        composer=None,
        ncci: NcciLookup | None = None,
    ) -> None:
        self.catalog = catalog
        self.conversations = conversations or ConversationStore()
        self.composer = composer  # an LlmComposer, or None for the deterministic engine alone
        self.ncci = ncci
        self.conventions = load_conventions()
        self.modifiers = load_modifiers()

    async def answer(
        self,
        question: str,
        *,
        conversation_id: str = "",
        context_code: str = "",
        context_system: str = "",
    ) -> Answer:
        """The answer to one question; InvalidQuestion for bad input, LookupUnavailable without the catalog."""
        question = validate_question(question)
        context_code = validate_context_code(context_code)
        conversation = self.conversations.open(conversation_id)
        text, cues, reading = await self._read(question, conversation, context_code, context_system)
        answer = None
        # Out-of-scope questions (payment, coverage) are refused the same way with or without a model.
        if self.composer is not None and not reading.out_of_scope:
            answer = await self.composer.compose(text, reading.intent, conversation, context_code)
            if answer is not None:
                answer = await verify_answer(self.catalog, answer, scan_text=True)
                if answer.citations:
                    answer.subject = [(answer.citations[0].system, answer.citations[0].code)]
        if answer is None:
            answer = await self._compose_reading(text, cues, reading)
            answer = await verify_answer(self.catalog, answer)
        conversation.record(question, answer.intent, answer.subject, answer.description)
        self.conversations.save(conversation)
        answer.conversation_id = conversation.id
        return answer

    async def answer_chunks(self, answer: Answer) -> AsyncIterator[str]:
        """The answer's Markdown in pieces that end at line or word boundaries."""
        for chunk in split_markdown(answer.markdown):
            yield chunk

    # -- the deterministic engine -----------------------------------------------------------------

    async def _read(
        self, question: str, conversation: Conversation, context_code: str, context_system: str
    ) -> tuple[str, Cues, Reading]:
        """What the question asks, with the codes it names confirmed by the catalog."""
        # Zero-width and other format characters (U+200B, U+FEFF) are invisible: read without them.
        text = " ".join("".join(ch for ch in question if unicodedata.category(ch) != "Cf").split())
        cues = read_cues(text)
        mentions = [m for m in find_code_mentions(text) if m.text not in _modifier_like(cues)]
        codes, unresolved = await self.resolve(mentions, cues)
        context = await self._context(conversation, context_code, context_system)
        loaded = {s for s in SYSTEM_PREFERENCE if await self.catalog.is_loaded(s)}
        reading = classify(text, cues, codes, unresolved, context, self.conventions, self.modifiers, loaded)
        log.debug("reading", extra={"intent": reading.intent, "codes": [c.code for c in reading.codes]})
        return text, cues, reading

    async def _compose_reading(self, text: str, cues: Cues, reading: Reading) -> Answer:
        intent = reading.intent
        codes = reading.codes
        if intent == "code_meaning":
            return code_meaning(codes[0], notes_only=reading.notes_only)
        if intent == "pcs_character":
            return pcs_character(codes[0], reading.position, reading.axis, reading.typed_value)
        if intent == "crosswalk":
            return await crosswalk(self.catalog, codes[0], reading.target_system)
        if intent == "code_pair" and not codes:
            first, second = (m.text for m in reading.unresolved[:2])
            return await ncci_pair(first, second, self.ncci)
        if intent == "code_pair":
            return await code_pair(self.catalog, codes[0], codes[1], ncci=self.ncci)
        if intent == "sequencing":
            if len(codes) >= 2:
                return await code_pair(self.catalog, codes[0], codes[1], intent="sequencing", ncci=self.ncci)
            return await sequencing_for(codes[0])
        if intent == "convention":
            return await explain_conventions(self.catalog, reading.conventions, codes[0] if codes else None)
        if intent == "guideline":
            answer = None
            if reading.root_operation:
                answer = await root_operation(self.catalog, reading.root_operation)
            if answer is None:
                answer = await guidelines_answer(self.catalog, text, reading.guideline_ids)
            return answer or nothing_found(text)
        if intent == "modifier":
            answer = modifier_answer(self.modifiers, reading.modifiers_named, reading.modifiers_described)
            return answer if answer.markdown.strip() else nothing_found(text)
        if intent == "find_code":
            answer = await self._find(reading)
            return answer or nothing_found(reading.description or text)
        if reading.out_of_scope:
            return out_of_scope(text, reading.out_of_scope)
        if reading.unresolved:
            return await codes_not_found(self.catalog, reading.unresolved)
        if reading.unloaded_system:
            return system_not_loaded(reading.unloaded_system, text)
        return nothing_found(text)

    async def _find(self, reading: Reading) -> Answer | None:
        return await find_code(
            self.catalog, reading.description, reading.systems, reading.refinement, strict=reading.strict
        )

    async def resolve(
        self, mentions: list[CodeMention], cues: Cues
    ) -> tuple[list[lookup_pb2.Code], list[CodeMention]]:
        """The mentioned codes that exist (FULL view), each in the system the question most likely means."""
        wanted: dict[str, set[str]] = {}
        for mention in mentions:
            for system in mention.systems:
                wanted.setdefault(system, set()).add(mention.text)
        found: dict[str, dict[str, lookup_pb2.Code]] = {}
        for system, texts in wanted.items():
            codes, _missing = await self.catalog.batch_get(system, sorted(texts))
            found[system] = {c.code.replace(".", "").upper(): c for c in codes}
        resolved: list[lookup_pb2.Code] = []
        unresolved: list[CodeMention] = []
        for mention in mentions:
            key = mention.text.replace(".", "")
            candidates = [s for s in mention.systems if key in found.get(s, {})]
            if not candidates or _written_as_hcpcs(mention, candidates):
                unresolved.append(mention)
                continue
            resolved.append(found[_likeliest(candidates, mention, cues)][key])
        return resolved, unresolved

    async def _context(self, conversation: Conversation, context_code: str, context_system: str) -> Context:
        if context_code:
            systems = [context_system] if context_system else list(shape_systems(context_code.upper()))
            for system in systems:
                try:
                    code = await self.catalog.get_code(system, context_code)
                except (NotFound, SystemNotLoaded):
                    continue
                return Context(subject=[code], from_context_code=True)
        subject: list[lookup_pb2.Code] = []
        for system, code in conversation.subject:
            found, _ = await self.catalog.batch_get(system, [code])
            subject.extend(found)
        return Context(subject=subject, description=conversation.description)


def _modifier_like(cues: Cues) -> set[str]:
    return set(cues.modifier_tokens) if cues.modifier else set()


def _written_as_hcpcs(mention: CodeMention, candidates: list[str]) -> bool:
    """A letter and four digits without a dot ("J1100") is how HCPCS Level II codes are written;
    ICD-10-CM writes the same characters with a dot (J11.00). Unless HCPCS has it, the question is
    about a code the catalog does not hold; the ICD-10-CM reading is offered, not assumed."""
    return "hcpcs" in mention.systems and "." not in mention.text and "hcpcs" not in candidates


def _likeliest(candidates: list[str], mention: CodeMention, cues: Cues) -> str:
    """Among the systems where a typed code exists, the one the question names nearest before it."""
    if len(candidates) == 1:
        return candidates[0]
    before = [system for at, system in cues.named_at if at < mention.start and system in candidates]
    if before:
        return before[-1]
    named = [system for _, system in cues.named_at if system in candidates]
    return named[0] if named else candidates[0]


def split_markdown(markdown: str, size: int = CHUNK_CHARS) -> list[str]:
    """Pieces of about `size` characters that end at a line break or a space; joined they are the text."""
    chunks: list[str] = []
    start = 0
    while start < len(markdown):
        end = min(len(markdown), start + size)
        if end < len(markdown):
            cut = markdown.rfind("\n", start, end)
            if cut <= start:
                cut = markdown.rfind(" ", start, end)
            end = cut + 1 if cut > start else end
        chunks.append(markdown[start:end])
        start = end
    return chunks
