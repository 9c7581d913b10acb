"""The Node consumer of docs/integrations.md, run exactly as written against a daemon:
it loads the snapshot, and a forced transition reaches it."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest
from conftest import eventually

from routeguard.breaker import Keys

from .daemon_helpers import UNREACHABLE_PAIR, catalog_from, running_daemon

pytestmark = pytest.mark.redis
DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"
CATALOG = UNREACHABLE_PAIR


def documented_consumer() -> str:
    text = DOC.read_text()
    section = text[text.index("### A consumer in 30 lines of Node") :]
    match = re.search(r"```js\n(.*?)```", section, flags=re.DOTALL)
    assert match, "docs/integrations.md: no js block under the Node consumer"
    return match.group(1)


def test_the_node_consumer_is_30_lines() -> None:
    assert len(documented_consumer().strip().splitlines()) <= 30


async def test_the_documented_node_consumer_follows_the_feed(
    redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "node is not installed: the docs' consumer needs Node 18+ (`apt-get install nodejs`)"
        )
    script = tmp_path / "routeguard-watch.mjs"
    script.write_text(documented_consumer())
    async with running_daemon(catalog_from(CATALOG), redis_url, keys) as daemon:
        proc = await asyncio.create_subprocess_exec(
            node, str(script), daemon.http_url, stdout=asyncio.subprocess.PIPE
        )
        lines: list[str] = []

        async def read() -> None:
            assert proc.stdout is not None
            async for raw in proc.stdout:
                lines.append(raw.decode().strip())

        reader = asyncio.create_task(read())
        try:
            await eventually(lambda: "snapshot: 2 routes" in lines, timeout_s=15, what="snapshot")
            assert daemon.store is not None
            await daemon.store.force("a/m", "open", "game day")
            await eventually(
                lambda: "a/m: closed -> forced_open (forced)" in lines,
                timeout_s=5,
                what="the transition in the consumer's output",
            )
        finally:
            proc.kill()
            await proc.wait()
            reader.cancel()
