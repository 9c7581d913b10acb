"""The simulator's admin HTTP API, on its own loopback port.

| endpoint | what |
|---|---|
| `GET /admin/providers` | every provider: flavour, vendor, base_url, models, up, faults, stats |
| `GET /admin/providers/{name}` | one provider |
| `PUT /admin/providers/{name}/faults` | the JSON body replaces the faults (`{}` heals) |
| `PATCH /admin/providers/{name}/faults` | JSON merge patch (RFC 7396): `null` removes a fault |
| `POST /admin/providers/{name}/down` / `up` | hard down (connections refused) / back up |
| `POST /admin/reset` | every provider healthy, up, counts zeroed |

Bad input (malformed JSON, an unknown provider or fault, a value out of range) gets
a 4xx `{"error": {"field": ..., "message": ...}}` and changes nothing. A state
change from a browser is refused (403): one whose `Origin` is not the admin API's
own, or whose body is form-encoded or text/plain (what a page can send without a
CORS preflight), so a web page open on the same machine cannot inject faults.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from routeguard.sim.faults import FaultError
from routeguard.sim.server import LOOPBACK, SHUTDOWN_GRACE_S, SimProvider

Handler = Callable[[web.Request], Awaitable[web.Response]]

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
"""Content types a browser sends cross-origin without a CORS preflight."""


class AdminError(Exception):
    """A request the admin API refuses: status, the field at fault, what is wrong."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


class AdminServer:
    """Serves the admin API for `providers` (a live mapping: the cluster's own)."""

    def __init__(
        self, providers: Mapping[str, SimProvider], *, port: int = 0, host: str = LOOPBACK
    ) -> None:
        self.providers = providers
        self.host, self._port = host, port
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._port}/admin"

    async def start(self) -> None:
        """Bind the port and serve."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._port))
            self._port = sock.getsockname()[1]
            runner = web.AppRunner(self._app(), access_log=None, shutdown_timeout=SHUTDOWN_GRACE_S)
            await runner.setup()
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            raise
        self._runner = runner

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def _own_origins(self) -> frozenset[str]:
        hosts = {self.host, "localhost"} if self.host == LOOPBACK else {self.host}
        return frozenset(f"http://{host}:{self._port}" for host in hosts)

    def _refuse_browsers(self, request: web.Request) -> None:
        """Raise AdminError for a state change a web page could have sent."""
        if request.method in READ_METHODS:
            return
        origin = request.headers.get("Origin")
        if origin is not None and origin not in self._own_origins():
            raise AdminError(403, "origin", f"cross-origin changes are refused (Origin {origin!r})")
        if request.content_type in FORM_TYPES and request.can_read_body:
            raise AdminError(
                403, "content-type", "send the body as JSON (Content-Type: application/json)"
            )

    def _app(self) -> web.Application:
        app = web.Application()

        def g(handler: Handler) -> Handler:
            async def checked(request: web.Request) -> web.Response:
                self._refuse_browsers(request)
                return await handler(request)

            return _guarded(checked)

        app.router.add_get("/admin/providers", g(self._list))
        app.router.add_get("/admin/providers/{name}", g(self._one))
        app.router.add_put("/admin/providers/{name}/faults", g(self._put_faults))
        app.router.add_patch("/admin/providers/{name}/faults", g(self._patch_faults))
        app.router.add_post("/admin/providers/{name}/down", g(self._down))
        app.router.add_post("/admin/providers/{name}/up", g(self._up))
        app.router.add_post("/admin/reset", g(self._reset))
        return app

    def _provider(self, request: web.Request) -> SimProvider:
        name = request.match_info["name"]
        found = self.providers.get(name)
        if found is None:
            known = ", ".join(sorted(self.providers))
            raise AdminError(404, "name", f"no provider named {name!r} (known: {known})")
        return found

    async def _list(self, request: web.Request) -> web.Response:
        return web.json_response({"providers": [p.describe() for p in self.providers.values()]})

    async def _one(self, request: web.Request) -> web.Response:
        return web.json_response(self._provider(request).describe())

    async def _put_faults(self, request: web.Request) -> web.Response:
        provider = self._provider(request)
        await _changing(provider.set_faults(await _json_object(request)))
        return web.json_response(provider.describe())

    async def _patch_faults(self, request: web.Request) -> web.Response:
        provider = self._provider(request)
        await _changing(provider.patch_faults(await _json_object(request)))
        return web.json_response(provider.describe())

    async def _down(self, request: web.Request) -> web.Response:
        provider = self._provider(request)
        await provider.down()
        return web.json_response(provider.describe())

    async def _up(self, request: web.Request) -> web.Response:
        provider = self._provider(request)
        await _changing(provider.up())
        return web.json_response(provider.describe())

    async def _reset(self, request: web.Request) -> web.Response:
        for provider in self.providers.values():
            await _changing(provider.reset())
        return web.json_response({"providers": [p.describe() for p in self.providers.values()]})


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        doc = json.loads(await request.read() or b"null")
    except (ValueError, RecursionError):  # RecursionError: nested too deep to parse
        raise AdminError(400, "body", "the body is not valid JSON") from None
    if not isinstance(doc, dict):
        raise AdminError(400, "body", "the body must be a JSON object of fault names to values")
    return doc


async def _changing(change: Awaitable[object]) -> None:
    """Run a fault change, translating its refusals into AdminErrors."""
    try:
        await change
    except FaultError as exc:
        raise AdminError(422, exc.field or "body", exc.message) from None
    except OSError as exc:  # coming back up: the port was taken meanwhile
        raise AdminError(409, "down", f"cannot listen again: {exc.strerror or exc}") from None


def _guarded(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except AdminError as exc:
            error = {"field": exc.field, "message": exc.message}
            return web.json_response({"error": error}, status=exc.status)

    return guarded
