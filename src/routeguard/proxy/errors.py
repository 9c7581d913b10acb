"""Answers in OpenAI's error shape, so the official SDKs raise the right exception."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class ProxyError(Exception):
    """A request the proxy answers itself, with an OpenAI-shaped error."""

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    extra: dict[str, Any] | None = None  # the `routeguard` field: attempts, skipped routes

    def response(self) -> web.Response:
        error = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        body: dict[str, Any] = {"error": error}
        if self.extra is not None:
            body["routeguard"] = self.extra
        return web.json_response(body, status=self.status, headers=dict(self.headers))


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ProxyError:
    return ProxyError(400, message, param=param, code=code)
