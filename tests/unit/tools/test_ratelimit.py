from __future__ import annotations

import threading
import time

import pytest

from tools.ratelimit import RateLimited, TokenBucket


class FakeTime:
    """A clock whose sleep moves it forward, so waits take no real time."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _bucket(rate: float, burst: int, fake: FakeTime) -> TokenBucket:
    return TokenBucket(rate, burst, clock=fake.clock, sleep=fake.sleep)


def test_a_full_bucket_lets_a_burst_through_without_waiting() -> None:
    fake = FakeTime()
    bucket = _bucket(2, 3, fake)
    assert [bucket.acquire(timeout=0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert fake.slept == []


def test_after_the_burst_calls_are_spaced_by_the_rate() -> None:
    fake = FakeTime()
    bucket = _bucket(4, 1, fake)
    assert bucket.acquire(timeout=1) == 0.0
    assert bucket.acquire(timeout=1) == pytest.approx(0.25)
    assert bucket.acquire(timeout=1) == pytest.approx(0.25)
    assert fake.now == pytest.approx(100.5)


def test_permits_refill_with_time_up_to_the_burst() -> None:
    fake = FakeTime()
    bucket = _bucket(1, 2, fake)
    bucket.acquire(timeout=0)
    bucket.acquire(timeout=0)
    fake.now += 60  # a long idle spell refills only up to the burst
    assert [bucket.acquire(timeout=0) for _ in range(2)] == [0.0, 0.0]
    with pytest.raises(RateLimited):
        bucket.acquire(timeout=0)


def test_a_caller_that_would_wait_beyond_its_timeout_is_refused_at_once() -> None:
    fake = FakeTime()
    bucket = _bucket(2, 1, fake)
    bucket.acquire(timeout=0)
    with pytest.raises(RateLimited) as refused:
        bucket.acquire(timeout=0.1)
    assert str(refused.value) == (
        "rate limit towards the ERP: next permit in 0.50 s, beyond the 0.10 s timeout (2/s, burst 1)"
    )
    assert refused.value.retry_after == pytest.approx(0.5)
    assert fake.slept == []


def test_a_refused_caller_does_not_push_back_the_ones_after_it() -> None:
    fake = FakeTime()
    bucket = _bucket(2, 1, fake)
    bucket.acquire(timeout=0)
    for _ in range(5):
        with pytest.raises(RateLimited):
            bucket.acquire(timeout=0)
    assert bucket.acquire(timeout=1) == pytest.approx(0.5)


def test_a_rate_of_zero_or_less_means_unlimited() -> None:
    fake = FakeTime()
    for rate in (0, -1):
        bucket = _bucket(rate, 0, fake)
        assert bucket.unlimited
        assert all(bucket.acquire(timeout=0) == 0.0 for _ in range(1000))
    assert fake.slept == []


def test_a_rate_without_a_burst_is_refused() -> None:
    with pytest.raises(ValueError, match="burst must be at least 1"):
        TokenBucket(5, 0)


def test_a_negative_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="timeout"):
        TokenBucket(5, 1).acquire(timeout=-1)


def test_real_threads_never_get_more_than_the_burst_plus_the_rate_allows() -> None:
    rate, burst, threads_count, per_thread = 50.0, 5, 10, 4
    started = time.monotonic()
    bucket = TokenBucket(rate, burst)
    granted: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads_count)

    def work() -> None:
        barrier.wait()
        for _ in range(per_thread):
            bucket.acquire(timeout=10)
            at = time.monotonic()
            with lock:
                granted.append(at)

    threads = [threading.Thread(target=work) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    granted.sort()
    assert len(granted) == threads_count * per_thread
    # By any moment t, at most burst + rate * (t - start) permits may have been handed out.
    for count, at in enumerate(granted, start=1):
        assert count <= burst + rate * (at - started) + 1e-6
