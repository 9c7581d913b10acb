"""The probe jobs' timers on a real event loop: grid without drift, one run at a
time, late runs coalesced, retiming, stopping, a failing job kept on schedule."""

from __future__ import annotations

import asyncio
import logging
import random
import time

import pytest
from conftest import eventually

from routeguard.daemon.timers import IntervalTimers


class Recorder:
    """A job that notes when it starts; `gate` (when given) holds each run open."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.starts: list[float] = []
        self.gate = gate
        self.running = 0
        self.most_at_once = 0

    async def __call__(self) -> None:
        self.starts.append(asyncio.get_running_loop().time())
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            if self.gate is not None:
                await self.gate.wait()
        finally:
            self.running -= 1


async def test_the_jitter_never_shifts_the_grid() -> None:
    # A jitter added to the previous start (APScheduler's way) drifts by half the
    # jitter a run: 20 runs of 50 ms with 25 ms jitter would end ~250 ms late.
    interval_s, jitter_s, runs = 0.05, 0.025, 20
    job = Recorder()
    timers = IntervalTimers(rng=random.Random(7))
    timers.add("job", interval_s, jitter_s, 0.0, job)
    timers.start()
    try:
        await eventually(lambda: len(job.starts) > runs, timeout_s=10, what=f"{runs} runs")
    finally:
        await timers.stop()
    first = job.starts[0]
    late = [s - (first + k * interval_s) for k, s in enumerate(job.starts[: runs + 1])]
    assert max(late) < jitter_s + 0.06, f"starts drift from the grid: {late}"


async def test_a_job_still_running_skips_its_next_runs() -> None:
    gate = asyncio.Event()
    job = Recorder(gate)
    skipped: list[str] = []
    timers = IntervalTimers(on_skip=skipped.append)
    timers.add("slow", 0.02, 0.0, 0.0, job)
    timers.start()
    try:
        await eventually(lambda: len(skipped) >= 3, timeout_s=5, what="three runs skipped")
        assert len(job.starts) == 1
        gate.set()
        await eventually(lambda: len(job.starts) >= 3, timeout_s=5, what="runs again")
    finally:
        await timers.stop()
    assert job.most_at_once == 1
    assert set(skipped) == {"slow"}


async def test_a_late_run_is_run_once_and_its_lag_reported() -> None:
    job = Recorder()
    lags: list[float] = []
    skipped: list[str] = []
    timers = IntervalTimers(on_start=lambda _key, lag: lags.append(lag), on_skip=skipped.append)
    timers.add("late", 0.05, 0.0, 0.0, job)
    timers.start()
    try:
        await eventually(lambda: len(job.starts) >= 1, timeout_s=5, what="a first run")
        time.sleep(0.3)  # the loop is blocked across six grid points
        blocked_until = asyncio.get_running_loop().time()
        await eventually(lambda: len(job.starts) >= 3, timeout_s=5, what="two more runs")
    finally:
        await timers.stop()
    after = [s for s in job.starts if s >= blocked_until]
    assert after[1] - after[0] > 0.02, f"missed runs were replayed back to back: {after}"
    assert skipped == [], "missed grid points were fired (and skipped) instead of coalesced"
    assert max(lags) >= 0.2


async def test_a_retimed_job_waits_one_new_interval() -> None:
    job = Recorder()
    timers = IntervalTimers()
    timers.add("job", 3600.0, 0.0, 3600.0, job)
    timers.start()
    try:
        retimed_at = asyncio.get_running_loop().time()
        timers.retime("job", 0.1, 0.0)
        await eventually(lambda: len(job.starts) >= 2, timeout_s=5, what="two runs at 0.1 s")
    finally:
        await timers.stop()
    assert job.starts[0] - retimed_at >= 0.1 - 0.01
    assert job.starts[1] - job.starts[0] >= 0.1 - 0.01


async def test_stop_cancels_runs_in_flight_and_ends_the_schedule() -> None:
    job = Recorder(asyncio.Event())  # never let go
    timers = IntervalTimers()
    timers.add("job", 0.02, 0.0, 0.0, job)
    timers.start()
    await eventually(lambda: job.running == 1, timeout_s=5, what="a run in flight")
    await timers.stop()
    assert job.running == 0 and not timers.running
    starts = len(job.starts)
    await asyncio.sleep(0.1)
    assert len(job.starts) == starts


async def test_a_failing_job_is_logged_and_keeps_its_schedule(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs = 0

    async def broken() -> None:
        nonlocal runs
        runs += 1
        raise RuntimeError("a bug")

    timers = IntervalTimers()
    timers.add("broken", 0.02, 0.0, 0.0, broken)
    with caplog.at_level(logging.ERROR, logger="routeguard.daemon.timers"):
        timers.start()
        try:
            await eventually(lambda: runs >= 3, timeout_s=5, what="three runs")
        finally:
            await timers.stop()
    assert "scheduled job broken failed" in caplog.text


async def test_a_key_is_added_once() -> None:
    async def job() -> None:
        return None

    timers = IntervalTimers()
    timers.add("job", 1.0, 0.0, 1.0, job)
    with pytest.raises(ValueError, match="'job' is already added"):
        timers.add("job", 1.0, 0.0, 1.0, job)
