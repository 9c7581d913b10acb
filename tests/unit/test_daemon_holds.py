"""A provider held by a rate limit is not probed before its hint has passed."""

from __future__ import annotations

from routeguard.daemon.holds import ProviderHolds


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_held_provider_is_held_until_its_time_and_then_free() -> None:
    clock = Clock()
    holds = ProviderHolds(clock)
    holds.hold("openai", 2.0)
    assert holds.held("openai") and not holds.held("anthropic")
    clock.now = 101.999
    assert holds.held("openai")
    clock.now = 102.0
    assert not holds.held("openai")


def test_a_shorter_hold_never_cuts_a_longer_one_short() -> None:
    clock = Clock()
    holds = ProviderHolds(clock)
    holds.hold("openai", 30.0)
    holds.hold("openai", 1.0)
    clock.now = 120.0
    assert holds.held("openai")
