"""`routeguard demo` end to end on a short script: it detects, fails over, recovers, ends."""

from __future__ import annotations

import asyncio
import io
import re

import httpx
import pytest
from conftest import eventually
from redis.asyncio import Redis

from routeguard.breaker import Keys
from routeguard.demo import Page, Script, run_demo


@pytest.mark.redis
async def test_the_demo_detects_the_outage_fails_over_recovers_and_reports(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    out = io.StringIO()
    assert await run_demo(redis_url, Script(down_at=3, up_at=9, end_at=16), out, keys.prefix) == 0
    text = out.getvalue()
    assert "openai-sim/gpt-4o-mini" in text
    assert "requests for 'chat' go to: together-sim/meta-llama/Llama-3.1-70B-Instruct" in text
    assert "detection: openai-sim opened" in text
    assert "recovery:  closed again" in text
    assert "half_open -> closed" in text


@pytest.mark.redis
async def test_with_serve_the_status_page_stays_up_after_the_script_until_stopped(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    out, stop = io.StringIO(), asyncio.Event()
    page = Page(serve=True, admin_token="demo-token-for-test")
    run = asyncio.create_task(
        run_demo(redis_url, Script(down_at=1, up_at=2, end_at=3), out, keys.prefix, page, stop)
    )
    await eventually(lambda: "stays up at" in out.getvalue(), timeout_s=30, what="--serve")
    text = out.getvalue()
    url = re.search(r"stays up at (http://127\.0\.0\.1:\d+)/", text)
    assert url, text
    assert f"status page: {url.group(1)}/" in text  # shown while the script ran, too
    assert "Admin token for its force and release buttons: demo-token-for-test" in text
    async with httpx.AsyncClient() as client:
        assert (await client.get(url.group(1) + "/v1/routes")).status_code == 200
    assert not run.done()
    stop.set()
    assert await asyncio.wait_for(run, timeout=15) == 0
