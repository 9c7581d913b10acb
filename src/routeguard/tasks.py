"""Background loops that stop when asked, even when a Redis read swallows the cancel.

Under a per-read socket timeout, redis-py wraps every read in `asyncio.timeout`.
A cancellation that lands as such a read completes can be absorbed: the command
returns normally while `task.cancelling()` stays 1, so a `while True:` loop goes
on for ever (reproduced with redis-py 6.4 and 8.1 on Python 3.11 in
tests/integration/test_loop_cancellation.py; with `socket_timeout=None` it never
happens). Every background loop therefore checks `raise_if_cancelled()` once a
round, and `stop_tasks()` bounds how long shutdown waits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

STOP_GRACE_S = 1.0  # how long stop_tasks() waits for cancelled loops


def raise_if_cancelled() -> None:
    """Raise CancelledError if this task was asked to stop (even if a read ate the cancel)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def stop_tasks(tasks: Iterable[asyncio.Task[None]], *, grace_s: float = STOP_GRACE_S) -> int:
    """Cancel `tasks`, wait at most `grace_s` for them; the number left running."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if not pending:
        return 0
    _, stuck = await asyncio.wait(pending, timeout=grace_s)
    for task in stuck:
        log.warning("%s did not stop within %.1f s; left behind", task.get_name(), grace_s)
    return len(stuck)
