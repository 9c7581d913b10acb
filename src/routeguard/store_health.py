"""One line when a path loses Redis, one when it has it back: never a line per call.

A 20 s outage used to log hundreds of tracebacks from the probe and lease
paths. Each daemon path that talks to Redis keeps a `FailureEpisodes`: the first
failure of an episode is one WARNING (no traceback), the next success one INFO
saying how many calls failed in between.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from routeguard.errors import StoreUnavailable

STORE_ERRORS: tuple[type[BaseException], ...] = (
    StoreUnavailable,
    RedisError,
    OSError,
    TimeoutError,
)
"""What a Redis call can raise when Redis is away, refused, hung or empty."""


class FailureEpisodes:
    """Counts one path's Redis failures and logs each episode's start and end once."""

    def __init__(self, logger: logging.Logger, path: str) -> None:
        self._log = logger
        self.path = path
        self.failing = False
        self.failed_calls = 0
        self.episodes = 0

    def failed(self, exc: BaseException) -> None:
        self.failed_calls += 1
        if not self.failing:
            self.failing, self.episodes = True, self.episodes + 1
            self._log.warning("%s: Redis failed (%s); retrying quietly", self.path, _one_line(exc))

    def succeeded(self) -> None:
        if self.failing:
            self.failing = False
            self._log.info(
                "%s: Redis answers again (%d calls failed)", self.path, self.failed_calls
            )
            self.failed_calls = 0


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, StoreUnavailable) else text
