"""`routeguard run` as a process: config errors exit 2, SIGTERM stops it cleanly,
and with no Redis URL it starts an embedded Redis and says so."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import eventually_sync

from routeguard.breaker import Keys

DEAD = """
providers:
  dead: {flavour: openai, base_url: "http://127.0.0.1:1/v1", api_key_env: null}
models:
  m: [dead/model-a]
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(keys: Keys, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTEGUARD_")}
    env |= {"ROUTEGUARD_KEY_PREFIX": keys.prefix, "ROUTEGUARD_HTTP_ADDR": f"127.0.0.1:{port}"}
    return env | extra


def test_an_invalid_catalog_stops_the_start_with_one_message_and_exit_2(
    tmp_path: Path, keys: Keys
) -> None:
    bad = tmp_path / "catalog.yaml"
    bad.write_text("providers:\n  openai: {}\nmodels:\n  x: [openai/m]\nbreaker: {open_s: -1}\n")
    done = subprocess.run(
        [sys.executable, "-m", "routeguard.cli", "run", "--config", str(bad)],
        env=_env(keys, _free_port()),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "breaker.open_s" in done.stderr and "Traceback" not in done.stderr


def test_sigterm_stops_a_running_daemon_cleanly_and_an_embedded_redis_is_announced(
    tmp_path: Path, keys: Keys
) -> None:
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(DEAD)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "routeguard.cli", "run", "--config", str(catalog)],
        env=_env(keys, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def ready() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"the daemon exited with {proc.returncode} before it was ready")
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200

        eventually_sync(ready, timeout_s=30, what="the daemon to become ready", interval_s=0.1)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "started an embedded Redis" in output
    assert "stopping" in output and "Traceback" not in output
