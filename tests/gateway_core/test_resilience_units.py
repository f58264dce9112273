"""The resilience building blocks on a hand-driven clock: rolling window, breaker states, retry rules."""

from __future__ import annotations

import email.utils

import pytest

from gateway.resilience import CLOSED, HALF_OPEN, OPEN, BreakerConfig, CircuitBreaker, RetryConfig
from gateway.resilience.breaker import NORMAL, PROBE, REJECTED
from gateway.resilience.dedup import dedup_key
from gateway.resilience.retry import RetryBudget, backoff_delay, is_idempotent, parse_retry_after
from gateway.resilience.window import RollingCounts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rolling_counts_age_out_bucket_by_bucket() -> None:
    clock = Clock()
    counts = RollingCounts(10.0, 10, clock)
    counts.add(1, 1)
    clock.now += 5
    counts.add(2, 0)
    assert counts.totals() == (3, 1)
    clock.now += 5.5  # the first bucket left the window
    assert counts.totals() == (2, 0)
    clock.now += 100
    assert counts.totals() == (0, 0)
    counts.add(1, 0)
    assert counts.totals() == (1, 0)


def test_breaker_state_machine() -> None:
    clock = Clock()
    breaker = CircuitBreaker("s", BreakerConfig(min_requests=4, error_rate=0.5, cooldown=5, half_open_probes=2), clock)
    for ok in (True, True, False):
        breaker.record(breaker.allow(), ok)
    assert breaker.state == CLOSED  # 1 of 3: below the volume anyway
    early = breaker.allow()  # a request that leaves now and fails after the circuit opened
    breaker.record(breaker.allow(), False)  # 2 of 4
    assert breaker.state == OPEN
    breaker.record(early, False)  # counted nowhere
    assert breaker.allow() == REJECTED
    clock.now += 5
    first, second, third = breaker.allow(), breaker.allow(), breaker.allow()
    assert (breaker.state, first, second, third) == (HALF_OPEN, PROBE, PROBE, REJECTED)
    breaker.release(second)  # cancelled: its place goes to another probe
    assert breaker.allow() == PROBE
    breaker.record(first, True)
    assert breaker.state == HALF_OPEN
    breaker.record(PROBE, True)
    assert breaker.state == CLOSED
    snapshot = breaker.snapshot()
    assert (snapshot.requests, snapshot.failures, snapshot.opened) == (0, 0, 1)
    assert breaker.allow() == NORMAL


def test_failed_probe_reopens_for_a_full_cool_down() -> None:
    clock = Clock()
    breaker = CircuitBreaker("s", BreakerConfig(min_requests=1, cooldown=5, half_open_probes=1), clock)
    breaker.record(breaker.allow(), False)
    clock.now += 5
    breaker.record(breaker.allow(), False)
    assert breaker.state == OPEN
    assert breaker.snapshot().retry_in == 5
    clock.now += 4
    assert breaker.allow() == REJECTED


def test_failures_outside_the_window_do_not_open() -> None:
    clock = Clock()
    breaker = CircuitBreaker("s", BreakerConfig(window=10, min_requests=3, error_rate=0.5), clock)
    for _ in range(2):
        breaker.record(breaker.allow(), False)
        clock.now += 8
    breaker.record(breaker.allow(), False)
    assert breaker.state == CLOSED  # never three in one window


@pytest.mark.parametrize(("query", "expected"), [
    ("{a}", True),
    ("query{a}", True),
    ("query($x:ID){a(x:$x)}", True),
    ("  query Q {a}", True),
    ("mutation{a}", False),
    ("subscription{a}", False),
    ("queryX{a}", False),
    ("# query\nmutation{a}", False),
    ("fragment F on Q{a} query{...F}", False),
])
def test_only_queries_are_idempotent(query: str, expected: bool) -> None:
    assert is_idempotent({"query": query}) is expected


def test_idempotent_needs_a_query_string() -> None:
    assert is_idempotent({}) is False
    assert is_idempotent({"query": 3}) is False


def test_retry_after_seconds_and_dates() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-1") is None
    date = email.utils.formatdate(1_000_010, usegmt=True)
    assert parse_retry_after(date, now=lambda: 1_000_000.0) == 10.0
    assert parse_retry_after(date, now=lambda: 2_000_000.0) == 0.0


def test_backoff_is_full_jitter_under_a_doubling_cap() -> None:
    config = RetryConfig(backoff=0.1, max_backoff=0.5)
    assert backoff_delay(config, 0, lambda: 0.999) == pytest.approx(0.0999)
    assert backoff_delay(config, 2, lambda: 0.5) == pytest.approx(0.2)
    assert backoff_delay(config, 10, lambda: 1.0) == 0.5
    assert backoff_delay(config, 3, lambda: 0.0) == 0.0


def test_budget_ratio_and_minimum_per_second() -> None:
    clock = Clock()
    budget = RetryBudget(RetryConfig(budget_ratio=0.2, budget_min_per_second=0.1, budget_window=10), clock)
    assert budget.try_retry()  # the minimum: 0.1/s over 10 s is one retry
    assert not budget.try_retry()
    for _ in range(10):
        budget.request()
    assert budget.try_retry()  # 20 % of 10 is 2 retries in the window
    assert not budget.try_retry()
    clock.now += 11
    assert budget.spent() == (0, 0)
    assert budget.try_retry()


def test_dedup_key_ignores_correlation_headers_only() -> None:
    base = dedup_key("s", "u", b"{}", {"authorization": "A", "x-request-id": "1", "traceparent": "t"})
    assert base == dedup_key("s", "u", b"{}", {"Authorization": "A", "x-request-id": "2"})
    assert base != dedup_key("s", "u", b"{}", {"authorization": "B"})
    assert base != dedup_key("s", "u", b"{}", {"authorization": "A", "x-tenant-id": "t"})
    assert base != dedup_key("s", "u", b"{ }", {"authorization": "A"})
