"""One simulated provider: its own aiohttp server on its own loopback port.

A hard `down` closes the listener and every open connection, so new connections
are refused as by a dead host; coming back up binds the same port again. Faults
change at runtime (`set_faults`, `patch_faults`, `set_model_faults`) and take
effect on the next request; an answer already being streamed keeps the faults it
started with, except that a never-ending stream ends when that fault is lifted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from random import Random
from types import TracebackType
from typing import Any

from aiohttp import web

from routeguard.sim.base import Wire
from routeguard.sim.faults import (
    Faults,
    ModelFaults,
    check_faults,
    overload_status,
    parse_faults,
)
from routeguard.sim.handler import handle
from routeguard.sim.stats import RateWindow, Stats
from routeguard.sim.wires import VENDORS, WIRES

LOOPBACK = "127.0.0.1"
SHUTDOWN_GRACE_S = 0.2
"""How long a stop or a hard down lets in-flight answers run before cutting them."""


class SimProvider:
    """A fake LLM provider speaking `flavour`'s wire format, with scripted faults."""

    def __init__(
        self,
        name: str,
        flavour: str,
        models: Sequence[str],
        api_key: str,
        vendor: str = "",
        *,
        port: int = 0,
        host: str = LOOPBACK,
        faults: Faults | Mapping[str, Any] | None = None,
        rng: Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        _check_identity(name, flavour, vendor, models, api_key)
        _check_address(host, port)
        self.name, self.flavour, self.vendor = name, flavour, vendor
        self.models: tuple[str, ...] = tuple(models)
        self.api_key = api_key
        self.host = host
        self.wire: Wire = WIRES[flavour]
        self.rng = rng if rng is not None else Random()
        self.clock = clock
        self.stats = Stats()
        self.window = RateWindow()
        self._port = port
        self._faults = self._checked(faults or Faults())
        self._cache: dict[str, ModelFaults] = {}
        self._runner: web.ServerRunner | None = None
        self._started = False
        self._lock = asyncio.Lock()
        self._active = 0

    def __repr__(self) -> str:
        return f"SimProvider({self.name!r}, {self.flavour!r}, url={self.base_url!r})"

    @property
    def port(self) -> int:
        """The port (the one picked, once started with port 0)."""
        return self._port

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self._port}"

    @property
    def base_url(self) -> str:
        """What a client's base URL is: `…/v1` (openai, anthropic) or `…/v1beta` (gemini)."""
        return self.root_url + self.wire.prefix

    @property
    def faults(self) -> Faults:
        return self._faults

    @property
    def is_up(self) -> bool:
        """True while the listener accepts connections."""
        return self._runner is not None

    @property
    def active_requests(self) -> int:
        """Requests being answered right now (streams included)."""
        return self._active

    def model_faults(self, model: str) -> ModelFaults:
        """The faults a request for `model` meets (cached until the faults change)."""
        key = model if model in self._faults.models else ""
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._faults.for_model(key)
        return found

    def error_status(self, model: str) -> int:
        """Status of injected errors for `model` (its error_status, else the overload one)."""
        return self.model_faults(model).error_status or overload_status(self.flavour)

    async def start(self) -> None:
        """Bind the port and serve (then close the listener again if `down` is set)."""
        async with self._lock:
            if self._started:
                return
            await self._listen()
            self._started = True
            if self._faults.down:
                await self._close()

    async def stop(self) -> None:
        """Close the listener and every connection."""
        async with self._lock:
            self._started = False
            await self._close()

    async def __aenter__(self) -> SimProvider:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def set_faults(self, faults: Faults | Mapping[str, Any]) -> Faults:
        """Replace every fault; raises FaultError (and changes nothing) on bad input."""
        return await self._apply(self._checked(faults))

    async def patch_faults(self, patch: Mapping[str, Any]) -> Faults:
        """Merge `patch` into the faults (RFC 7396: null removes a fault)."""
        return await self._apply(self._checked(self._faults.patched(patch)))

    async def set_model_faults(self, model: str, faults: Mapping[str, Any]) -> Faults:
        """Replace one model's override (`{}` removes it)."""
        return await self._apply(self._checked(self._faults.with_model(model, faults)))

    async def down(self) -> None:
        """Hard down: connections are refused until `up()`."""
        await self.patch_faults({"down": True})

    async def up(self) -> None:
        """Back up on the same port (the other faults stay)."""
        await self.patch_faults({"down": None})

    async def reset(self) -> None:
        """Healthy again: no faults, up, counts zeroed."""
        await self.set_faults(Faults())
        self.stats.reset()

    def describe(self) -> dict[str, Any]:
        """This provider as the admin API shows it."""
        return {
            "name": self.name,
            "flavour": self.flavour,
            "vendor": self.vendor,
            "base_url": self.base_url,
            "models": list(self.models),
            "up": self.is_up,
            "faults": self._faults.as_doc(),
            "active_requests": self._active,
            "stats": self.stats.as_doc(),
        }

    def _checked(self, faults: Faults | Mapping[str, Any]) -> Faults:
        parsed = faults if isinstance(faults, Faults) else parse_faults(faults)
        check_faults(parsed, self.models, self.flavour, self.vendor)
        return parsed

    async def _apply(self, faults: Faults) -> Faults:
        async with self._lock:
            before = self._faults
            self._faults, self._cache = faults, {}
            try:
                await self._follow_down()
            except OSError:
                self._faults, self._cache = before, {}
                raise
            return faults

    async def _follow_down(self) -> None:
        if not self._started:
            return
        if self._faults.down and self._runner is not None:
            await self._close()
        elif not self._faults.down and self._runner is None:
            await self._listen()

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        self._active += 1
        try:
            return await handle(self, request)
        finally:
            self._active -= 1

    async def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._port))
            self._port = sock.getsockname()[1]
            runner = web.ServerRunner(
                web.Server(self._handle, access_log=None, handler_cancellation=True),
                shutdown_timeout=SHUTDOWN_GRACE_S,
            )
            await runner.setup()
            await web.SockSite(runner, sock, backlog=512).start()
        except BaseException:
            sock.close()
            raise
        self._runner = runner

    async def _close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


def _check_identity(
    name: str, flavour: str, vendor: str, models: Sequence[str], api_key: str
) -> None:
    if not name:
        raise ValueError("a provider needs a name")
    if flavour not in WIRES:
        raise ValueError(f"flavour must be one of {', '.join(sorted(WIRES))}, not {flavour!r}")
    if vendor not in VENDORS[flavour]:
        known = ", ".join(sorted(v for v in VENDORS[flavour] if v))
        raise ValueError(f"vendor {vendor!r} is not a {flavour} vendor (known: {known})")
    if isinstance(models, str) or not models or len(set(models)) != len(models):
        raise ValueError("models must be a non-empty list of distinct model ids")
    if not api_key:
        raise ValueError("a provider needs an api_key")


def _check_address(host: str, port: int) -> None:
    address = ipaddress.ip_address(host)
    if address.version != 4 or not address.is_loopback:
        raise ValueError(f"the simulator serves IPv4 loopback addresses only, not {host}")
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be 0 (pick a free one) to 65535, not {port}")
