"""`routeguard run` with a bad HTTP address, a taken port or an absurdly deep catalog:
one line on stderr, exit 2, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from routeguard.breaker import Keys

pytestmark = pytest.mark.redis

QUIET = """
providers:
  dead: {flavour: openai, base_url: "http://127.0.0.1:1/v1", api_key_env: null}
models:
  m: [dead/model-a]
probes: {interval_s: 3600}
"""


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(QUIET)
    return path


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield int(held.getsockname()[1])


def _run(
    args: list[str], redis_url: str, keys: Keys, http_addr: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTEGUARD_")}
    env |= {
        "ROUTEGUARD_REDIS_URL": redis_url,
        "ROUTEGUARD_KEY_PREFIX": keys.prefix,
        "ROUTEGUARD_HTTP_ADDR": http_addr,
    }
    return subprocess.run(
        [sys.executable, "-m", "routeguard.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    return line


@pytest.mark.parametrize(
    "addr", ["127.0.0.1:99999", "127.0.0.1:abc", ":abc", "127.0.0.1:", "127.0.0.1:٣٣"]
)
def test_a_bad_http_address_is_one_line_and_exit_2(
    catalog: Path, redis_url: str, keys: Keys, addr: str
) -> None:
    line = _one_line(_run(["run", "--config", str(catalog)], redis_url, keys, addr))
    assert line.startswith("routeguard: error: ROUTEGUARD_HTTP_ADDR: must be HOST:PORT")


def test_a_port_already_in_use_is_one_line_and_exit_2(
    catalog: Path, redis_url: str, keys: Keys, taken_port: int
) -> None:
    done = _run(["run", "--config", str(catalog)], redis_url, keys, f"127.0.0.1:{taken_port}")
    assert _one_line(done) == (
        f"routeguard: error: ROUTEGUARD_HTTP_ADDR: cannot listen on 127.0.0.1:{taken_port} "
        "(Address already in use); choose a free port on an address of this host, "
        "or stop what holds it"
    )


@pytest.mark.parametrize(
    "nesting", ["[" * 20_000 + "]" * 20_000, "{a: " * 20_000 + "1" + "}" * 20_000]
)
def test_a_20000_deep_catalog_is_one_line_and_exit_2(
    tmp_path: Path, redis_url: str, keys: Keys, nesting: str
) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text(QUIET + f"slo: {nesting}\n")
    line = _one_line(_run(["run", "--config", str(deep)], redis_url, keys, "127.0.0.1:9"))
    assert line == (
        f"routeguard: error: {deep}: the YAML nests deeper than 32 levels; "
        "a catalog needs about six (docs/configuration.md); flatten it"
    )
    checked = _run(["check-config", str(deep)], redis_url, keys, "127.0.0.1:9")
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    assert checked.stderr.splitlines() == [line.removeprefix("routeguard: error: ")]
