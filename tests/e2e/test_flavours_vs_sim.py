"""Per wire flavour, against the simulator over real HTTP: every fault the
simulator injects ends in the outcome class docs/providers.md gives it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from routeguard.outcomes import Outcome
from routeguard.probes import ProbeRunner, ProbeTarget
from routeguard.providers import CODECS, Endpoint, Flavour
from routeguard.sim import SimProvider
from routeguard.tiers import ProbeTier

KEY = "sk-sim-test-0123456789"
MODELS = {
    "openai": ("gpt-4o-mini", "gpt-4o"),
    "anthropic": ("claude-haiku-4-5", "claude-sonnet-4-5"),
    "gemini": ("gemini-2.0-flash", "gemini-2.5-flash"),
}
AUTH = {"openai": "authorization", "anthropic": "x-api-key", "gemini": "x-goog-api-key"}


@dataclass(frozen=True)
class Case:
    name: str
    faults: dict[str, Any]
    tier: str
    expected: Outcome
    timeout_s: float = 3.0


CASES = [
    Case("healthy liveness", {}, "liveness", Outcome.OK),
    Case("healthy completion", {}, "completion", Outcome.OK),
    Case("healthy stream", {}, "stream", Outcome.OK),
    Case("hard down (refused)", {"down": True}, "completion", Outcome.CONNECT_ERROR),
    Case("5xx at rate 1", {"error_rate": 1.0}, "completion", Outcome.SERVER_ERROR),
    Case(
        "502 on the stream",
        {"error_rate": 1.0, "error_status": 502},
        "stream",
        Outcome.SERVER_ERROR,
    ),
    Case("429 storm", {"rate_limit": 1.0, "retry_after_s": 7}, "completion", Outcome.RATE_LIMITED),
    Case("quota exhausted", {"quota_exhausted": True}, "completion", Outcome.QUOTA_EXHAUSTED),
    Case("latency over the timeout", {"latency_s": 2.0}, "completion", Outcome.TIMEOUT, 0.5),
    Case("TTFT over the timeout", {"ttft_s": 2.0}, "stream", Outcome.TIMEOUT, 0.5),
    Case("stall mid-stream", {"stall_mid_stream_s": 3.0}, "stream", Outcome.TIMEOUT, 1.0),
    Case("stream cut without terminator", {"cut_stream": True}, "stream", Outcome.BAD_RESPONSE),
    Case("malformed JSON", {"malformed_json": True}, "completion", Outcome.BAD_RESPONSE),
    Case("HTML 502 page", {"html_502": True}, "completion", Outcome.SERVER_ERROR),
    Case(
        "keep-alive queueing",
        {"queue_keepalive_s": 0.4, "keepalive_every_s": 0.1},
        "stream",
        Outcome.OK,
    ),
    Case("key revoked", {"key_revoked": True}, "completion", Outcome.AUTH_ERROR),
    Case("key revoked on liveness", {"key_revoked": True}, "liveness", Outcome.AUTH_ERROR),
    Case("huge body", {"huge_body_mb": 20.0}, "completion", Outcome.BAD_RESPONSE, 10.0),
    Case(
        "never-ending stream",
        {"never_ending_stream": True, "keepalive_every_s": 0.1},
        "stream",
        Outcome.TIMEOUT,
        0.6,
    ),
]


def _target(sim: SimProvider, tier: str, model: str, timeout_s: float) -> ProbeTarget:
    flavour = sim.flavour
    value = f"Bearer {KEY}" if flavour == "openai" else KEY
    headers = {AUTH[flavour]: value}
    if flavour == "anthropic":
        headers["anthropic-version"] = "2023-06-01"
    endpoint = Endpoint(sim.name, sim.base_url, headers, vendor=sim.vendor)
    probe_tier = ProbeTier(tier)
    codec = CODECS[Flavour(flavour)]
    return ProbeTarget(
        endpoint, codec, probe_tier, model if probe_tier.per_route else None, timeout_s
    )


@pytest.mark.parametrize("flavour", sorted(MODELS))
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_every_fault_class_yields_its_outcome(
    probe_runner: ProbeRunner, flavour: str, case: Case
) -> None:
    async with SimProvider(
        f"{flavour}-sim", flavour, MODELS[flavour], KEY, flavour if flavour != "gemini" else ""
    ) as sim:
        await sim.set_faults(case.faults)
        result = await probe_runner.run(_target(sim, case.tier, MODELS[flavour][0], case.timeout_s))
    assert result.outcome is case.expected, (result.classified, result.duration_s)
    assert result.duration_s < case.timeout_s + 1.0
    if case.expected is Outcome.RATE_LIMITED:
        assert result.classified.retry_after_s == pytest.approx(7, abs=1)


@pytest.mark.parametrize("flavour", sorted(MODELS))
async def test_an_error_event_inside_a_200_stream_is_a_provider_failure(
    probe_runner: ProbeRunner, flavour: str
) -> None:
    async with SimProvider(f"{flavour}-sim", flavour, MODELS[flavour], KEY) as sim:
        await sim.set_faults({"error_event_in_stream": True})
        result = await probe_runner.run(_target(sim, "stream", MODELS[flavour][0], 3.0))
    assert result.outcome.is_failure, result.classified


@pytest.mark.parametrize("flavour", sorted(MODELS))
async def test_one_model_down_leaves_the_others_up(probe_runner: ProbeRunner, flavour: str) -> None:
    down, up = MODELS[flavour]
    async with SimProvider(f"{flavour}-sim", flavour, MODELS[flavour], KEY) as sim:
        await sim.set_faults({"model_down": [down]})
        broken = await probe_runner.run(_target(sim, "completion", down, 3.0))
        fine = await probe_runner.run(_target(sim, "completion", up, 3.0))
        listing = await probe_runner.run(_target(sim, "liveness", up, 3.0))
    assert broken.outcome is Outcome.SERVER_ERROR
    assert fine.outcome is Outcome.OK and listing.outcome is Outcome.OK


async def test_a_together_model_list_is_a_bare_array_and_healthy(probe_runner: ProbeRunner) -> None:
    async with SimProvider(
        "together-sim", "openai", ("meta-llama/Llama-3-8b",), KEY, "together"
    ) as sim:
        async with httpx.AsyncClient() as client:
            raw = await client.get(
                sim.base_url + "/models", headers={"authorization": f"Bearer {KEY}"}
            )
        result = await probe_runner.run(_target(sim, "liveness", "", 3.0))
    assert isinstance(raw.json(), list)
    assert result.outcome is Outcome.OK
