"""`eventually()`, the one wait of the suite (tests/conftest.py): it must be able to fail."""

from __future__ import annotations

import itertools

import pytest
from conftest import eventually, eventually_sync


async def test_a_condition_that_comes_true_returns_the_seconds_it_took() -> None:
    answers = iter([0, "", None, "yes"])
    took = await eventually(lambda: next(answers), timeout_s=1, what="a yes")
    assert 0 <= took < 1


async def test_an_async_condition_is_awaited() -> None:
    calls = itertools.count()

    async def third_time() -> bool:
        return next(calls) >= 2

    await eventually(third_time, timeout_s=1, what="the third call")
    assert next(calls) == 3


async def test_the_deadline_fails_naming_the_wait_and_the_last_answer() -> None:
    with pytest.raises(AssertionError, match=r"0\.05s waiting for the moon \(last answered 0\)"):
        await eventually(lambda: 0, timeout_s=0.05, what="the moon")


async def test_an_exception_is_not_yet_and_the_last_one_is_reported() -> None:
    def refused() -> bool:
        raise ConnectionRefusedError("nobody home")

    with pytest.raises(AssertionError, match="last raised ConnectionRefusedError") as caught:
        await eventually(refused, timeout_s=0.05, what="a server")
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)


async def test_pytest_fail_in_a_condition_ends_the_wait_at_once() -> None:
    def hopeless() -> bool:
        pytest.fail("the process exited")

    with pytest.raises(pytest.fail.Exception, match="the process exited"):
        await eventually(hopeless, timeout_s=60, what="never")


def test_the_sync_twin_waits_and_fails_the_same_way() -> None:
    answers = iter([False, True])
    assert eventually_sync(lambda: next(answers), timeout_s=1, what="x", interval_s=0.001) < 1
    with pytest.raises(AssertionError, match="waiting for nothing"):
        eventually_sync(lambda: False, timeout_s=0.02, what="nothing", interval_s=0.001)
