"""A loopback TCP proxy that can hang: the network fault where nothing refuses.

Forwards every connection to an upstream (a test's Redis). `hang()` stops
forwarding in both directions without closing anything, and new connections are
accepted but never connected upstream: what a client sees when a firewall drops
packets or a link dies silently. Nothing is lost while hung (bytes wait in the
kernel's buffers, as TCP would retransmit them); `heal()` lets them flow again.
"""

from __future__ import annotations

import asyncio
import contextlib


class BlackholeProxy:
    """`127.0.0.1:<port>` -> `upstream_host:upstream_port`, switchable to a black hole."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def hang(self) -> None:
        self._flowing.clear()

    def heal(self) -> None:
        self._flowing.set()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> BlackholeProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        this = asyncio.current_task()
        assert this is not None
        self._tasks.add(this)  # stop() cancels a connection waiting on a hung link too
        self._writers.add(writer)
        try:
            await self._flowing.wait()  # accepted, but never answered while hung
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
            self._writers.add(up_writer)
            pumps = [
                self._spawn(self._pump(reader, up_writer)),
                self._spawn(self._pump(up_reader, writer)),
            ]
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
            for pump in pumps:
                pump.cancel()
            up_writer.close()
        except OSError:
            pass
        finally:
            writer.close()
            self._tasks.discard(this)

    def _spawn(self, work) -> asyncio.Task[None]:  # type: ignore[no-untyped-def]
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while True:
                await self._flowing.wait()
                data = await source.read(65536)
                if not data:
                    return
                await self._flowing.wait()  # a chunk read just as the link hung waits too
                sink.write(data)
                await sink.drain()
