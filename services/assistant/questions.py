"""What a question must be before the engine reads it: text, not empty, not huge."""

from __future__ import annotations

import unicodedata

from services.assistant.errors import InvalidQuestion

MAX_QUESTION_CHARS = 2_000
MAX_CONTEXT_CODE_CHARS = 16
# Tabs and line breaks are how people paste text; every other control character means the
# field holds something other than text (binary, escape sequences).
_ALLOWED_CONTROLS = {"\t", "\n", "\r"}


def validate_question(question: str, field: str = "question") -> str:
    """The question trimmed and normalised (NFC), or InvalidQuestion saying what is wrong."""
    if not question or not question.strip():
        raise InvalidQuestion(field, f"{field} is empty: ask a coding question in words", "QUESTION_EMPTY")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidQuestion(
            field,
            f"{field} has {len(question):,} characters; the limit is {MAX_QUESTION_CHARS:,}: "
            "ask one question at a time",
            "QUESTION_TOO_LONG",
        )
    bad = [ch for ch in question if _is_not_text(ch)]
    if bad:
        shown = ", ".join(sorted({f"U+{ord(ch):04X}" for ch in bad})[:5])
        raise InvalidQuestion(
            field,
            f"{field} holds characters that are not text ({shown}): send the question as plain text",
            "QUESTION_NOT_TEXT",
        )
    return unicodedata.normalize("NFC", question.strip())


def _is_not_text(ch: str) -> bool:
    category = unicodedata.category(ch)
    if category == "Cc":
        return ch not in _ALLOWED_CONTROLS
    # Unassigned code points and lone surrogates are not text either.
    return category in {"Cn", "Cs"}


def validate_context_code(code: str) -> str:
    """The context code trimmed, or InvalidQuestion when it cannot be a code."""
    text = code.strip()
    if not text:
        return ""
    if len(text) > MAX_CONTEXT_CODE_CHARS or not all(ch.isalnum() or ch in ".-" for ch in text):
        raise InvalidQuestion(
            "context_code",
            f"context_code {text[:40]!r} is not a code: use letters, digits and '.', "
            f"at most {MAX_CONTEXT_CODE_CHARS} characters (for example E11.9)",
            "INVALID_CONTEXT_CODE",
        )
    return text
