"""Which answer a request gets: the order of checks, seeded draws, the served labels."""

from __future__ import annotations

from collections.abc import Mapping
from random import Random

import pytest

from routeguard.sim.base import Kind, Served
from routeguard.sim.decide import MIB, Facts, decide
from routeguard.sim.faults import parse_faults
from routeguard.sim.stats import RateWindow, Stats

COMPLETION = Facts(Kind.COMPLETION, "gpt-4o")
STREAM = Facts(Kind.STREAM, "gpt-4o")
MODELS = Facts(Kind.MODELS)


def served(doc: Mapping[str, object], facts: Facts = COMPLETION, flavour: str = "openai") -> Served:
    return decide(parse_faults(doc), facts, flavour, Random(1)).served


def test_a_healthy_provider_answers_ok() -> None:
    verdict = decide(parse_faults({}), COMPLETION, "openai", Random(1))
    assert (verdict.served, verdict.status, verdict.is_error) == (Served.OK, 200, False)


@pytest.mark.parametrize(
    ("doc", "facts", "expected"),
    [
        (
            {"key_revoked": True},
            Facts(Kind.COMPLETION, "gpt-4o", authorised=False),
            Served.AUTH_ERROR,
        ),
        ({"html_502": True, "key_revoked": True}, COMPLETION, Served.KEY_REVOKED),
        ({"html_502": True, "quota_exhausted": True}, COMPLETION, Served.HTML_502),
        ({"quota_exhausted": True, "rate_limit": 1.0}, COMPLETION, Served.QUOTA_EXHAUSTED),
        ({"rate_limit": 1.0, "error_rate": 1.0}, COMPLETION, Served.RATE_LIMITED),
        (
            {"rate_limit": 1.0},
            Facts(Kind.COMPLETION, "x", problem=Served.NOT_FOUND),
            Served.RATE_LIMITED,
        ),
        (
            {"error_rate": 1.0},
            Facts(Kind.COMPLETION, "x", problem=Served.NOT_FOUND),
            Served.NOT_FOUND,
        ),
        ({"error_rate": 1.0, "model_down": ["gpt-4o"]}, COMPLETION, Served.MODEL_DOWN),
        ({"error_rate": 1.0, "cut_stream": True}, COMPLETION, Served.SERVER_ERROR),
    ],
)
def test_checks_run_in_the_order_a_real_provider_runs_them(
    doc: dict[str, object], facts: Facts, expected: Served
) -> None:
    assert served(doc, facts) is expected


def test_error_status_defaults_to_the_vendors_overload_status() -> None:
    faults = parse_faults({"error_rate": 1.0})
    assert decide(faults, COMPLETION, "anthropic", Random(1)).status == 529
    assert decide(faults, COMPLETION, "openai", Random(1)).status == 503
    faults = parse_faults({"error_rate": 1.0, "error_status": 504})
    assert decide(faults, COMPLETION, "gemini", Random(1)).status == 504


def test_model_down_hits_only_the_listed_model() -> None:
    faults = parse_faults({"model_down": ["gpt-4o"], "model_down_status": 404})
    down = decide(faults, COMPLETION, "openai", Random(1))
    assert (down.served, down.status) == (Served.MODEL_DOWN, 404)
    assert (
        decide(faults, Facts(Kind.COMPLETION, "gpt-4o-mini"), "openai", Random(1)).served
        is Served.OK
    )
    assert decide(faults, MODELS, "openai", Random(1)).served is Served.OK


def test_a_seeded_generator_gives_the_same_answers_every_run() -> None:
    faults = parse_faults({"error_rate": 0.3, "rate_limit": 0.2, "jitter_s": 0.5})

    def run(seed: int) -> list[tuple[Served, float]]:
        rng = Random(seed)
        return [
            (v.served, v.delay_s)
            for v in (decide(faults, COMPLETION, "openai", rng) for _ in range(50))
        ]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_error_rate_is_a_share_of_requests() -> None:
    faults = parse_faults({"error_rate": 0.25})
    rng = Random(42)
    errors = sum(decide(faults, COMPLETION, "openai", rng).is_error for _ in range(4000))
    assert 850 < errors < 1150


