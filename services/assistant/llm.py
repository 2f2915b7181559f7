"""An optional language model behind an OpenAI-compatible chat-completions endpoint.

The model calls the same retrieval as the deterministic engine, as tools (search_codes, get_code,
check_code_pair, get_crosswalk, list_guidelines), and writes the answer. The engine then checks
every code the model wrote against the catalog (verification.py): a code in another spelling is
corrected, one that does not exist is removed. When the endpoint fails or says nothing, the
deterministic engine answers instead: the model is an option, never a dependency.
"""

from __future__ import annotations

import json
import logging

import httpx
from google.protobuf.json_format import MessageToDict

from services.assistant.answers import Answer
from services.assistant.catalog_client import CatalogClient, NotFound, SystemNotLoaded
from services.assistant.code_axes import content_words
from services.assistant.conversations import Conversation

log = logging.getLogger(__name__)

MAX_ROUNDS = 5
SYSTEMS = ["icd10cm", "icd10pcs", "icd9cm", "icd9pcs", "cpt", "hcpcs"]
SYSTEM_PROMPT = (
    "You are medcode's coding assistant for medical coders. Answer only from what the tools return: "
    "the code catalog (ICD-10-CM, ICD-10-PCS, ICD-9-CM, CPT and HCPCS once imported), its notes, "
    "crosswalks, pair checks and the ICD-10-PCS guidelines. Never write a code the tools did not "
    "return. Write each code exactly as the tools spell it, in backticks. Quote notes and guidelines "
    "as the tools give them. If the tools return nothing that answers the question, say plainly that "
    "the catalog cannot ground an answer and suggest searches. Answer in short Markdown."
)


