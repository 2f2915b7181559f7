"""Conversations kept in memory so that follow-ups work ("and with hyperglycemia?").

One replica's memory, bounded (least recently used conversations are dropped past the bound) and
expiring (a conversation idle past its time is forgotten). With several replicas a follow-up that
lands on another replica starts afresh: the answer then carries a new conversation id.
"""

from __future__ import annotations

import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from services.assistant.errors import InvalidQuestion

MAX_CONVERSATIONS = 10_000
IDLE_SECONDS = 3_600.0
MAX_TURNS = 20
_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


@dataclass
class Turn:
    question: str
    intent: str


@dataclass
class Conversation:
    id: str
    last_seen: float
    turns: list[Turn] = field(default_factory=list)
    subject: list[tuple[str, str]] = field(default_factory=list)  # (system, code) last answered about
    description: str = ""  # the description last searched for

    def record(self, question: str, intent: str, subject: list[tuple[str, str]], description: str) -> None:
        self.turns = [*self.turns, Turn(question, intent)][-MAX_TURNS:]
        if subject:
            self.subject = subject
            self.description = description
        elif description:
            self.description = description


class ConversationStore:
    def __init__(
        self,
        max_conversations: int = MAX_CONVERSATIONS,
        idle_seconds: float = IDLE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_conversations = max_conversations
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._conversations: OrderedDict[str, Conversation] = OrderedDict()

    def __len__(self) -> int:
        return len(self._conversations)

    def open(self, conversation_id: str = "") -> Conversation:
        """The conversation with this id if it is still kept, else a new one (with a new id)."""
        if conversation_id and not _ID.match(conversation_id):
            raise InvalidQuestion(
                "conversation_id",
                "conversation_id is not one this service gives out: pass back the id an answer returned, "
                "or leave it empty to start a conversation",
                "INVALID_CONVERSATION_ID",
            )
        now = self.clock()
        conversation = self._conversations.get(conversation_id) if conversation_id else None
        if conversation is not None and now - conversation.last_seen > self.idle_seconds:
            del self._conversations[conversation_id]
            conversation = None
        if conversation is None:
            conversation = Conversation(id=f"conv_{secrets.token_urlsafe(12)}", last_seen=now)
        return conversation

    def save(self, conversation: Conversation) -> None:
        conversation.last_seen = self.clock()
        self._conversations[conversation.id] = conversation
        self._conversations.move_to_end(conversation.id)
        while len(self._conversations) > self.max_conversations:
            self._conversations.popitem(last=False)
