"""Typed errors of the assistant; server.py maps each to a gRPC status and reason."""

from __future__ import annotations


class AssistantError(Exception):
    """Base of the assistant's errors; `reason` is what a program branches on."""

    reason = "ASSISTANT_ERROR"

    def __init__(self, message: str, **metadata: str) -> None:
        super().__init__(message)
        self.message = message
        self.metadata = metadata


class InvalidQuestion(AssistantError):
    """The question (or another field) cannot be answered as sent: empty, too long, not text."""

    def __init__(self, field: str, message: str, reason: str) -> None:
        super().__init__(message, field=field)
        self.field = field
        self.reason = reason


class LookupUnavailable(AssistantError):
    """The lookup service cannot be reached: nothing can be grounded, so nothing is answered."""

    reason = "LOOKUP_UNAVAILABLE"
