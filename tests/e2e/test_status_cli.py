"""`routeguard status` and `routeguard providers` as a user runs them, beside a running
daemon: the same records as the HTTP API, the force reason and outage time in the table,
filters, and `--watch` following transitions until Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from conftest import eventually

from routeguard.breaker import Keys
from routeguard.daemon.app import Daemon

from .daemon_helpers import UNREACHABLE_PAIR, catalog_from, get_json, running_daemon

pytestmark = pytest.mark.redis
CATALOG = UNREACHABLE_PAIR + "  solo: [b/m]\n"
STABLE = ("route", "provider", "model", "state", "reason", "detail", "since", "version")
STABLE += ("open_until", "trips", "outage_since", "models")


@pytest.fixture
async def daemon(redis_url: str, keys: Keys, tmp_path: Path) -> AsyncIterator[Daemon]:
    (tmp_path / "catalog.yaml").write_text(CATALOG)
    async with running_daemon(catalog_from(CATALOG), redis_url, keys) as running:
        yield running


def cli_env(redis_url: str, keys: Keys, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTEGUARD_")}
    return env | {
        "ROUTEGUARD_REDIS_URL": redis_url,
        "ROUTEGUARD_KEY_PREFIX": keys.prefix,
        "ROUTEGUARD_CONFIG": str(tmp_path / "catalog.yaml"),
    }


async def cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "routeguard.cli", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def shape(value: Any) -> Any:
    """The keys of a JSON document, all the way down (values vary with the clock)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(v) for v in value[:1]]
    return type(value).__name__ if value is not None else None


async def test_status_json_and_providers_json_are_the_apis_records(
    daemon: Daemon, redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    assert daemon.store is not None
    await daemon.store.force("a/m", "open", "maintenance window")
    env = cli_env(redis_url, keys, tmp_path)
    code, out, err = await cli(env, "status", "--json")
    assert code == 0, err
    printed = json.loads(out)["routes"]
    served = await get_json(daemon, "/v1/routes")
    assert isinstance(served, dict)
    assert [shape(r) | {"uptime": None, "probes": None} for r in printed] == [
        shape(r) | {"uptime": None, "probes": None} for r in served["routes"]
    ]
    assert (
        set(printed[0]["uptime"])
        == set(served["routes"][0]["uptime"])
        == {"5m", "30m", "1h", "1d", "30d"}
    )
    assert [{k: r[k] for k in STABLE} for r in printed] == [
        {k: r[k] for k in STABLE} for r in served["routes"]
    ]
    assert printed[0]["models"] == ["chat"] and printed[1]["models"] == ["chat", "solo"]
    code, out, err = await cli(env, "providers", "--json")
    assert code == 0, err
    served_providers = await get_json(daemon, "/v1/providers")
    assert isinstance(served_providers, dict)
    assert shape(json.loads(out)) == shape(served_providers)


async def test_the_table_tells_why_since_when_and_for_whom_and_filters(
    daemon: Daemon, redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    assert daemon.store is not None
    await daemon.store.force("a/m", "open", "vendor incident 42")
    env = cli_env(redis_url, keys, tmp_path)
    code, out, _ = await cli(env, "status")
    assert code == 0
    header, *rows = out.splitlines()
    assert header.split()[:6] == ["ROUTE", "STATE", "REASON", "SINCE", "OUTAGE", "OPEN"]
    [a_row] = [r for r in rows if r.startswith("a/m")]
    assert "forced_open" in a_row and "forced: vendor incident 42" in a_row
    assert " chat " in a_row and "s ago" in a_row
    code, out, _ = await cli(env, "status", "--state", "forced_open,open", "--provider", "a")
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["a/m"]
    code, out, _ = await cli(env, "status", "--provider", "b")
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["b/m"]
    code, _, err = await cli(env, "status", "--provider", "nobody")
    assert code == 2 and err.count("\n") == 1 and "'nobody' is not in the catalog: use a, b" in err
    code, out, _ = await cli(env, "providers")
    assert code == 0
    assert out.splitlines()[0].split()[:3] == ["PROVIDER", "UP", "OBJECTIVE"]
    assert [line.split()[:2] for line in out.splitlines()[1:]] == [["a", "0/1"], ["b", "1/1"]]


async def test_watch_prints_each_transition_until_ctrl_c(
    daemon: Daemon, redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    assert daemon.store is not None
    env = cli_env(redis_url, keys, tmp_path)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "routeguard.cli", "status", "--watch", "--provider", "a", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    lines: list[str] = []

    async def read() -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            lines.append(raw.decode())

    reader = asyncio.create_task(read())
    try:
        await eventually(
            lambda: any(line.startswith("a/m") for line in lines), timeout_s=20, what="first table"
        )
        assert not any("b/m" in line for line in lines)
        await daemon.store.force("a/m", "open", "game day")
        await eventually(
            lambda: any(line.startswith("a/m") and "forced_open" in line for line in lines),
            timeout_s=5,
            what="the transition in the watch",
        )
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = await asyncio.wait_for(proc.wait(), timeout=15)
        except TimeoutError:
            proc.kill()  # never leave a hung watch behind the test
            await proc.wait()
            pytest.fail("status --watch did not stop within 15 s of Ctrl-C")
        finally:
            reader.cancel()
    assert code == 0
