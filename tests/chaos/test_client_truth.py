"""The fleet view tells the truth: silence is not an outage, a real outage is seen fast.

A HealthClient on a healthy but idle Redis (no transitions to hear) must never
call Redis down; a killed Redis must turn `degraded` on within 3 s, with no
exception reaching a caller; the Redis coming back turns it off within one
resync. The worker metrics say the same.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from conftest import eventually
from ha.topology import RedisProcess
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from routeguard.breaker import Keys
from routeguard.client import HealthClient
from routeguard.config import Catalog, parse_catalog
from routeguard.heartbeat import beat
from routeguard.outcomes import Outcome

from .conftest import listening, url_of

CATALOG_TEXT = """
providers:
  a: {flavour: openai, base_url: "http://127.0.0.1:9/v1", api_key_env: A_KEY}
  b: {flavour: openai, base_url: "http://127.0.0.1:9/v1", api_key_env: B_KEY}
models:
  m: [a/x, b/x]
"""
IDLE_S = 60.0
RESYNC_S = 2.0


def catalog() -> Catalog:
    return parse_catalog(CATALOG_TEXT, "test.yaml")


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("routeguard") and r.levelno >= logging.WARNING
    ]


async def test_an_idle_client_on_a_healthy_redis_is_never_degraded(
    redis_url: str, keys: Keys, redis_client: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    await beat(redis_client, keys, "replica-idle")  # a daemon is there, it just says nothing
    registry = CollectorRegistry()
    samples = degraded = 0
    with caplog.at_level(logging.INFO):
        async with HealthClient.from_url(
            redis_url, config=catalog(), key_prefix=keys.prefix, registry=registry
        ) as health:
            deadline = time.monotonic() + IDLE_S
            while time.monotonic() < deadline:
                samples += 1
                degraded += health.degraded
                await asyncio.sleep(0.1)  # sampling: idle time passing is the test
            episodes = registry.get_sample_value("routeguard_client_degraded_episodes_total")
    print(f"\nidle {IDLE_S:.0f} s: {degraded} degraded of {samples} samples")
    assert samples > IDLE_S * 5
    assert degraded == 0
    assert episodes == 0
    assert warnings_of(caplog) == []


async def test_a_killed_redis_is_seen_within_3_s_and_its_return_within_one_resync(
    private_redis: RedisProcess,
    caplog: pytest.LogCaptureFixture,
    record_property,  # type: ignore[no-untyped-def]
) -> None:
    registry = CollectorRegistry()
    async with HealthClient.from_url(
        url_of(private_redis),
        config=catalog(),
        key_prefix="rgtest-killed",
        registry=registry,
        resync_s=RESYNC_S,
    ) as health:
        await listening(private_redis, Keys("rgtest-killed"))
        assert not health.degraded
        private_redis.kill()
        detect_s = await eventually(
            lambda: health.degraded, timeout_s=3.0, what="the client to notice the kill"
        )
        for _ in range(20):  # the request path never raises while Redis is gone
            assert list(health.candidates("m"))
            health.report("a/x", Outcome.OK, latency_s=0.01)
        assert registry.get_sample_value("routeguard_client_degraded") == 1
        private_redis.start()
        private_redis.wait_ready()
        back_s = await eventually(
            lambda: not health.degraded, timeout_s=RESYNC_S + 1.0, what="the client to recover"
        )
        assert registry.get_sample_value("routeguard_client_degraded") == 0
        assert registry.get_sample_value("routeguard_client_degraded_episodes_total") == 1
    record_property("degraded_after_kill_s", round(detect_s, 3))
    record_property("recovered_after_restart_s", round(back_s, 3))
    print(f"\nkilled -> degraded {detect_s:.2f} s; restarted -> recovered {back_s:.2f} s")
    unreachable = [m for m in warnings_of(caplog) if m.startswith("Redis unreachable")]
    assert len(unreachable) == 1, unreachable


async def test_a_frozen_redis_is_seen_by_the_subscription_ping(
    private_redis: RedisProcess,
) -> None:
    """SIGSTOP: nothing refuses, nothing resets; only an unanswered command can tell."""
    assert private_redis.proc is not None
    async with HealthClient.from_url(
        url_of(private_redis), config=catalog(), key_prefix="rgtest-frozen", resync_s=60
    ) as health:
        await listening(private_redis, Keys("rgtest-frozen"))  # the PING runs on this link
        private_redis.proc.send_signal(19)  # SIGSTOP
        try:
            await eventually(
                lambda: health.degraded, timeout_s=5.0, what="the PING deadline to notice"
            )
            assert list(health.candidates("m")) == ["a/x", "b/x"]
        finally:
            private_redis.proc.send_signal(18)  # SIGCONT
        await eventually(lambda: not health.degraded, timeout_s=5.0, what="the client to recover")
