"""A worker is configured as the daemon is, and says so when no daemon writes under its prefix."""

from __future__ import annotations

import logging

import pytest
from redis.asyncio import Redis

from routeguard.breaker import BreakerState, Keys
from routeguard.client import HealthClient
from routeguard.errors import ConfigError
from routeguard.heartbeat import beat, live_daemons
from routeguard.redact import redact_url

from .test_cli import CATALOG, ROUTE, run_cli

pytestmark = pytest.mark.redis


def daemon_env(redis_url: str, keys: Keys) -> dict[str, str]:
    return {
        "ROUTEGUARD_REDIS_URL": redis_url,
        "ROUTEGUARD_CONFIG": str(CATALOG),
        "ROUTEGUARD_KEY_PREFIX": keys.prefix,
    }


async def test_from_env_reads_url_catalog_and_prefix_as_the_daemon_does(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with HealthClient.from_env(daemon_env(redis_url, keys)) as health:
        assert ROUTE in health.catalog.routes
        await health.store.force(ROUTE, "open", "test")
        status = await health.store.state(ROUTE)
        await health.store.force(ROUTE, "auto", "test")
    # The force went under the test's prefix, not the default one.
    assert await redis_client.exists(keys.state(ROUTE)) == 1
    assert status.state == BreakerState.FORCED_OPEN


async def test_from_url_without_config_falls_back_to_routeguard_config(
    redis_url: str, keys: Keys, monkeypatch: pytest.MonkeyPatch, redis_client: Redis
) -> None:
    for name, value in daemon_env(redis_url, keys).items():
        monkeypatch.setenv(name, value)
    async with HealthClient.from_url(redis_url) as health:
        assert ROUTE in health.catalog.routes
        assert health.store.keys.prefix == keys.prefix


def test_from_env_without_a_redis_url_says_which_variable(keys: Keys) -> None:
    env = {"ROUTEGUARD_CONFIG": str(CATALOG), "ROUTEGUARD_KEY_PREFIX": keys.prefix}
    with pytest.raises(ConfigError) as caught:
        HealthClient.from_env(env)
    assert str(caught.value).startswith("ROUTEGUARD_REDIS_URL: not set")


def test_from_url_without_any_catalog_says_which_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ROUTEGUARD_CONFIG", raising=False)
    with pytest.raises(ConfigError) as caught:
        HealthClient.from_url("redis://127.0.0.1:1/0")
    assert str(caught.value).startswith("ROUTEGUARD_CONFIG: not set")


async def test_no_daemon_under_the_prefix_is_one_warning_naming_prefix_and_address(
    redis_url: str, keys: Keys, caplog: pytest.LogCaptureFixture, redis_client: Redis
) -> None:
    with caplog.at_level(logging.WARNING, logger="routeguard"):
        async with HealthClient.from_url(redis_url, config=CATALOG, key_prefix=keys.prefix):
            pass
    lines = [r.getMessage() for r in caplog.records if "heartbeat" in r.getMessage()]
    assert len(lines) == 1, lines
    assert f"key prefix {keys.prefix!r}" in lines[0]
    assert "ROUTEGUARD_KEY_PREFIX" in lines[0]
    assert redact_url(redis_url) in lines[0]


async def test_a_live_daemon_heartbeat_silences_the_warning(
    redis_url: str, keys: Keys, caplog: pytest.LogCaptureFixture, redis_client: Redis
) -> None:
    await beat(redis_client, keys, "replica-a")
    assert await live_daemons(redis_client, keys) == ["replica-a"]
    with caplog.at_level(logging.WARNING, logger="routeguard"):
        async with HealthClient.from_url(redis_url, config=CATALOG, key_prefix=keys.prefix):
            pass
    assert "heartbeat" not in caplog.text


async def test_status_says_when_no_daemon_writes_under_its_prefix(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    quiet = run_cli("status", redis_url=redis_url, keys=keys)
    assert quiet.returncode == 0, quiet.stderr
    assert f"no routeguard daemon heartbeat under key prefix {keys.prefix!r}" in quiet.stderr
    await beat(redis_client, keys, "replica-a")
    heard = run_cli("status", redis_url=redis_url, keys=keys)
    assert heard.returncode == 0, heard.stderr
    assert "heartbeat" not in heard.stderr
