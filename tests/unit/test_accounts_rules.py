"""The accounts service's plain rules, without a server: emails, passwords, periods, back-off, settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from services.accounts.addresses import client_network
from services.accounts.emails import normalise_email
from services.accounts.errors import InvalidArgument
from services.accounts.fields import checked_account_id, checked_code, checked_request_id
from services.accounts.passwords import Passwords, check_password_rules, common_passwords
from services.accounts.plans import Plan, Plans, period_of
from services.accounts.quota import ViewRequest
from services.accounts.settings import AccountsSettings
from services.accounts.throttle import ThrottleRules
from services.accounts.tokens import checked_token, mint, token_hash
from services.common.settings import SettingsError


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Ana.Lima@Example.ORG\t", "ana.lima@example.org"),
        ("CODER+billing@Hospital.example", "coder+billing@hospital.example"),
        ("josé@Bücher.de", "josé@xn--bcher-kva.de"),
        ("STRASSE@例え.jp", "strasse@xn--r8jz45g.jp"),
        ("ana@example.org.", "ana@example.org"),
    ],
)
def test_emails_are_trimmed_case_folded_and_their_domain_idna_encoded(typed, stored):
    assert normalise_email(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "ana",
        "ana@",
        "@example.org",
        "ana@example",
        "an a@example.org",
        "ana@exa_mple.org",
        "a..b@x.org",
    ],
)
def test_malformed_emails_are_refused_with_the_email_field(typed):
    with pytest.raises(InvalidArgument) as raised:
        normalise_email(typed)
    assert raised.value.field == "email"


def test_the_common_password_list_holds_hundreds_and_refuses_decorated_variants():
    assert len(common_passwords()) >= 300
    for password in ("password1234", "PASSWORD1234", "Qwertyuiop!!", "iloveyou2025?", "medicalcoding1"):
        with pytest.raises(InvalidArgument) as raised:
            check_password_rules(password, "ana@example.org", 12)
        assert raised.value.reason == "PASSWORD_TOO_COMMON"


def test_a_passphrase_passes_and_length_counts_characters_after_nfkc():
    check_password_rules("amber tulip harbour 42", "ana@example.org", 12)
    check_password_rules("ｆｕｌｌｗｉｄｔｈ ｐａｓｓ", "ana@example.org", 12)  # NFKC makes it ASCII
    with pytest.raises(InvalidArgument) as raised:
        check_password_rules("ﬁve ﬁve", "ana@example.org", 12)  # ligatures unfold, still 9
    assert raised.value.reason == "PASSWORD_TOO_SHORT"


def test_hashes_use_argon2id_with_owasps_parameters():
    encoded = Passwords.hasher.hash("amber tulip harbour 42")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert Passwords.hasher.verify(encoded, "amber tulip harbour 42")


async def test_verifying_an_unknown_account_says_no_and_older_hashes_need_rehashing():
    passwords = Passwords(workers=1)
    try:
        good = await passwords.hash("amber tulip harbour 42")
        assert await passwords.verify(good, "amber tulip harbour 42")
        assert not await passwords.verify(good, "amber tulip harbour 43")
        assert not await passwords.verify(None, "amber tulip harbour 42")
        assert passwords.needs_rehash(PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("x"))
        assert not passwords.needs_rehash(good)
    finally:
        passwords.close()


@pytest.mark.parametrize(
    ("moment", "start", "end"),
    [
        (
            datetime(2026, 3, 15, 12, tzinfo=UTC),
            datetime(2026, 3, 1, tzinfo=UTC),
            datetime(2026, 4, 1, tzinfo=UTC),
        ),
        (
            datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
            datetime(2025, 12, 1, tzinfo=UTC),
            datetime(2026, 1, 1, tzinfo=UTC),
        ),
        (
            datetime(2026, 1, 1, tzinfo=UTC),
            datetime(2026, 1, 1, tzinfo=UTC),
            datetime(2026, 2, 1, tzinfo=UTC),
        ),
    ],
)
def test_the_period_is_the_calendar_month_in_utc(moment, start, end):
    period = period_of(moment)
    assert (period.start, period.end) == (start, end)


def test_a_moment_in_another_zone_is_placed_in_its_utc_month():
    from zoneinfo import ZoneInfo

    tokyo_morning = datetime(2026, 3, 1, 8, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 2026-02-28 23:00 UTC
    assert period_of(tokyo_morning).start == datetime(2026, 2, 1, tzinfo=UTC)


def test_plans_come_from_settings_and_unlimited_has_no_remaining_count():
    plans = Plans.from_settings(AccountsSettings.from_env({"MEDCODE_PLAN_FREE_VIEWS": "10"}))
    assert (plans["guest"].views, plans["free"].views, plans["pro"].views) == (1, 10, None)
    assert Plan("free", 5).remaining(7) == 0 and Plan("free", 5).remaining(2) == 3
    assert Plan("pro", None).unlimited and Plan("pro", None).remaining(100) == 0


def test_settings_refuse_short_operator_tokens_and_idle_longer_than_lifetime():
    with pytest.raises(SettingsError, match="32 characters"):
        AccountsSettings.from_env({"MEDCODE_OPERATOR_TOKEN": "short"})
    with pytest.raises(SettingsError, match="idle"):
        AccountsSettings.from_env(
            {"MEDCODE_SESSION_IDLE_SECONDS": "100", "MEDCODE_SESSION_ABSOLUTE_SECONDS": "10"}
        )
    with pytest.raises(SettingsError, match="whole number"):
        AccountsSettings.from_env({"MEDCODE_PLAN_FREE_VIEWS": "five"})
    assert AccountsSettings.from_env({"MEDCODE_PLAN_FREE_VIEWS": "unlimited"}).free_views is None


def test_back_off_doubles_from_the_threshold_up_to_the_cap():
    rules = ThrottleRules(5, 20, timedelta(minutes=15), timedelta(seconds=2), timedelta(seconds=60))
    blocks = [rules.block_for(failures, 5) for failures in range(1, 12)]
    seconds = [b.total_seconds() if b else None for b in blocks]
    assert seconds == [None, None, None, None, 2, 4, 8, 16, 32, 60, 60]
    assert rules.block_for(100_000, 5) == timedelta(seconds=60)


@pytest.mark.parametrize(
    ("typed", "network"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 2001:db8:1:2:3:4:5:6 ", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.4", "198.51.100.4"),
    ],
)
def test_client_addresses_count_per_ipv4_address_or_ipv6_64(typed, network):
    assert client_network(typed, required=True) == network


def test_tokens_are_prefixed_random_and_stored_as_sha256():
    token, hashed = mint("mcs_")
    assert token.startswith("mcs_") and len(token) == 47 and checked_token(token) == token
    assert hashed == token_hash(token) and len(hashed) == 64 and token not in hashed
    assert mint("mcs_")[0] != token


def test_codes_ignore_dots_and_case_for_the_grant_and_ids_are_checked():
    assert ViewRequest("icd10cm", checked_code(" s52.521a "), "r").code_key == "S52521A"
    assert ViewRequest("icd10cm", "E119", "r").code_key == ViewRequest("icd10cm", "E11.9", "r").code_key
    assert (
        checked_request_id("0f7c7d7e-1c1a-4b1e-9d1f-2f4b9a0c1d2e") == "0f7c7d7e-1c1a-4b1e-9d1f-2f4b9a0c1d2e"
    )
    assert checked_account_id("0F7C7D7E1C1A4B1E9D1F2F4B9A0C1D2E") == "0f7c7d7e-1c1a-4b1e-9d1f-2f4b9a0c1d2e"
