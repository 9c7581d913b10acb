"""Hostile requests to the daemon's HTTP API and to the simulator's admin API.

Raw header bytes that are not UTF-8, JSON nested past the parser's recursion
limit, and (for the simulator) state changes a web page could send: each gets a
4xx with a JSON error, never a 500, and changes nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from redis.asyncio import Redis

from routeguard.breaker import Keys
from routeguard.daemon.app import Daemon
from routeguard.sim import SimCluster, SimProvider

from .daemon_helpers import ADMIN_TOKEN, catalog_from, running_daemon

QUIET = """
providers:
  dead: {flavour: openai, base_url: "http://127.0.0.1:1/v1", api_key_env: null}
models:
  m: [dead/model-a]
probes: {interval_s: 3600}
"""
FORCE = "/v1/routes/dead/model-a/force"
DEEP = b"[" * 8_000 + b"]" * 8_000  # under the 16 KiB body limit, past json's recursion
NOT_UTF8 = [b"Bearer \xff\xfe\xfd", b"Bearer \xc3", "Bearer tökén".encode("latin-1")]


async def raw_request(
    url: str, method: str, path: str, headers: bytes, body: bytes
) -> tuple[int, dict]:  # type: ignore[type-arg]
    """Send bytes as they are (httpx refuses non-ASCII header values); status and JSON body."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        head = f"{method} {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
        length = f"Content-Length: {len(body)}\r\n\r\n".encode()
        writer.write(head.encode() + headers + length + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), json.loads(payload)


@pytest.fixture
async def daemon(redis_url: str, keys: Keys, redis_client: Redis) -> AsyncIterator[Daemon]:
    async with running_daemon(catalog_from(QUIET), redis_url, keys) as running:
        yield running


@pytest.mark.redis
@pytest.mark.parametrize("token", NOT_UTF8, ids=["ff-fe", "cut-utf8", "latin-1"])
async def test_a_non_ascii_authorization_header_is_a_4xx_on_the_force_endpoint(
    daemon: Daemon, redis_client: Redis, keys: Keys, token: bytes
) -> None:
    headers = b"Authorization: " + token + b"\r\nContent-Type: application/json\r\n"
    status, body = await raw_request(daemon.http_url, "POST", FORCE, headers, b'{"state":"open"}')
    assert 400 <= status < 500 and body["error"]
    assert await redis_client.xlen(keys.events) == 0


@pytest.mark.redis
async def test_deeply_nested_json_is_a_400_on_the_force_endpoint(
    daemon: Daemon, redis_client: Redis, keys: Keys
) -> None:
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient() as client:
        r = await client.post(daemon.http_url + FORCE, content=DEEP, headers=auth)
    assert r.status_code == 400 and "malformed JSON" in r.json()["error"]
    assert await redis_client.xlen(keys.events) == 0


@pytest.mark.redis
async def test_a_force_is_logged_with_route_state_reason_and_client_address_never_the_token(
    daemon: Daemon, caplog: pytest.LogCaptureFixture
) -> None:
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with caplog.at_level(logging.INFO, logger="routeguard.daemon.http"):
        async with httpx.AsyncClient() as client:
            body = {"state": "open", "reason": "vendor incident"}
            r = await client.post(daemon.http_url + FORCE, json=body, headers=auth)
    assert r.status_code == 200
    [line] = [rec.getMessage() for rec in caplog.records if rec.name == "routeguard.daemon.http"]
    assert line == "force over HTTP: dead/model-a -> open (reason 'vendor incident') from 127.0.0.1"
    assert ADMIN_TOKEN not in caplog.text


@pytest.fixture
async def sim() -> AsyncIterator[SimCluster]:
    provider = SimProvider("openai-sim", "openai", ["gpt-4o-mini"], "sk-sim", "openai")
    async with SimCluster([provider], seed=1) as cluster:
        yield cluster


FAULTS = "/admin/providers/openai-sim/faults"


async def test_the_simulator_admin_api_gives_a_4xx_for_deep_json_and_odd_header_bytes(
    sim: SimCluster,
) -> None:
    status, body = await raw_request(sim.admin_url, "PUT", FAULTS, b"", DEEP)
    assert status == 400 and body["error"]["field"] == "body"
    for token in NOT_UTF8:
        headers = b"Authorization: " + token + b"\r\nContent-Type: application/json\r\n"
        status, body = await raw_request(sim.admin_url, "PUT", FAULTS, headers, b'{"nope": 1}')
        assert status == 422 and body["error"]["field"] == "nope", "the header is ignored"
    assert sim["openai-sim"].faults.as_doc() == {}


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"Origin": "http://evil.example"}, "origin"),
        ({"Origin": "null"}, "origin"),
        ({"Content-Type": "application/x-www-form-urlencoded"}, "content-type"),
        ({"Content-Type": "text/plain"}, "content-type"),
        ({"Content-Type": "multipart/form-data; boundary=x"}, "content-type"),
    ],
)
async def test_the_simulator_admin_api_refuses_state_changes_a_web_page_could_send(
    sim: SimCluster, headers: dict[str, str], field: str
) -> None:
    async with httpx.AsyncClient() as client:
        for method, path in (("PUT", FAULTS), ("PATCH", FAULTS), ("POST", "/admin/reset")):
            url = sim.admin_url.removesuffix("/admin") + path
            r = await client.request(method, url, content=b'{"error_rate": 1.0}', headers=headers)
            assert r.status_code == 403 and r.json()["error"]["field"] == field, (method, r.text)
        listing = await client.get(sim.admin_url + "/providers", headers=headers)
        assert listing.status_code == 200, "reads stay open"
    assert sim["openai-sim"].faults.as_doc() == {} and sim["openai-sim"].is_up


async def test_the_simulator_admin_api_accepts_its_own_origin_and_plain_json(
    sim: SimCluster,
) -> None:
    own = sim.admin_url.removesuffix("/admin")
    async with httpx.AsyncClient() as client:
        r = await client.put(
            sim.admin_url + "/providers/openai-sim/faults",
            json={"error_rate": 0.5},
            headers={"Origin": own},
        )
        assert r.status_code == 200 and r.json()["faults"] == {"error_rate": 0.5}
        down = await client.post(sim.admin_url + "/providers/openai-sim/down")
        assert down.status_code == 200, "a body-less POST (curl -X POST) still works"
