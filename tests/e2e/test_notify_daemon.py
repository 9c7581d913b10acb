"""The daemon's notifier end to end: simulator outage -> breaker -> signed webhook -> receiver.

In-process daemons show the HTTP side (`GET /v1/notifications`, the metrics,
dismissing a failure); `routeguard run` processes show that a daemon killed
with SIGKILL between a transition and its delivery loses nothing on restart.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from conftest import eventually
from redis.asyncio import Redis

from routeguard.breaker import Keys
from routeguard.daemon.app import Daemon
from routeguard.notify.signing import secret_key, verify
from routeguard.sim import SimCluster, SimProvider

from .daemon_helpers import ADMIN_TOKEN, HTTP_POLL_S, catalog_from, get_json, running_daemon

pytestmark = pytest.mark.redis

KEY = "sk-sim-e2e-key-0002"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ENV = {"SIM_KEY": KEY, "HOOK_SECRET": SECRET}
NOTIFY = """
probes: {{interval_s: 0.5, suspect_interval_s: 0.2, timeout_s: 1.0}}
breaker: {{open_s: 1.0, open_max_s: 4}}
notify:
  page_after_s: 0
  group_window_s: 0
  delivery: {{max_attempts: 2, backoff_s: 0.05, backoff_max_s: 0.1, timeout_s: 1, claim_idle_s: 1}}
  channels:
    hook: {{type: webhook, url: "{url}", secret_env: HOOK_SECRET}}
