"""`routeguard demo` end to end on a short script: it detects, fails over, recovers, ends."""

from __future__ import annotations

import io

import pytest
from redis.asyncio import Redis

from routeguard.breaker import Keys
from routeguard.demo import Script, run_demo


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
