"""Bad answers over real loopback sockets: each ends as a classified outcome,
within the probe timeout, and the probe_runner is never stuck or crashed."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import pytest

from routeguard.outcomes import Outcome
from routeguard.probes import ProbeRunner, ProbeTarget
from routeguard.providers import OPENAI, Endpoint
from routeguard.tiers import ProbeTier

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
TIMEOUT_S = 1.0


async def _serve(handler: Handler) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def _target(base_url: str, tier: str = "completion") -> ProbeTarget:
    endpoint = Endpoint("raw", base_url, {"authorization": "Bearer k"}, vendor="")
    return ProbeTarget(endpoint, OPENAI, ProbeTier(tier), "m", TIMEOUT_S)


async def _read_request(reader: asyncio.StreamReader) -> None:
    await reader.readuntil(b"\r\n\r\n")


async def _probe(
    probe_runner: ProbeRunner, handler: Handler, tier: str = "completion", scheme: str = "http"
) -> tuple[Outcome, float]:
    server, port = await _serve(handler)
    try:
        result = await probe_runner.run(_target(f"{scheme}://127.0.0.1:{port}/v1", tier))
    finally:
        server.close()
    return result.outcome, result.duration_s


async def test_garbage_instead_of_http_is_classified(probe_runner: ProbeRunner) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"\x00\x01 this is not HTTP at all\r\n\r\n")
        await writer.drain()
        writer.close()

    outcome, _ = await _probe(probe_runner, garbage)
    assert outcome in (Outcome.CONNECT_ERROR, Outcome.BAD_RESPONSE)


async def test_a_server_that_never_answers_is_a_timeout_within_the_deadline(
    probe_runner: ProbeRunner,
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    outcome, took = await _probe(probe_runner, silent)
    assert outcome is Outcome.TIMEOUT
    assert took < TIMEOUT_S + 1


async def test_a_stream_that_never_ends_is_a_timeout_within_the_deadline(
    probe_runner: ProbeRunner,
) -> None:
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        )
        for _ in range(600):  # bounded: 30 s at most, the probe leaves after 1 s
            frame = b": keep-alive\n\n"
            writer.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
            await writer.drain()
            await asyncio.sleep(0.05)

    outcome, took = await _probe(probe_runner, endless, tier="stream")
    assert outcome is Outcome.TIMEOUT
    assert took < TIMEOUT_S + 1


async def test_a_fifty_megabyte_body_is_refused_quickly(probe_runner: ProbeRunner) -> None:
    size = 50 * 1024 * 1024

    async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(
            f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {size}\r\n\r\n".encode()
        )
        chunk = b" " * (1024 * 1024)
        try:
            for _ in range(50):
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass

    outcome, took = await _probe(probe_runner, huge, tier="liveness")
    assert outcome is Outcome.BAD_RESPONSE
    assert took < TIMEOUT_S


async def test_a_tls_handshake_failure_is_a_connect_error(probe_runner: ProbeRunner) -> None:
    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\nnot TLS")
        await writer.drain()
        writer.close()

    outcome, _ = await _probe(probe_runner, plain, scheme="https")
    assert outcome is Outcome.CONNECT_ERROR


async def test_a_dns_failure_is_a_connect_error(
    probe_runner: ProbeRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = socket.getaddrinfo

    def no_such_host(host: object, *args: object, **kwargs: object) -> object:
        if host == "provider.example":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    result = await probe_runner.run(_target("http://provider.example/v1"))
    assert result.outcome is Outcome.CONNECT_ERROR
