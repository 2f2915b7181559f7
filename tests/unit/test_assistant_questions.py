"""The assistant's input rules: a question is text, not empty, not huge; a context code looks like a code."""

from __future__ import annotations

import pytest

from services.assistant.errors import InvalidQuestion
from services.assistant.questions import MAX_QUESTION_CHARS, validate_context_code, validate_question


def test_a_question_is_trimmed_and_kept():
    assert validate_question("  What is E11.9?\n") == "What is E11.9?"


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_an_empty_question_is_refused_with_its_reason(question):
    with pytest.raises(InvalidQuestion) as refused:
        validate_question(question)
    assert refused.value.reason == "QUESTION_EMPTY"
    assert refused.value.field == "question"


def test_a_question_over_the_limit_is_refused_saying_the_limit():
    with pytest.raises(InvalidQuestion) as refused:
        validate_question("a" * (MAX_QUESTION_CHARS + 1))
    assert refused.value.reason == "QUESTION_TOO_LONG"
    assert "2,000" in refused.value.message


def test_a_question_at_the_limit_is_accepted():
    assert len(validate_question("a" * MAX_QUESTION_CHARS)) == MAX_QUESTION_CHARS


@pytest.mark.parametrize("question", ["What is \x00E11.9?", "\x1b[31mE11.9", "E11\x7f.9", "ok \ud800"])
def test_control_characters_and_surrogates_are_not_text(question):
    with pytest.raises(InvalidQuestion) as refused:
        validate_question(question)
    assert refused.value.reason == "QUESTION_NOT_TEXT"
    assert "U+" in refused.value.message


def test_line_breaks_and_tabs_are_text():
    assert validate_question("What is\tE11.9?\r\nAnd E11.65?") == "What is\tE11.9?\r\nAnd E11.65?"


def test_a_context_code_must_look_like_a_code():
    assert validate_context_code(" e11.9 ") == "e11.9"
    assert validate_context_code("") == ""
    with pytest.raises(InvalidQuestion) as refused:
        validate_context_code("E11.9; DROP TABLE")
    assert refused.value.reason == "INVALID_CONTEXT_CODE"
