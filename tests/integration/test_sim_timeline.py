"""Timelines apply faults at their offsets; `routeguard sim` runs a config; 50 x 20 scales."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import eventually

from routeguard.sim import SimCluster, SimProvider, TimelinePlayer, parse_timeline
from routeguard.sim.cli import main

TESTDATA = Path(__file__).parent.parent / "testdata" / "sim"
KEY = "sk-sim"
OA = {"authorization": f"Bearer {KEY}"}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}


async def test_a_timeline_applies_faults_at_their_offsets() -> None:
    provider = SimProvider("openai-sim", "openai", ["gpt-4o-mini", "gpt-4o"], KEY)
    doc = [
        {"at": 0.2, "provider": "openai-sim", "faults": {"down": True}},
        {"at": 0.4, "provider": "openai-sim", "faults": {}},
        {"at": 0.5, "provider": "openai-sim", "model": "gpt-4o", "faults": {"error_rate": 1.0}},
    ]
    async with SimCluster([provider], admin=False) as sim, httpx.AsyncClient(timeout=2.0) as client:
        player = TimelinePlayer(sim, parse_timeline(doc, "t.yaml", sim))
        start = time.monotonic()
        task = player.start()
        await eventually(
            lambda: not provider.is_up, timeout_s=3, what="the timeline to take it down"
        )
        down_at = time.monotonic() - start
        with pytest.raises(httpx.ConnectError):
            await client.get(provider.base_url + "/models", headers=OA)
        await eventually(lambda: provider.is_up, timeout_s=3, what="the timeline to bring it up")
        await eventually(
            lambda: "gpt-4o" in provider.faults.models, timeout_s=3, what="the model fault"
        )
        await asyncio.wait_for(task, timeout=2.0)
        url = provider.base_url + "/chat/completions"
        assert (
            await client.post(url, headers=OA, json={**CHAT, "model": "gpt-4o"})
        ).status_code == 503
        assert (await client.post(url, headers=OA, json=CHAT)).status_code == 200
    assert 0.2 - 0.02 <= down_at < 1.5
    assert [round(a.entry.at, 1) for a in player.applied] == [0.2, 0.4, 0.5]
    assert all(a.elapsed_s >= a.entry.at and not a.error for a in player.applied)


def test_main_runs_a_config_for_a_duration(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(TESTDATA / "sim.yaml"), "--duration", "0.2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0].startswith("openai-sim")
        and "http://127.0.0.1:" in out[0]
        and out[0].count("/v1 ") == 1
    )
    assert any("gemini-sim" in line and "/v1beta" in line for line in out)
    assert out[-1].startswith("admin") and out[-1].endswith("/admin")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--config", "no-such-file.yaml"], "no-such-file.yaml: cannot read"),
        (
            ["--config", str(TESTDATA / "sim.yaml"), "--timeline", str(TESTDATA / "sim.yaml")],
            "a timeline is a list",
        ),
        (["--config", str(TESTDATA / "sim.yaml"), "--duration", "-1"], "--duration"),
    ],
)
def test_main_says_what_is_wrong_in_one_line_and_exits_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_routeguard_sim_serves_until_sigint() -> None:
    """The real process: it prints its URLs, answers, and exits 0 on SIGINT."""
    code = "import sys; from routeguard.sim.cli import main; sys.exit(main(sys.argv[1:]))"
    args = [sys.executable, "-c", code, "--config", str(TESTDATA / "sim.yaml"), "--duration", "20"]
    args += ["--timeline", str(TESTDATA / "timeline.yaml")]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            base_url = next(word for word in first.split() if word.startswith("http://"))
            r = httpx.get(
                base_url + "/models", headers={"authorization": "Bearer sk-sim-openai"}, timeout=5
            )
            assert r.status_code == 200
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


async def test_fifty_providers_with_twenty_models_each() -> None:
    specs = [
        SimProvider(
            f"p{i:02d}", ("openai", "anthropic", "gemini")[i % 3], [f"m{j}" for j in range(20)], KEY
        )
        for i in range(50)
    ]
    started = time.monotonic()
    async with SimCluster(specs, seed=1) as sim:
        took = time.monotonic() - started
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(timeout=10.0, limits=limits) as client:
            statuses = await asyncio.gather(
                *(_probe(client, p) for p in sim.values() for _ in range(4))
            )
            listing = (await client.get(sim.admin_url + "/providers")).json()["providers"]
    assert took < 5.0
    assert statuses == [200] * 200
    assert len(listing) == 50 and sum(p["stats"]["total"] for p in listing) == 200


async def _probe(client: httpx.AsyncClient, p: SimProvider) -> int:
    model = p.models[int(p.name[1:]) % 20]
    if p.flavour == "anthropic":
        headers = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
        body = {"model": model, "max_tokens": 1, "messages": CHAT["messages"]}
        return (await client.post(p.base_url + "/messages", headers=headers, json=body)).status_code
    if p.flavour == "gemini":
        body = {
            "contents": [{"parts": [{"text": "ping"}]}],
            "generationConfig": {"maxOutputTokens": 1},
        }
        url = p.base_url + f"/models/{model}:generateContent"
        return (await client.post(url, headers={"x-goog-api-key": KEY}, json=body)).status_code
    r = await client.post(
        p.base_url + "/chat/completions", headers=OA, json={**CHAT, "model": model}
    )
    return r.status_code
