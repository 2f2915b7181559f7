"""Token buckets, the grant cache and the page cache: bounded, and exact about time."""

from __future__ import annotations

from gateway.answer_cache import AnswerCache
from gateway.grant_cache import GrantCache
from gateway.ratelimit import TokenBuckets, retry_after
from gateway.settings import RateLimit


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_refills_at_its_rate():
    clock = Clock()
    buckets = TokenBuckets(RateLimit(rate=2, burst=3), clock=clock)
    assert [buckets.take("203.0.113.7") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = buckets.take("203.0.113.7")
    assert wait == 0.5  # one token at 2 per second
    clock.now += 0.5
    assert buckets.take("203.0.113.7") == 0.0
    assert buckets.take("198.51.100.1") == 0.0  # another key has its own bucket


def test_a_refused_take_does_not_spend_a_token():
    clock = Clock()
    buckets = TokenBuckets(RateLimit(rate=1, burst=1), clock=clock)
    assert buckets.take("k") == 0.0
    assert buckets.take("k") == 1.0
    clock.now += 0.5
    assert buckets.take("k") == 0.5


def test_buckets_stay_bounded_whatever_keys_clients_invent():
    buckets = TokenBuckets(RateLimit(rate=1, burst=1), max_keys=100, clock=Clock())
    for n in range(1_000):
        buckets.take(f"key-{n}")
    assert len(buckets) == 100


def test_retry_after_is_whole_seconds_at_least_one():
    assert retry_after(0.01) == 1
    assert retry_after(2.2) == 3


def test_a_grant_is_reused_within_its_ttl_and_period_only():
    clock, wall = Clock(), Clock(1_700_000_000.0)
    grants = GrantCache(60, clock=clock, wall_clock=wall)
    token = "mcs_" + "a" * 43
    assert grants.granted(token, "icd10cm", "E1165") is None
    grants.remember(token, "icd10cm", "E1165", remaining=4, unlimited=False, period_end=wall.now + 3600)
    assert grants.granted(token, "icd10cm", "E1165").remaining == 4
    assert grants.granted(token, "icd10cm", "E119") is None
    assert grants.granted("mcs_" + "b" * 43, "icd10cm", "E1165") is None
    clock.now += 61
    assert grants.granted(token, "icd10cm", "E1165") is None  # confirm with accounts again
    grants.remember(token, "icd10cm", "E1165", remaining=4, unlimited=False, period_end=wall.now + 3600)
    wall.now += 3600
    assert grants.granted(token, "icd10cm", "E1165") is None  # a new period charges again


def test_a_logged_out_token_reuses_nothing():
    grants = GrantCache(60, clock=Clock(), wall_clock=Clock())
    token = "mcg_" + "a" * 43
    grants.remember(token, "icd10cm", "E1165", remaining=0, unlimited=False, period_end=10_000.0)
    grants.forget(token)
    assert grants.granted(token, "icd10cm", "E1165") is None


def test_re_opens_report_the_latest_remaining_count():
    grants = GrantCache(60, clock=Clock(), wall_clock=Clock())
    token = "mcs_" + "a" * 43
    grants.remember(token, "icd10cm", "A00", remaining=4, unlimited=False, period_end=10_000.0)
    grants.remember(token, "icd10cm", "B00", remaining=3, unlimited=False, period_end=10_000.0)
    assert grants.granted(token, "icd10cm", "A00").remaining == 3


def test_a_zero_ttl_keeps_nothing():
    grants = GrantCache(0, clock=Clock(), wall_clock=Clock())
    grants.remember("t", "icd10cm", "A00", remaining=1, unlimited=False, period_end=10_000.0)
    assert len(grants) == 0


def test_grants_stay_bounded_in_tokens_and_codes():
    grants = GrantCache(60, max_tokens=10, max_codes_per_token=5, clock=Clock(), wall_clock=Clock())
    for n in range(50):
        grants.remember(f"token-{n}", "icd10cm", "A00", remaining=1, unlimited=False, period_end=10_000.0)
    for n in range(50):
        grants.remember("token-49", "icd10cm", f"A{n:02}", remaining=1, unlimited=False, period_end=10_000.0)
    assert len(grants) == 10
    assert grants.granted("token-49", "icd10cm", "A49") is not None
    assert grants.granted("token-49", "icd10cm", "A00") is None


def test_answers_expire_and_the_least_recently_used_go_first():
    clock = Clock()
    pages = AnswerCache(max_entries=2, ttl_seconds=300, clock=clock)
    pages.put(("icd10cm", "E119"), ("E11.9", b"{}"))
    pages.put(("icd10cm", "E1165"), ("E11.65", b"{}"))
    assert pages.get(("icd10cm", "E119")) == ("E11.9", b"{}")
    pages.put(("icd10cm", "I10"), ("I10", b"{}"))
    assert pages.get(("icd10cm", "E1165")) is None  # least recently used
    clock.now += 301
    assert pages.get(("icd10cm", "E119")) is None


def test_a_cache_without_room_or_time_keeps_nothing():
    for cache in (AnswerCache(0, 300, clock=Clock()), AnswerCache(10, 0, clock=Clock())):
        cache.put("q", b"{}")
        assert cache.get("q") is None and len(cache) == 0
