import pytest

from services.lookup import page_tokens
from services.lookup.errors import InvalidArgument


def test_a_token_round_trips_for_its_own_query():
    owner = page_tokens.fingerprint("asthma", None, False)
    assert page_tokens.decode(page_tokens.encode(40, owner), owner) == 40


def test_an_empty_token_is_the_first_page():
    assert page_tokens.decode("", "anything") == 0


def test_a_token_of_another_query_is_refused():
    token = page_tokens.encode(20, page_tokens.fingerprint("asthma"))
    with pytest.raises(InvalidArgument, match="different request"):
        page_tokens.decode(token, page_tokens.fingerprint("fracture"))


@pytest.mark.parametrize("token", ["not-a-token", "!!!", "e30", "eyJvIjoiYSJ9"])
def test_a_damaged_token_is_refused(token):
    with pytest.raises(InvalidArgument) as caught:
        page_tokens.decode(token, "q")
    assert caught.value.field == "page_token"


@pytest.mark.parametrize(("asked", "given"), [(0, 20), (1, 1), (100, 100), (5000, 100)])
def test_page_size_defaults_and_caps(asked, given):
    assert page_tokens.page_size(asked) == given


def test_negative_page_size_is_refused():
    with pytest.raises(InvalidArgument):
        page_tokens.page_size(-1)
