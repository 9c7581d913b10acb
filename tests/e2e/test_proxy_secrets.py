"""The API key the proxy sent upstream never reaches its callers, its metrics or the
breaker, whatever shape a provider echoes it back in."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import generate_latest
from redis.asyncio import Redis

from routeguard.breaker import Keys

from .daemon_helpers import catalog_from
from .loopback import loopback_provider
from .proxy_helpers import running_proxy
from .test_probe_secrets import FORMS, KEY, _echoing_handler, _everything_stored

CATALOG = """
providers:
  echo: {flavour: openai, base_url: "BASE", api_key_env: ECHO_KEY}
models:
  m: [echo/model-a]
"""


async def test_a_key_echoed_back_reaches_no_caller_metric_or_redis_field(
    redis_url: str, keys: Keys, redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECHO_KEY", KEY)
    seen: list[str] = []
    async with loopback_provider(_echoing_handler()) as provider:
        catalog = catalog_from(CATALOG.replace("BASE", provider.base_url))
        async with running_proxy(catalog, redis_url, keys) as proxy, httpx.AsyncClient() as client:
            for stream in (False, True) * 4:  # every echo shape, whole and streamed
                answer = await client.post(
                    proxy.base_url + "/chat/completions",
                    json={
                        "model": "m",
                        "messages": [{"role": "user", "content": "hi"}],
                        "stream": stream,
                    },
                )
                seen += [answer.text, repr(dict(answer.headers))]
            seen.append(generate_latest(proxy.registry).decode())
            await proxy.health.close()  # flush what the proxy reported to the breaker
        seen.append(await _everything_stored(redis_client, keys))
    everything = "\n".join(seen)
    assert "Incorrect API key provided: ***" in everything, "the echoed details were kept"
    for form in FORMS:
        assert form not in everything, form