def test_latency_and_jitter_delay_errors_too() -> None:
    faults = parse_faults({"latency_s": 1.0, "jitter_s": 0.5, "error_rate": 1.0})
    rng = Random(3)
    delays = [decide(faults, COMPLETION, "openai", rng).delay_s for _ in range(100)]
    assert all(1.0 <= d <= 1.5 for d in delays)
    assert max(delays) - min(delays) > 0.2


def test_ttft_and_stalls_are_for_streams_only() -> None:
    faults = parse_faults({"ttft_s": 0.4, "stall_mid_stream_s": 2.0})
    stream = decide(faults, STREAM, "openai", Random(1))
    assert (stream.ttft_s, stream.stall_s, stream.served) == (0.4, 2.0, Served.STALLED)
    plain = decide(faults, COMPLETION, "openai", Random(1))
    assert (plain.ttft_s, plain.stall_s, plain.served) == (0.0, 0.0, Served.OK)


def test_body_faults_are_labelled_by_the_most_visible_one() -> None:
    everything = {
        "never_ending_stream": True,
        "error_event_in_stream": True,
        "cut_stream": True,
        "malformed_json": True,
    }
    assert served(everything, STREAM) is Served.NEVER_ENDING
    assert served({**everything, "never_ending_stream": False}, STREAM) is Served.ERROR_EVENT
    assert served({"cut_stream": True, "malformed_json": True}, STREAM) is Served.CUT_STREAM
    assert served({"huge_body_mb": 1.0, "queue_keepalive_s": 1.0}) is Served.HUGE_BODY
    assert served({"queue_keepalive_s": 1.0}) is Served.QUEUED


def test_an_error_event_needs_a_stream_or_a_vendor_with_in_band_errors() -> None:
    assert served({"error_event_in_stream": True}, COMPLETION) is Served.OK
    inband = Facts(Kind.COMPLETION, "gpt-4o", inband_error=True)
    assert served({"error_event_in_stream": True}, inband) is Served.ERROR_EVENT


def test_the_model_list_is_not_padded_queued_or_held_open() -> None:
    doc = {"huge_body_mb": 2.0, "queue_keepalive_s": 1.0, "never_ending_stream": True}
    verdict = decide(parse_faults(doc), MODELS, "openai", Random(1))
    assert (verdict.served, verdict.huge_bytes, verdict.queue_s) == (Served.OK, 0, 0.0)
    assert (
        decide(parse_faults({"huge_body_mb": 2.0}), COMPLETION, "openai", Random(1)).huge_bytes
        == 2 * MIB
    )


def test_stats_count_per_kind_model_and_served() -> None:
    stats = Stats()
    stats.add(Kind.COMPLETION, "a", Served.OK)
    stats.add(Kind.COMPLETION, "a", Served.OK)
    stats.add(Kind.STREAM, "b", Served.CUT_STREAM)
    assert stats.total == 3
    assert stats.count(kind="completion") == 2
    assert stats.count(model="b", served="cut_stream") == 1
    assert stats.rows()[0] == {"kind": "completion", "model": "a", "served": "ok", "count": 2}
    stats.reset()
    assert stats.as_doc() == {"total": 0, "requests": []}


def test_the_rate_window_counts_down_and_resets_each_minute() -> None:
    window = RateWindow(requests_limit=10, tokens_limit=100)
    first = window.note(1000.0, tokens=30)
    assert (first.requests_remaining, first.tokens_remaining, first.reset_s) == (9, 70, 60.0)
    later = window.note(1030.0)
    assert (later.requests_remaining, later.reset_s) == (8, 30.0)
    fresh = window.note(1061.0)
    assert (fresh.requests_remaining, fresh.reset_s) == (9, 60.0)
