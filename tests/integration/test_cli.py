"""The CLI as a user runs it: a subprocess, real Redis, exit codes and stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from redis.asyncio import Redis

from routeguard.breaker import Keys

pytestmark = pytest.mark.redis

CATALOG = Path(__file__).parents[1] / "testdata" / "config" / "valid-minimal.yaml"
ROUTE = "anthropic/claude-haiku-4-5"


def run_cli(*args: str, redis_url: str, keys: Keys) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ROUTEGUARD_REDIS_URL": redis_url,
        "ROUTEGUARD_KEY_PREFIX": keys.prefix,
        "ROUTEGUARD_CONFIG": str(CATALOG),
    }
    return subprocess.run(
        [sys.executable, "-m", "routeguard.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def _keys_written(client: Redis, keys: Keys) -> list[bytes]:
    return [k async for k in client.scan_iter(match=f"{keys.tag}*")]


async def test_status_json_lists_every_route_of_the_catalog(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    done = run_cli("status", "--json", redis_url=redis_url, keys=keys)
    assert done.returncode == 0, done.stderr
    routes = json.loads(done.stdout)["routes"]
    assert [r["route"] for r in routes] == [
        "together/meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo",
        "local-vllm/llama-3.1-70b",
        ROUTE,
    ]
    figures = {"uptime": None, "probes": None, "window": None}
    assert routes[2] | figures == {
        "route": ROUTE,
        "provider": "anthropic",
        "model": "claude-haiku-4-5",
        "state": "closed",
        "reason": None,
        "detail": "",
        "since": None,
        "version": 0,
        "open_until": None,
        "trips": 0,
        "window": None,
        "outage_since": None,
        "models": ["claude-haiku"],
        "last_probe": None,
        "last_probes": {},
        "uptime": None,
        "probes": None,
    }
    assert set(routes[2]["uptime"]) == set(routes[2]["probes"]) == {"5m", "30m", "1h", "1d", "30d"}
    assert routes[2]["uptime"]["1h"]["ratio"] is None  # no daemon has tracked it yet


async def test_force_open_then_auto_is_audited_and_shown_by_status(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    forced = run_cli(
        "force", ROUTE, "open", "--reason", "vendor incident", redis_url=redis_url, keys=keys
    )
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.strip() == f"{ROUTE}: -> forced_open (version 1)"
    table = run_cli("status", redis_url=redis_url, keys=keys).stdout
    [line] = [row for row in table.splitlines() if row.startswith(ROUTE)]
    assert line.split()[1:3] == ["forced_open", "forced:"]
    assert "forced: vendor incident" in line
    again = run_cli("force", ROUTE, "open", redis_url=redis_url, keys=keys)
    assert again.stdout.strip() == f"{ROUTE}: already forced_open (version 1)"
    released = run_cli("force", ROUTE, "auto", redis_url=redis_url, keys=keys)
    assert released.stdout.strip() == f"{ROUTE}: -> closed (version 2)"
    entries = await redis_client.xrange(keys.events)
    assert [(e[b"reason"], e[b"detail"]) for _, e in entries] == [
        (b"forced", b"vendor incident"),
        (b"released", b"forced from the CLI"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("force", "no-slash", "open"), "route id 'no-slash' has no '/'"),
        (("force", "anthropic/unknown-model", "open"), "unknown route 'anthropic/unknown-model'"),
        (("force", ROUTE, "half_open"), "unknown state 'half_open': use open, closed or auto"),
    ],
)
async def test_bad_input_is_one_line_a_non_zero_exit_and_nothing_written(
    redis_url: str, keys: Keys, redis_client: Redis, args: tuple[str, ...], message: str
) -> None:
    done = run_cli(*args, redis_url=redis_url, keys=keys)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr
    assert "Traceback" not in done.stderr
    assert await _keys_written(redis_client, keys) == []


async def test_a_redis_that_does_not_answer_is_one_line_with_the_password_redacted(
    keys: Keys,
) -> None:
    done = run_cli("status", redis_url="redis://ops:hunter2@127.0.0.1:1/0", keys=keys)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "routeguard: error: Redis at redis://ops:***@127.0.0.1:1/0 does not answer "
        "(ConnectionError); check ROUTEGUARD_REDIS_URL and that the server is running"
    )
    assert "hunter2" not in done.stdout + done.stderr


def test_check_config_exits_zero_for_a_valid_file_and_one_with_its_message(keys: Keys) -> None:
    ok = run_cli("check-config", str(CATALOG), redis_url="redis://unused:1", keys=keys)
    assert ok.returncode == 0 and "ok (4 providers, 3 routes)" in ok.stdout
    bad_file = CATALOG.with_name("invalid-unknown-breaker-key.yaml")
    bad = run_cli("check-config", str(bad_file), redis_url="redis://unused:1", keys=keys)
    assert bad.returncode == 1
    assert "breaker.windw_s: unknown key" in bad.stderr and "Traceback" not in bad.stderr
