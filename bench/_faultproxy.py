"""A counting TCP proxy in front of each simulated provider, for bench/failover.py.

Attempts are counted where they happen: every connection a client opens to a
provider is counted here, with its time, whatever the client's own bookkeeping
says (SDK retries included). While a provider is "down" the proxy accepts and
immediately resets each connection (a reset before any response: the
`connect_error` class for every system alike) so that even the attempts into a
dead provider are counted; when it is up it forwards bytes to the simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time


class CountingProxy:
    """127.0.0.1:<port> -> the simulator's port, with an up/down switch."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.down = False
        self.attempts: list[float] = []  # wall-clock times of accepted connections
        self._server: asyncio.Server | None = None
        self._live: set[asyncio.StreamWriter] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._live):
            _reset(writer)

    def set_down(self, down: bool) -> None:
        self.down = down
        if down:
            for writer in list(self._live):
                _reset(writer)  # pooled connections die with the provider

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.attempts.append(time.time())
        if self.down:
            _reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            _reset(writer)
            return
        self._live.update((writer, up_writer))
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._live.discard(writer)
            self._live.discard(up_writer)
            for w in (writer, up_writer):
                w.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.close()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a dead host's stack would answer."""
    sock = writer.get_extra_info("socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()
