"""A finished stream gives its connection back to the pool: the next call reuses it
(one new TCP connection per streamed call cost the proxy more than the call itself)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from routeguard.client import ChatRoute, send_chat
from routeguard.sim import SimProvider

from .daemon_helpers import catalog_from
from .proxy_helpers import SIM_KEY, SIM_KEY_ENV

MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}


class CountingSender:
    """An httpx client whose requests count the TCP connections they open."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self.connects = 0

    async def _trace(self, event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            self.connects += 1

    def build_request(self, method: str, url: str, **kwargs: Any) -> httpx.Request:
        request = self._client.build_request(method, url, **kwargs)
        request.extensions["trace"] = self._trace
        return request

    async def send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        return await self._client.send(request, stream=stream)


@pytest.mark.parametrize("flavour", sorted(MODELS))
async def test_five_streamed_calls_share_one_connection(
    flavour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SIM_KEY_ENV, SIM_KEY)
    model = MODELS[flavour]
    async with SimProvider("p", flavour, (model,), SIM_KEY, flavour) as sim:
        catalog = catalog_from(
            f"providers:\n  p: {{flavour: {flavour}, base_url: {sim.base_url}, "
            f"api_key_env: {SIM_KEY_ENV}}}\nmodels:\n  m: [p/{model}]\n"
        )
        chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        async with httpx.AsyncClient() as client:
            sender = CountingSender(client)
            for _ in range(5):
                answer = await send_chat(sender, ChatRoute.of(catalog, f"p/{model}"), chat)
                assert answer.classified.ok, answer.classified
    assert sender.connects == 1
