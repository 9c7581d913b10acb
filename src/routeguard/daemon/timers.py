"""Interval jobs on one event-loop timer: a heap of due times, a task per run.

Each job has a grid (its first run, then every `interval_s`) and starts up to
`jitter_s` after each grid point, chosen afresh each time; the jitter never
shifts the grid, so a job runs once per interval on average, exactly. A job
still running when it is due again skips that run (`on_skip`), never runs twice
at once. A run that starts late is run once, however many grid points it
missed, and the grid resumes at its next point after now. Jobs due within
`batch_s` of each other start together: one wake-up of the loop, and their
first Redis commands share a pipeline.

At 10,000 routes this is one heap push and pop and one task a run; APScheduler's
locking, datetime arithmetic and event dispatch for the same work were 7% of
the daemon's CPU samples.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from routeguard.tasks import stop_tasks

log = logging.getLogger(__name__)

BATCH_S = 0.005

Job = Callable[[], Awaitable[None]]
OnStart = Callable[[str, float], None]
"""Told each run's key and lag (seconds from its planned start to its start)."""
OnSkip = Callable[[str], None]
"""Told the key of a run skipped because the job's previous run is still going."""


@dataclass(slots=True)
class _Timer:
    job: Job
    interval_s: float
    jitter_s: float
    grid: float
    generation: int = 0
    running: asyncio.Task[None] | None = field(default=None)


class IntervalTimers:
    """Runs each added job every `interval_s`, on the running event loop's clock."""

    def __init__(
        self,
        *,
        on_start: OnStart | None = None,
        on_skip: OnSkip | None = None,
        rng: random.Random | None = None,
        batch_s: float = BATCH_S,
    ) -> None:
        self._on_start = on_start
        self._on_skip = on_skip
        self._rng = rng or random.Random()
        self._batch_s = batch_s
        self._timers: dict[str, _Timer] = {}
        self._heap: list[tuple[float, int, str, int]] = []
        self._seq = 0
        self._wake: asyncio.TimerHandle | None = None
        self._wake_at = math.inf
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def running(self) -> bool:
        return self._loop is not None

    def add(
        self, key: str, interval_s: float, jitter_s: float, first_in_s: float, job: Job
    ) -> None:
        """Run `job` first in `first_in_s` seconds (plus jitter), then every `interval_s`."""
        if key in self._timers:
            raise ValueError(f"timer {key!r} is already added")
        timer = _Timer(job, interval_s, jitter_s, self._now() + first_in_s)
        self._timers[key] = timer
        self._push(key, timer)

    def interval_s(self, key: str) -> float:
        """The job's interval now (retimed or not)."""
        return self._timers[key].interval_s

    def retime(self, key: str, interval_s: float, jitter_s: float) -> None:
        """A new interval; its grid starts now, so the next run is one new interval away."""
        timer = self._timers[key]
        if timer.interval_s == interval_s and timer.jitter_s == jitter_s:
            return
        timer.interval_s, timer.jitter_s = interval_s, jitter_s
        timer.generation += 1  # the heap's entry for the old grid is dropped when it surfaces
        timer.grid = self._now() + interval_s
        self._push(key, timer)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._arm()

    async def stop(self) -> None:
        """No more runs; the runs in flight are cancelled and awaited."""
        if self._wake is not None:
            self._wake.cancel()
        self._wake, self._wake_at, self._loop = None, math.inf, None
        await stop_tasks([t.running for t in self._timers.values() if t.running is not None])

    def _now(self) -> float:
        return (self._loop or asyncio.get_running_loop()).time()

    def _push(self, key: str, timer: _Timer, *, arm: bool = True) -> None:
        """Plan the run at the timer's grid point (plus jitter); wake earlier if need be."""
        due = timer.grid + self._rng.uniform(0.0, timer.jitter_s)
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, key, timer.generation))
        if arm and self._loop is not None and due < self._wake_at:
            self._arm()

    def _arm(self) -> None:
        """Wake at the earliest due time (or never, with no jobs)."""
        if self._wake is not None:
            self._wake.cancel()
            self._wake = None
        self._wake_at = self._heap[0][0] if self._heap else math.inf
        if self._loop is not None and self._heap:
            self._wake = self._loop.call_at(self._wake_at, self._fire_due)

    def _fire_due(self) -> None:
        self._wake = None
        now = self._now()
        while self._heap and self._heap[0][0] <= now + self._batch_s:
            due, _, key, generation = heapq.heappop(self._heap)
            timer = self._timers[key]
            if generation != timer.generation:
                continue
            self._fire(key, timer, now, due)
            missed = max(1, math.ceil((now - timer.grid) / timer.interval_s))
            timer.grid += missed * timer.interval_s
            self._push(key, timer, arm=False)
        self._arm()

    def _fire(self, key: str, timer: _Timer, now: float, due: float) -> None:
        if timer.running is not None and not timer.running.done():
            if self._on_skip is not None:
                self._on_skip(key)
            return
        if self._on_start is not None:
            self._on_start(key, max(0.0, now - due))
        timer.running = asyncio.get_running_loop().create_task(_logged(key, timer.job))


async def _logged(key: str, job: Job) -> None:
    """A job's bug is logged, and the job keeps its schedule."""
    try:
        await job()
    except Exception:
        log.exception("scheduled job %s failed", key)