"""


@dataclass
class Receiver:
    """Answers `default`; the first `hold_first` requests are never answered."""

    default: int = 200
    hold_first: int = 0
    arrivals: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""
    _never: asyncio.Event = field(default_factory=asyncio.Event)

    def types(self) -> list[str]:
        return [json.loads(body)["type"] for _, body in self.arrivals]

    async def handle(self, request: web.Request) -> web.Response:
        self.arrivals.append(
            ({k.lower(): v for k, v in request.headers.items()}, await request.read())
        )
        if len(self.arrivals) <= self.hold_first:
            await self._never.wait()
        return web.Response(status=self.default)


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[Receiver]:
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield receiver
    finally:
        receiver._never.set()
        await runner.cleanup()


def signed(headers: dict[str, str], body: bytes) -> bool:
    return verify(secret_key(SECRET, "HOOK_SECRET"), headers, body, now_s=time.time())


@pytest.fixture
async def sim() -> AsyncIterator[SimCluster]:
    provider = SimProvider("oa", "openai", ("gpt-4o-mini",), KEY, "openai")
    async with SimCluster([provider], seed=5) as running:
        yield running


def sim_catalog_text(cluster: SimCluster, url: str) -> str:
    base = cluster["oa"].base_url
    head = f"providers:\n  oa: {{flavour: openai, base_url: {base}, api_key_env: SIM_KEY}}\n"
    return head + "models:\n  mini: [oa/gpt-4o-mini]\n" + NOTIFY.format(url=url)


@asynccontextmanager
async def notifying_daemon(
    cluster: SimCluster, url: str, redis_url: str, keys: Keys
) -> AsyncIterator[Daemon]:
    catalog = catalog_from(sim_catalog_text(cluster, url))
    async with running_daemon(catalog, redis_url, keys, env=ENV) as daemon:
        yield daemon


async def _metrics(daemon: Daemon) -> str:
    async with httpx.AsyncClient() as client:
        return (await client.get(daemon.http_url + "/metrics")).text


def _sample(text: str, name: str, labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(f"{name}{{{labels}}} "):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_an_outage_pages_and_its_recovery_resolves_through_the_daemon(
    sim: SimCluster, redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with (
        receiving(Receiver()) as rx,
        notifying_daemon(sim, rx.url, redis_url, keys) as daemon,
    ):
        await sim["oa"].down()

        async def paged() -> bool:
            return rx.types() == ["incident.triggered"]

        await eventually(paged, timeout_s=15, what="the page")
        await sim["oa"].up()

        async def resolved() -> bool:
            return rx.types() == ["incident.triggered", "incident.resolved"]

        await eventually(resolved, timeout_s=20, what="the resolve")
        assert all(signed(h, b) for h, b in rx.arrivals)
        view: Any = await get_json(daemon, "/v1/notifications")
        assert view["enabled"] is True and view["channels"] == [{"name": "hook", "type": "webhook"}]
        assert [d["action"] for d in view["deliveries"]] == ["resolve", "trigger"]
        assert view["failed"] == [] and view["incidents"] == []
        text = json.dumps(view)
        assert rx.url not in text and "whsec" not in text and SECRET[6:] not in text
        metrics = await _metrics(daemon)
        assert (
            _sample(metrics, "routeguard_notifications_total", 'channel="hook",outcome="delivered"')
            == 2
        )


async def test_a_failing_receiver_shows_as_failed_in_the_api_and_the_metric_until_dismissed(
    sim: SimCluster, redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with (
        receiving(Receiver(default=500)) as rx,
        notifying_daemon(sim, rx.url, redis_url, keys) as daemon,
    ):
        await sim["oa"].down()

        async def failed() -> bool:
            view: Any = await get_json(daemon, "/v1/notifications")
            return len(view["failed"]) == 1

        await eventually(failed, timeout_s=15, what="a kept failure", interval_s=HTTP_POLL_S)
        view: Any = await get_json(daemon, "/v1/notifications")
        [failure] = view["failed"]
        assert (failure["error"], failure["attempts"], failure["action"]) == (
            "HTTP 500",
            2,
            "trigger",
        )
        assert len(rx.arrivals) == 2
        metrics = await _metrics(daemon)
        assert _sample(metrics, "routeguard_notifications_failed", 'channel="hook"') == 1
        dismiss = daemon.http_url + "/v1/notifications/dismiss"
        body = {"delivery_id": failure["delivery_id"]}
        async with httpx.AsyncClient() as client:
            assert (await client.post(dismiss, json=body)).status_code == 401
            auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            answer = await client.post(dismiss, json=body, headers=auth)
            assert answer.status_code == 200 and ADMIN_TOKEN not in answer.text
            assert (await client.post(dismiss, json=body, headers=auth)).status_code == 404
        metrics = await _metrics(daemon)
        assert _sample(metrics, "routeguard_notifications_failed", 'channel="hook"') == 0


async def test_without_channels_the_api_says_notifications_are_off(
    sim: SimCluster, redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    text = sim_catalog_text(sim, "http://127.0.0.1:9/hook").split("notify:")[0]
    async with running_daemon(catalog_from(text), redis_url, keys, env=ENV) as daemon:
        assert daemon.notifier is None
        view: Any = await get_json(daemon, "/v1/notifications")
        assert view == {
            "enabled": False,
            "channels": [],
            "incidents": [],
            "failed": [],
            "deliveries": [],
        }
        ready: Any = await get_json(daemon, "/readyz")
        assert "notifier" not in ready["checks"]


# -- a real process, killed with SIGKILL ---------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(catalog: Path, redis_url: str, keys: Keys, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTEGUARD_")}
    env |= {"ROUTEGUARD_REDIS_URL": redis_url, "ROUTEGUARD_KEY_PREFIX": keys.prefix}
    env |= {"ROUTEGUARD_HTTP_ADDR": f"127.0.0.1:{port}", "HOOK_SECRET": SECRET}
    command = [sys.executable, "-m", "routeguard.cli", "run", "--config", str(catalog)]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


DEAD = """
providers:
  dead: {{flavour: openai, base_url: "http://127.0.0.1:1/v1", api_key_env: null}}
models:
  m: [dead/model-a]
probes: {{interval_s: 0.3, suspect_interval_s: 0.2, timeout_s: 0.5}}
breaker: {{consecutive_failures: 2, open_s: 60, open_max_s: 60}}
""" + NOTIFY.split("breaker: {{open_s: 1.0, open_max_s: 4}}")[1]


async def test_a_daemon_killed_with_sigkill_mid_delivery_delivers_after_restart(
    tmp_path: Path, redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with receiving(Receiver(hold_first=1)) as rx:
        catalog = tmp_path / "catalog.yaml"
        catalog.write_text(DEAD.format(url=rx.url))
        first = _start(catalog, redis_url, keys, _free_port())
        try:

            async def in_flight() -> bool:
                return len(rx.arrivals) >= 1

            await eventually(in_flight, timeout_s=30, what="the trigger in flight")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        assert rx.types() == ["incident.triggered"]
        second = _start(catalog, redis_url, keys, _free_port())
        try:

            async def redelivered() -> bool:
                return len(rx.arrivals) >= 2

            await eventually(redelivered, timeout_s=30, what="the trigger after the restart")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=20)
        (h1, b1), (h2, b2) = rx.arrivals[:2]
        assert h1["webhook-id"] == h2["webhook-id"], "the same delivery, not a new incident"
        assert b1 == b2 and signed(h2, b2)
        assert rx.types() == ["incident.triggered", "incident.triggered"]
