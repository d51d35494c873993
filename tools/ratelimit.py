"""A token bucket that paces calls towards the ERP, so no burst of agent calls can swamp it.

Up to ``burst`` calls go through at once; after that, calls are spaced ``1 / rate_per_second``
apart. A caller that would have to wait longer than its timeout is refused at once with
``RateLimited`` instead of queueing. Safe to share between threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimited(Exception):
    """No permit could be had within the caller's timeout; ``retry_after`` says when one will be."""

    def __init__(self, retry_after: float, timeout: float, rate_per_second: float, burst: int) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"rate limit towards the ERP: next permit in {retry_after:.2f} s, beyond the "
            f"{timeout:.2f} s timeout ({rate_per_second:g}/s, burst {burst})"
        )


class TokenBucket:
    """Thread-safe token bucket; ``rate_per_second <= 0`` means unlimited."""

    def __init__(
        self,
        rate_per_second: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_second > 0 and burst < 1:
            raise ValueError("burst must be at least 1 when a rate is set")
        self.rate_per_second = rate_per_second
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._updated = clock()

    @property
    def unlimited(self) -> bool:
        return self.rate_per_second <= 0

    def acquire(self, timeout: float) -> float:
        """Take one permit, waiting up to ``timeout`` seconds; returns the seconds waited."""
        if timeout < 0:
            raise ValueError("timeout must not be negative")
        if self.unlimited:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._updated) * self.rate_per_second)
            self._updated = now
            # Reserve the permit now, even if that takes the balance below zero: later callers
            # then queue behind this one (first come, first served) and the bound holds without
            # anyone re-checking after sleeping.
            self._tokens -= 1.0
            wait = -self._tokens / self.rate_per_second if self._tokens < 0 else 0.0
            if wait > timeout:
                self._tokens += 1.0  # give the reservation back: this caller will not use it
                raise RateLimited(wait, timeout, self.rate_per_second, self.burst)
        # Sleep outside the lock so other callers can take their own place in line meanwhile.
        if wait > 0:
            self._sleep(wait)
        return wait
