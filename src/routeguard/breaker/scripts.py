"""The breaker's Lua scripts, as static source read from the package.

Each script is the shared prelude (lua/prelude.lua) followed by its own body;
the source never changes at run time, so EVALSHA caches it once per server.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


def _read(name: str) -> str:
    return resources.files("routeguard.breaker").joinpath("lua", name).read_text("utf-8")


@cache
def script_source(name: str) -> str:
    """The full source of `record`, `acquire`, `force` (with prelude), `due` or `records`."""
    if name in ("due", "records"):
        return _read(f"{name}.lua")
    if name not in ("record", "acquire", "force"):
        raise ValueError(f"no breaker script named {name!r}")
    return _read("prelude.lua") + "\n" + _read(f"{name}.lua")
