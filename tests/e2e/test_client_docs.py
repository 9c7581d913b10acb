"""The complete worker of docs/client.md, run exactly as written, against simulated
providers of all three wire flavours: each answers in turn as the ones before it go down."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from routeguard.breaker import Keys
from routeguard.sim import SimProvider

from .proxy_helpers import SIM_KEY, SIM_KEY_ENV

DOC = Path(__file__).resolve().parents[2] / "docs" / "client.md"


def documented_worker() -> str:
    text = DOC.read_text()
    section = text[text.index("## A complete worker") :]
    match = re.search(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert match, "docs/client.md: no python block under 'A complete worker'"
    return match.group(1)


@pytest.fixture
async def sims() -> AsyncIterator[dict[str, SimProvider]]:
    started = {
        "an": SimProvider("an", "anthropic", ("claude-haiku-4-5",), SIM_KEY, "anthropic"),
        "ge": SimProvider("ge", "gemini", ("gemini-2.0-flash",), SIM_KEY, "gemini"),
        "oa": SimProvider("oa", "openai", ("gpt-4o-mini",), SIM_KEY, "openai"),
    }
    for sim in started.values():
        await sim.start()
    try:
        yield started
    finally:
        for sim in started.values():
            await sim.stop()


def _catalog(sims: dict[str, SimProvider], path: Path) -> Path:
    lines = ["providers:"] + [
        f"  {name}: {{flavour: {s.flavour}, base_url: {s.base_url}, api_key_env: {SIM_KEY_ENV}}}"
        for name, s in sims.items()
    ]
    lines += [
        "models:",
        "  llama-3.1-70b: [an/claude-haiku-4-5, ge/gemini-2.0-flash, oa/gpt-4o-mini]",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


async def _run(script: Path, env: dict[str, str]) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, out.decode()
    return out.decode()


async def test_the_documented_worker_is_served_by_each_flavour_in_turn(
    sims: dict[str, SimProvider], redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    script = tmp_path / "worker.py"
    script.write_text(documented_worker())
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTEGUARD_")}
    env |= {
        "ROUTEGUARD_REDIS_URL": redis_url,
        "ROUTEGUARD_CONFIG": str(_catalog(sims, tmp_path / "catalog.yaml")),
        "ROUTEGUARD_KEY_PREFIX": keys.prefix,
        SIM_KEY_ENV: SIM_KEY,
    }
    for serving, down_before in (("an", []), ("ge", ["an"]), ("oa", ["an", "ge"])):
        for name in down_before:
            await sims[name].down()
        out = await _run(script, env)
        route = f"{serving}/{sims[serving].models[0]}"
        assert f"served by {route}" in out, out
        assert "Pong!" in out, out
        assert sims[serving].stats.total >= 1