def _function(name: str, description: str, properties: dict, required: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


_SYSTEM = {"type": "string", "enum": SYSTEMS}
TOOLS = [
    _function(
        "search_codes",
        "Codes whose title, inclusion terms or plain-language words match the query, best first.",
        {"query": {"type": "string"}, "systems": {"type": "array", "items": _SYSTEM}},
        ["query"],
    ),
    _function(
        "get_code",
        "One code: title, billable or not, the notes that apply (own and inherited), PCS characters.",
        {"system": _SYSTEM, "code": {"type": "string"}},
        ["system", "code"],
    ),
    _function(
        "check_code_pair",
        "Whether two codes of one system may be reported together, and the notes that decide it.",
        {"system": _SYSTEM, "first_code": {"type": "string"}, "second_code": {"type": "string"}},
        ["system", "first_code", "second_code"],
    ),
    _function(
        "get_crosswalk",
        "ICD-9 <-> ICD-10 mappings from the CMS GEMs, with their flags.",
        {"system": _SYSTEM, "code": {"type": "string"}, "target_system": _SYSTEM},
        ["system", "code"],
    ),
    _function(
        "list_guidelines",
        "The ICD-10-PCS official guidelines whose topic or text has the given words.",
        {"words": {"type": "string"}},
        ["words"],
    ),
]


class LlmUnavailable(Exception):
    """The endpoint failed or answered outside the protocol; the deterministic engine answers instead."""


class LlmComposer:
    """Composes answers with a chat-completions model that retrieves through the catalog's tools."""

    def __init__(
        self,
        catalog: CatalogClient,
        client: httpx.AsyncClient,
        url: str,
        model: str,
        api_key: str = "",
        max_rounds: int = MAX_ROUNDS,
    ) -> None:
        self.catalog = catalog
        self.client = client
        self.endpoint = url.rstrip("/") + "/chat/completions"
        self.model = model
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.max_rounds = max_rounds

    @classmethod
    def from_settings(cls, catalog: CatalogClient, settings) -> LlmComposer:
        client = httpx.AsyncClient(timeout=settings.llm_timeout_seconds)
        return cls(catalog, client, settings.llm_url, settings.llm_model, settings.llm_api_key)

    async def close(self) -> None:
        await self.client.aclose()

    async def compose(
        self, question: str, intent: str, conversation: Conversation, context_code: str
    ) -> Answer | None:
        """The model's answer (not yet verified), or None when the model cannot give one."""
        messages: list[dict] = [{"role": "system", "content": SYSTEM_PROMPT}]
        earlier = [turn.question for turn in conversation.turns[-4:]]
        if earlier or conversation.subject or context_code:
            about = ", ".join(f"{system} {code}" for system, code in conversation.subject)
            messages.append(
                {
                    "role": "system",
                    "content": "Earlier questions: "
                    + (" | ".join(earlier) or "none")
                    + (f". The conversation is about: {about}." if about else ".")
                    + (f" The user is looking at code {context_code}." if context_code else ""),
                }
            )
        messages.append({"role": "user", "content": question})
        try:
            content = await self._converse(messages)
        except LlmUnavailable as error:
            log.warning(
                "language model unavailable: the deterministic engine answers", extra={"error": str(error)}
            )
            return None
        if not content.strip():
            return None
        return Answer(intent=intent, markdown=content.strip() + "\n")

    async def _converse(self, messages: list[dict]) -> str:
        for _round in range(self.max_rounds):
            message = await self._chat(messages)
            calls = message.get("tool_calls") or []
            if not calls:
                return message.get("content") or ""
            messages.append({"role": "assistant", "content": message.get("content"), "tool_calls": calls})
            for call in calls:
                function = call.get("function") or {}
                try:
                    arguments = json.loads(function.get("arguments") or "{}")
                except json.JSONDecodeError:
                    arguments = None
                result = (
                    await self.run_tool(function.get("name", ""), arguments)
                    if isinstance(arguments, dict)
                    else {"error": "the arguments are not a JSON object"}
                )
                messages.append(
                    {"role": "tool", "tool_call_id": call.get("id", ""), "content": json.dumps(result)}
                )
        raise LlmUnavailable(f"no final answer after {self.max_rounds} rounds of tool calls")

    async def _chat(self, messages: list[dict]) -> dict:
        body = {"model": self.model, "messages": messages, "tools": TOOLS, "tool_choice": "auto"}
        try:
            response = await self.client.post(self.endpoint, json=body, headers=self.headers)
        except httpx.HTTPError as error:
            raise LlmUnavailable(f"{type(error).__name__}: {error}") from error
        if response.status_code != 200:
            raise LlmUnavailable(f"HTTP {response.status_code}: {response.text[:200]}")
        try:
            return response.json()["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise LlmUnavailable(f"not a chat-completions answer: {error}") from error

    async def run_tool(self, name: str, arguments: dict) -> dict:
        """One tool call, answered from the catalog; a refusal of the catalog comes back as an error."""
        try:
            if name == "search_codes":
                systems = [s for s in arguments.get("systems") or [] if s in SYSTEMS]
                results = await self.catalog.search(str(arguments.get("query", "")), systems, page_size=10)
                return {"results": [_code(code) for code, _score in results]}
            if name == "get_code":
                code = await self.catalog.get_code(_system(arguments), str(arguments.get("code", "")))
                return _code(code, full=True)
            if name == "check_code_pair":
                result = await self.catalog.check_pair(
                    _system(arguments),
                    str(arguments.get("first_code", "")),
                    str(arguments.get("second_code", "")),
                )
                return MessageToDict(result, preserving_proto_field_name=True)
            if name == "get_crosswalk":
                target = arguments.get("target_system")
                result = await self.catalog.crosswalk(
                    _system(arguments), str(arguments.get("code", "")), target if target in SYSTEMS else None
                )
                return MessageToDict(result, preserving_proto_field_name=True)
            if name == "list_guidelines":
                words = set(w[:5] for w in content_words(str(arguments.get("words", ""))))
                found = [
                    {"id": g.id, "topic": g.topic, "text": g.text}
                    for g in await self.catalog.guidelines("icd10pcs")
                    if words & {w[:5] for w in content_words(f"{g.topic} {g.text}")}
                ]
                return {"guidelines": found[:5]}
        except (NotFound, SystemNotLoaded) as refusal:
            return {"error": refusal.message}
        except ValueError as error:
            return {"error": str(error)}
        return {"error": f"no tool named {name!r}"}


def _system(arguments: dict) -> str:
    system = arguments.get("system")
    if system not in SYSTEMS:
        raise ValueError(f"system must be one of {', '.join(SYSTEMS)}")
    return system


def _code(code, full: bool = False) -> dict:
    data = {
        "system": MessageToDict(code, preserving_proto_field_name=True).get("system", ""),
        "code": code.code,
        "title": code.title,
        "billable": code.billable,
    }
    if full:
        data["notes"] = [
            {"kind": MessageToDict(n).get("kind", ""), "text": n.text, "from": n.source}
            for n in (*code.notes, *code.inherited_notes)
        ][:40]
        data["children"] = [
            {"code": c.code, "title": c.title, "billable": c.billable} for c in code.children
        ][:30]
        data["pcs_characters"] = [
            {
                "position": c.position,
                "axis": c.axis,
                "value": c.value,
                "meaning": c.meaning,
                "definition": c.definition,
            }
            for c in code.pcs_characters
        ]
    return data
