"""The failover helper: retry only before the first byte, only when it is safe."""

from __future__ import annotations

import pytest

from routeguard.client.failover import AttemptFailed, FailoverExhausted, run_with_failover
from routeguard.outcomes import Outcome


def recorder() -> tuple[list[tuple[str, Outcome]], object]:
    seen: list[tuple[str, Outcome]] = []

    def report(route: str, outcome: Outcome, latency: float, retry: float | None) -> None:
        seen.append((route, outcome))

    return seen, report


async def test_a_failure_before_the_first_byte_moves_on_to_the_next_route() -> None:
    seen, report = recorder()

    async def attempt(route: str) -> str:
        if route == "a/m":
            raise AttemptFailed(Outcome.SERVER_ERROR, "529 overloaded")
        return f"answer from {route}"

    result = await run_with_failover(["a/m", "b/m"], attempt, report)  # type: ignore[arg-type]
    assert (result.value, result.route) == ("answer from b/m", "b/m")
    assert [(a.route, a.outcome) for a in result.attempts] == [
        ("a/m", Outcome.SERVER_ERROR),
        ("b/m", Outcome.OK),
    ]
    assert seen == [("a/m", Outcome.SERVER_ERROR), ("b/m", Outcome.OK)]


async def test_a_failure_after_the_first_byte_is_never_retried() -> None:
    seen, report = recorder()

    async def attempt(route: str) -> str:
        raise AttemptFailed(Outcome.BAD_RESPONSE, "stream cut", first_byte_sent=True)

    with pytest.raises(FailoverExhausted) as caught:
        await run_with_failover(["a/m", "b/m"], attempt, report)  # type: ignore[arg-type]
    assert [a.route for a in caught.value.result.attempts] == ["a/m"]
    assert seen == [("a/m", Outcome.BAD_RESPONSE)], "still reported to the breaker"


async def test_our_own_bad_request_is_not_retried_elsewhere() -> None:
    _, report = recorder()

    async def attempt(route: str) -> str:
        raise AttemptFailed(Outcome.CLIENT_ERROR, "400 context too long")

    with pytest.raises(FailoverExhausted, match="a/m: client_error"):
        await run_with_failover(["a/m", "b/m"], attempt, report)  # type: ignore[arg-type]


async def test_every_route_failing_says_what_each_did() -> None:
    _, report = recorder()

    async def attempt(route: str) -> str:
        raise AttemptFailed(Outcome.CONNECT_ERROR)

    with pytest.raises(FailoverExhausted, match="a/m: connect_error, b/m: connect_error"):
        await run_with_failover(["a/m", "b/m"], attempt, report)  # type: ignore[arg-type]
