"""The write pacer: all threads together never start more than N writes in any one-second window."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from agent.messaging.pacer import JITTER_MARGIN, WritePacer
from tests.unit.messaging.helpers import ThreadClocks


@pytest.fixture
def clocks() -> ThreadClocks:
    return ThreadClocks()


def _pacer(engine: Engine, clocks: ThreadClocks, rate: float) -> WritePacer:
    pacer = WritePacer(engine, writes_per_second=rate, clock=clocks.now, sleeper=clocks.sleep)
    pacer.create_schema()
    return pacer


def _max_in_any_window(starts: list[float], width: float = 1.0) -> Iterator[int]:
    ordered = sorted(starts)
    for i, first in enumerate(ordered):
        # Half-open window [first, first + width), with a hair of float tolerance.
        yield sum(1 for t in ordered[i:] if t < first + width - 1e-9)


def test_a_hundred_writes_from_four_threads_never_start_more_than_ten_in_a_second(
    app_engine: Engine, clocks: ThreadClocks
) -> None:
    pacer = _pacer(app_engine, clocks, 10)
    starts: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def writer() -> None:
        barrier.wait()
        for _ in range(25):
            pacer.acquire()
            with lock:
                starts.append(clocks.now())

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(starts) == 100
    assert max(_max_in_any_window(starts)) <= 10
    # Slots are 1/N apart plus the jitter margin: 99 gaps of 0.11 s.
    assert max(starts) - min(starts) == pytest.approx(99 * (1 + JITTER_MARGIN) / 10)


def test_slots_stay_spaced_for_a_caller_that_comes_back_late(
    app_engine: Engine, clocks: ThreadClocks
) -> None:
    pacer = _pacer(app_engine, clocks, 2)

    assert pacer.reserve() == 0.0
    assert pacer.reserve() == pytest.approx(0.5 * (1 + JITTER_MARGIN))
    clocks.sleep(10)  # idle for a while: the next slot is now, not in the past
    assert pacer.reserve() == 10.0


def test_pacers_with_different_names_do_not_share_slots(app_engine: Engine, clocks: ThreadClocks) -> None:
    erp = WritePacer(app_engine, writes_per_second=1, clock=clocks.now, sleeper=clocks.sleep)
    mail = WritePacer(app_engine, writes_per_second=1, name="mail", clock=clocks.now, sleeper=clocks.sleep)
    erp.create_schema()

    assert (erp.reserve(), mail.reserve(), erp.reserve()) == (0.0, 0.0, pytest.approx(1 + JITTER_MARGIN))


def test_zero_writes_per_second_means_unlimited(app_engine: Engine) -> None:
    slept: list[float] = []
    pacer = WritePacer(app_engine, writes_per_second=0, sleeper=slept.append)

    for _ in range(50):
        pacer.acquire()

    assert slept == []


@pytest.mark.parametrize(
    ("rate", "name", "message"),
    [(-1, "erp", "zero \\(unlimited\\) or more"), ("10", "erp", "must be a number"), (5, "", "pacer name")],
)
def test_bad_settings_get_a_clear_one_line_error(
    app_engine: Engine, rate: object, name: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        WritePacer(app_engine, writes_per_second=rate, name=name)  # type: ignore[arg-type]
