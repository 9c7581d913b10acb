"""The daemon's probe client (aiohttp) over real loopback sockets: what it sends, what it
keeps, and which connections it reuses."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from routeguard.outcomes import Outcome
from routeguard.probes import ProbeRunner, ProbeTarget
from routeguard.probes.clients import ProviderClients
from routeguard.providers import OPENAI, Endpoint, ProbeRequest
from routeguard.tiers import ProbeTier

COMPLETION = {
    "id": "c1",
    "object": "chat.completion",
    "created": 1,
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "p"}}],
    "usage": {"prompt_tokens": 8, "completion_tokens": 1, "total_tokens": 9},
}


@dataclass
class Seen:
    """What the server saw of each request."""

    headers: list[dict[str, str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    peers: list[tuple[str, int]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


async def _serve() -> tuple[web.AppRunner, str, Seen]:
    seen = Seen()

    async def completions(request: web.Request) -> web.StreamResponse:
        seen.headers.append(dict(request.headers))
        seen.bodies.append(await request.read())
        seen.peers.append(request.transport.get_extra_info("peername"))  # type: ignore[union-attr]
        seen.paths.append(request.path)
        kind = request.headers.get("x-kind", "")
        if kind == "redirect":
            raise web.HTTPFound("/v1/chat/completions")
        if kind == "gzip":
            body = gzip.compress(json.dumps(COMPLETION).encode())
            headers = {"content-encoding": "gzip", "content-type": "application/json"}
            return web.Response(body=body, headers=headers)
        if kind == "big":
            return web.Response(body=b"x" * (4 * 1024 * 1024), content_type="application/json")
        response = web.json_response(COMPLETION)
        response.set_cookie("__cf_bm", "tracking")
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/v1", seen


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Seen]]:
    runner, url, seen = await _serve()
    try:
        yield url, seen
    finally:
        await runner.cleanup()


@pytest.fixture
async def clients() -> AsyncIterator[ProviderClients]:
    made = ProviderClients()
    try:
        yield made
    finally:
        await made.aclose()


def _target(base_url: str, kind: str = "") -> ProbeTarget:
    headers = {"authorization": "Bearer sk-probe", "x-kind": kind}
    endpoint = Endpoint("acme", base_url, headers)
    return ProbeTarget(endpoint, OPENAI, ProbeTier.COMPLETION, "m", 5.0)


async def test_a_probe_sends_its_json_and_headers_and_reads_the_answer(
    server: tuple[str, Seen], clients: ProviderClients
) -> None:
    url, seen = server
    result = await ProbeRunner(clients).run(_target(url))
    assert result.outcome is Outcome.OK and result.classified.input_tokens == 8
    [headers] = seen.headers
    assert headers["Authorization"] == "Bearer sk-probe"
    assert headers["Content-Type"] == "application/json"
    body = json.loads(seen.bodies[0])
    assert body["model"] == "m" and body["messages"]
    assert b": " not in seen.bodies[0], "compact JSON, as httpx sends it"


async def test_a_codecs_own_content_type_is_not_doubled(
    server: tuple[str, Seen], clients: ProviderClients
) -> None:
    url, seen = server
    request = ProbeRequest(
        "POST", f"{url}/chat/completions", {"Content-Type": "application/json"}, {"a": 1}
    )
    answer = await clients(Endpoint("acme", url)).send(request)
    await answer.aclose()
    assert answer.status_code == 200
    assert list(seen.headers[0]).count("Content-Type") == 1


async def test_cookies_a_provider_sets_are_not_sent_back(
    server: tuple[str, Seen], clients: ProviderClients
) -> None:
    url, seen = server
    runner = ProbeRunner(clients)
    for _ in range(2):
        assert (await runner.run(_target(url))).outcome is Outcome.OK
    assert all("Cookie" not in h for h in seen.headers)


async def test_a_redirect_is_judged_as_it_came_not_followed(
    server: tuple[str, Seen], clients: ProviderClients
) -> None:
    url, seen = server
    result = await ProbeRunner(clients).run(_target(url, kind="redirect"))
    assert result.classified.status == 302
    assert result.outcome is not Outcome.OK
    assert len(seen.paths) == 1


async def test_a_gzipped_answer_is_decoded(
    server: tuple[str, Seen], clients: ProviderClients
) -> None:
    url, _ = server
    result = await ProbeRunner(clients).run(_target(url, kind="gzip"))
    assert result.outcome is Outcome.OK and result.classified.output_tokens == 1


async def test_a_connection_is_reused_after_a_whole_answer(
    server: tuple[str, Seen], clients: ProviderClients
) -> None:
    url, seen = server
    runner = ProbeRunner(clients)
    for _ in range(3):
        await runner.run(_target(url))
    assert len(set(seen.peers)) == 1, "one connection, kept alive"


async def test_an_answer_left_unread_closes_its_connection(server: tuple[str, Seen]) -> None:
    """One connection allowed: a leaked one would hang the second request, one handed
    back with 4 MiB unread would garble it; a closed one makes room for a new one."""
    url, seen = server
    clients = ProviderClients(connections=1)
    client = clients(Endpoint("acme", url))
    try:
        request = ProbeRequest("POST", f"{url}/chat/completions", {"x-kind": "big"}, {"a": 1})
        answer = await client.send(request)
        async for _ in answer.aiter_bytes():
            break  # the first chunk, then the probe gives up on the rest
        await answer.aclose()
        async with asyncio.timeout(5):
            whole = await client.send(ProbeRequest("POST", f"{url}/chat/completions", {}, {}))
            body = b"".join([chunk async for chunk in whole.aiter_bytes()])
            await whole.aclose()
    finally:
        await clients.aclose()
    assert json.loads(body) == COMPLETION
    assert len(set(seen.peers)) == 2


async def test_each_provider_has_its_own_session_made_once(clients: ProviderClients) -> None:
    openai = Endpoint("openai", "https://api.openai.com/v1")
    first = clients(openai)
    assert clients(openai) is first
    assert (
        clients(Endpoint("anthropic", "https://api.anthropic.com/v1")).session is not first.session
    )
    assert len(clients) == 2


async def test_closing_closes_every_session_and_starts_over() -> None:
    clients = ProviderClients(connections=2)
    a, b = Endpoint("a", "http://a.invalid"), Endpoint("b", "http://b.invalid")
    made = [clients(a), clients(b)]
    await clients.aclose()
    assert [c.session.closed for c in made] == [True, True]
    assert len(clients) == 0
    assert not clients(a).session.closed  # a later probe gets a fresh one
    await clients.aclose()


async def _canned_proxy() -> tuple[asyncio.Server, str, list[bytes]]:
    """A forward proxy that answers every request itself, and notes its request line."""
    lines: list[bytes] = []
    answer = json.dumps(COMPLETION).encode()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines.append(head.split(b"\r\n", 1)[0])
        length = next(
            (
                int(h.split(b":")[1])
                for h in head.split(b"\r\n")
                if h.lower().startswith(b"content-length:")
            ),
            0,
        )
        await reader.readexactly(length)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            + f"content-length: {len(answer)}\r\n\r\n".encode()
            + answer
        )
        await writer.drain()
        writer.close()

    proxy = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = proxy.sockets[0].getsockname()[1]
    return proxy, f"http://127.0.0.1:{port}", lines


async def test_the_environments_proxy_carries_the_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy, proxy_url, lines = await _canned_proxy()
    monkeypatch.setenv("HTTP_PROXY", proxy_url)
    monkeypatch.setenv("NO_PROXY", "direct.invalid")
    clients = ProviderClients()
    try:
        result = await ProbeRunner(clients).run(_target("http://provider.invalid/v1"))
        direct = await ProbeRunner(clients).run(
            ProbeTarget(
                Endpoint("other", "http://direct.invalid/v1"),
                OPENAI,
                ProbeTier.COMPLETION,
                "m",
                5.0,
            )
        )
    finally:
        await clients.aclose()
        proxy.close()
    assert result.outcome is Outcome.OK
    assert lines == [b"POST http://provider.invalid/v1/chat/completions HTTP/1.1"]
    assert direct.outcome is Outcome.CONNECT_ERROR, "NO_PROXY: sent direct, and no such host"
