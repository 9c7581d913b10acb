"""`routeguard proxy` as a process: it starts, answers, stops on SIGTERM, and refuses
to listen beyond loopback without caller keys."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import httpx
from conftest import eventually

from routeguard.breaker import Keys
from routeguard.sim import SimProvider

from .proxy_helpers import SIM_KEY, SIM_KEY_ENV


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(keys: Keys, catalog: Path, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTEGUARD_")}
    env |= {
        "ROUTEGUARD_CONFIG": str(catalog),
        "ROUTEGUARD_REDIS_URL": redis_url,
        "ROUTEGUARD_KEY_PREFIX": keys.prefix,
        SIM_KEY_ENV: SIM_KEY,
    }
    return env | extra


async def _proxy(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "routeguard.cli",
        "proxy",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def test_the_proxy_process_serves_then_stops_cleanly_on_sigterm(
    redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    async with SimProvider("oa", "openai", ("gpt-4o-mini",), SIM_KEY, "openai") as sim:
        catalog = tmp_path / "catalog.yaml"
        catalog.write_text(
            f"providers:\n  oa: {{flavour: openai, base_url: {sim.base_url}, "
            f"api_key_env: {SIM_KEY_ENV}}}\nmodels:\n  chat: [oa/gpt-4o-mini]\n"
        )
        port = _free_port()
        env = _env(keys, catalog, redis_url, ROUTEGUARD_PROXY_ADDR=f"127.0.0.1:{port}")
        proc = await _proxy(env)
        url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient() as client:

                async def ready() -> bool:
                    return (await client.get(url + "/readyz", timeout=1)).status_code == 200

                await eventually(ready, timeout_s=20, what="the proxy's /readyz")
                answer = await client.post(
                    url + "/v1/chat/completions",
                    json={"model": "chat", "messages": [{"role": "user", "content": "hi"}]},
                )
            assert answer.status_code == 200, answer.text
            assert answer.json()["routeguard"]["route"] == "oa/gpt-4o-mini"
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(proc.communicate(), timeout=15)
    text = out.decode()
    assert proc.returncode == 0, text
    assert "serving loopback only" in text, "keyless mode is said in the log"
    assert "Traceback" not in text


async def test_without_keys_the_proxy_refuses_a_public_address_in_one_line(
    redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("providers:\n  openai: {}\nmodels:\n  chat: [openai/gpt-4o-mini]\n")
    env = _env(keys, catalog, redis_url, ROUTEGUARD_PROXY_ADDR="0.0.0.0:9478")
    proc = await _proxy(env)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=15)
    lines = out.decode().strip().splitlines()
    assert proc.returncode == 2
    assert len(lines) == 1 and "ROUTEGUARD_PROXY_API_KEYS" in lines[0], lines
