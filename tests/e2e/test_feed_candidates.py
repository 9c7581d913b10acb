"""`GET /v1/models/{model}/candidates` against a running daemon and a real Redis.

A gateway in any language gets the client library's ranking over HTTP: the
order, what was skipped and why, panic mode, and a 400 naming any bad parameter.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import httpx
import pytest
from chaos.blackhole import BlackholeProxy
from redis.asyncio import Redis

from routeguard.breaker import Keys
from routeguard.client.candidates import Preferences, Sort, rank_candidates
from routeguard.client.view import RouteView
from routeguard.daemon.app import Daemon

from .daemon_helpers import ADMIN_TOKEN, catalog_from, running_daemon

pytestmark = pytest.mark.redis

# Nobody listens at port 1 and the first probe is an hour away: only forces move a route.
CATALOG = """
providers:
  a: {flavour: openai, base_url: "http://127.0.0.1:1/v1", api_key_env: null}
  b: {flavour: openai, base_url: "http://127.0.0.1:1/v1", api_key_env: null}
  c: {flavour: openai, base_url: "http://127.0.0.1:1/v1", api_key_env: null}
probes: {interval_s: 3600}
models:
  chat: [a/m, b/m, c/m]
  meta-llama/llama-3: [b/llama, c/llama]
"""
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def force(client: httpx.AsyncClient, daemon: Daemon, route: str, state: str) -> None:
    url = f"{daemon.http_url}/v1/routes/{route}/force"
    response = await client.post(url, json={"state": state, "reason": "test"}, headers=AUTH)
    assert response.status_code == 200, response.text


async def ask(client: httpx.AsyncClient, daemon: Daemon, path: str) -> dict[str, object]:
    response = await client.get(daemon.http_url + path)
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


def routes(body: dict[str, object]) -> list[str]:
    found = body["candidates"]
    assert isinstance(found, list)
    return [c["route"] for c in found]


async def test_candidates_rank_healthy_first_skip_open_routes_and_panic_when_none_is_up(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with (
        running_daemon(catalog_from(CATALOG), redis_url, keys) as daemon,
        httpx.AsyncClient() as client,
    ):
        body = await ask(client, daemon, "/v1/models/chat/candidates")
        assert body["model"] == "chat"
        assert body["candidates"] == [
            {"route": f"{p}/m", "provider": p, "model": "m", "state": "closed"} for p in "abc"
        ]
        assert (body["skipped"], body["panic"]) == ({}, False)
        assert isinstance(body["as_of"], str) and body["as_of"].endswith("Z")

        await force(client, daemon, "b/m", "open")
        body = await ask(client, daemon, "/v1/models/chat/candidates")
        assert routes(body) == ["a/m", "c/m"]
        assert body["skipped"] == {"b/m": "forced_open (forced)"}
        assert body["panic"] is False

        await force(client, daemon, "a/m", "open")
        await force(client, daemon, "c/m", "open")
        body = await ask(client, daemon, "/v1/models/chat/candidates")
        assert body["panic"] is True, "none is healthy: every allowed route, least bad first"
        assert routes(body) == ["a/m", "b/m", "c/m"]
        assert {c["state"] for c in body["candidates"]} == {"forced_open"}  # type: ignore[attr-defined]
        assert set(body["skipped"]) == {"a/m", "b/m", "c/m"}  # type: ignore[arg-type]

        # A public model whose name holds a slash.
        body = await ask(client, daemon, "/v1/models/meta-llama/llama-3/candidates")
        assert (body["model"], routes(body)) == ("meta-llama/llama-3", ["b/llama", "c/llama"])


@pytest.mark.parametrize(
    ("query", "expected", "skipped"),
    [
        ("order=c,b", ["c/m", "b/m", "a/m"], set()),
        ("order=c&allow_fallbacks=false", ["c/m"], {"a/m", "b/m"}),
        ("allow_fallbacks=FALSE", ["a/m"], {"b/m", "c/m"}),
        ("only=a,%20c", ["a/m", "c/m"], {"b/m"}),
        ("ignore=a", ["b/m", "c/m"], {"a/m"}),
        ("only=a,b&ignore=a&order=b", ["b/m"], {"a/m", "c/m"}),
        # No latency, throughput or price samples in the daemon: the catalog's order.
        ("sort=latency", ["a/m", "b/m", "c/m"], set()),
        ("sort=throughput&order=b", ["b/m", "a/m", "c/m"], set()),
        ("sort=price", ["a/m", "b/m", "c/m"], set()),
    ],
)
async def test_preferences_are_the_client_librarys(
    redis_url: str,
    keys: Keys,
    redis_client: Redis,
    query: str,
    expected: list[str],
    skipped: set[str],
) -> None:
    async with (
        running_daemon(catalog_from(CATALOG), redis_url, keys) as daemon,
        httpx.AsyncClient() as client,
    ):
        body = await ask(client, daemon, f"/v1/models/chat/candidates?{query}")
    assert routes(body) == expected
    assert set(body["skipped"]) == skipped  # type: ignore[arg-type]
    assert body["panic"] is False
    # The same answer as the library's ranking over the same (all closed) states.
    params = httpx.QueryParams(query)
    split = {
        k: [p.strip() for p in params[k].split(",")]
        for k in ("order", "only", "ignore")
        if k in params
    }
    prefs = Preferences(
        order=split.get("order"),
        only=split.get("only"),
        ignore=split.get("ignore"),
        allow_fallbacks=params.get("allow_fallbacks", "true").lower() == "true",
        sort=Sort(params["sort"]) if "sort" in params else None,
    )
    views = {r: RouteView(r) for r in ("a/m", "b/m", "c/m")}
    library = rank_candidates(
        ["a/m", "b/m", "c/m"], views, prefs, now_ms=time.time() * 1000, suspected=lambda r: False
    )
    assert list(library) == expected and set(library.skipped) == skipped


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/v1/models/nope/candidates", 404, "unknown model 'nope'"),
        ("/v1/models/chat/candidates?sort=fastest", 400, "sort must be one of"),
        ("/v1/models/chat/candidates?allow_fallbacks=maybe", 400, "allow_fallbacks must be"),
        ("/v1/models/chat/candidates?only=a,nobody", 400, "only: unknown provider 'nobody'"),
        ("/v1/models/chat/candidates?ignore=", 400, "ignore is empty"),
        ("/v1/models/chat/candidates?order=a&order=b", 400, "order is given more than once"),
        ("/v1/models/chat/candidates?colour=red", 400, "unknown parameter 'colour'"),
    ],
)
async def test_unknown_models_are_404_and_bad_parameters_400_naming_them(
    redis_url: str, keys: Keys, redis_client: Redis, path: str, status: int, message: str
) -> None:
    async with (
        running_daemon(catalog_from(CATALOG), redis_url, keys) as daemon,
        httpx.AsyncClient() as client,
    ):
        response = await client.get(daemon.http_url + path)
    assert response.status_code == status
    assert message in response.json()["error"]


async def test_a_hung_redis_gets_a_503_within_the_read_deadline_here_and_on_watch(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    target = urlsplit(redis_url)
    if target.scheme != "redis" or target.hostname is None:
        pytest.skip("the black hole proxies TCP only")
    async with (
        BlackholeProxy(target.hostname, target.port or 6379) as proxy,
        running_daemon(catalog_from(CATALOG), proxy.url, keys) as daemon,
        httpx.AsyncClient(timeout=10) as client,
    ):
        proxy.hang()
        answers = {}
        for path in ("/v1/models/chat/candidates", "/v1/routes/watch"):
            started = time.monotonic()
            response = await client.get(daemon.http_url + path)
            answers[path] = (response.status_code, time.monotonic() - started)
            assert "did not answer" in response.json()["error"]
        proxy.heal()
    assert all(status == 503 and took <= 2.0 for status, took in answers.values()), answers
