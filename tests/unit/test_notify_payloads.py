"""Every channel's payload, byte for byte, against tests/testdata/notify/*.json.

The notifications come from the real incident logic (a single route's outage
with a reminder and a resolve, a provider-wide outage, a configuration
problem), so a change in either the logic or a builder shows up here.

To regenerate the golden files after an intended change, run

    ROUTEGUARD_REGEN_GOLDEN=1 .venv/bin/pytest tests/unit/test_notify_payloads.py

then read the diff (`git diff tests/testdata/notify`) before committing it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from routeguard.breaker.types import BreakerState, Reason, Transition, WindowFigures
from routeguard.config.notify import AlertmanagerChannel, NotifyConfig, WebhookChannel
from routeguard.notify import alertmanager, pagerduty, slack, webhook
from routeguard.notify.alertmanager import AlertmanagerNotifier
from routeguard.notify.base import Notification
from routeguard.notify.incidents import IncidentPolicy, TrackerState, advance, observe
from routeguard.notify.signing import secret_key, verify
from routeguard.notify.webhook import WebhookNotifier

GOLDEN = Path(__file__).parents[1] / "testdata" / "notify"
REGENERATE = os.environ.get("ROUTEGUARD_REGEN_GOLDEN") == "1"
T0 = 1_795_000_000_000  # 2026-11-18T11:06:40Z
ROUTING_KEY = "R0UT1NGKEY0123456789abcdef012345"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
POLICY = IncidentPolicy(
    page_after_ms=60_000,
    remind_every_ms=3_600_000,
    provider_routes={"openai": 3, "anthropic": 1},
    status_url="https://status.example.com/routeguard",
)


def _transition(
    route: str, to: BreakerState, at_s: float, reason: Reason, version: int
) -> Transition:
    return Transition(
        route=route,
        from_state=BreakerState.CLOSED if to is BreakerState.OPEN else BreakerState.HALF_OPEN,
        to_state=to,
        reason=reason,
        detail={
            Reason.CONSECUTIVE_FAILURES: "3 x connect_error",
            Reason.AUTH_ERROR: "HTTP 401",
        }.get(reason, ""),
        version=version,
        at_ms=T0 + round(at_s * 1000),
        open_until_ms=0,
        trips=1,
        window=WindowFigures(calls=3, failures=3, consecutive_failures=3),
    )


def _run(steps: list[Transition | float]) -> list[Notification]:
    state, notes = TrackerState(), []
    for step in steps:
        if isinstance(step, Transition):
            state, more = observe(state, step, POLICY)
        else:
            state, more = advance(state, T0 + round(step * 1000), POLICY)
        notes.extend(more)
    return notes


def _cases() -> dict[str, Notification]:
    down, up = BreakerState.OPEN, BreakerState.CLOSED
    failing, healed = Reason.CONSECUTIVE_FAILURES, Reason.TRIAL_SUCCEEDED
    route = "openai/gpt-4o-mini"
    trigger, remind, resolve = _run(
        [_transition(route, down, 0, failing, 1), 61, 3661, _transition(route, up, 3700, healed, 2)]
    )
    wide = [f"openai/{m}" for m in ("gpt-4o", "gpt-4o-mini", "o3")]
    provider = _run([_transition(r, down, i, failing, 1) for i, r in enumerate(wide)] + [63])
    config = _run([_transition("anthropic/claude-haiku-4-5", down, 0, Reason.AUTH_ERROR, 1), 60])
    return {
        "route-trigger": trigger,
        "route-remind": remind,
        "route-resolve": resolve,
        "provider-trigger": provider[0],
        "config-trigger": config[0],
    }


CASES = _cases()
AM_ENDS_AFTER_MS = 7_200_000


def _bodies() -> dict[str, bytes]:
    bodies: dict[str, bytes] = {}
    for case, note in CASES.items():
        bodies[f"webhook-{case}"] = webhook.build_body(note)
        bodies[f"slack-{case}"] = slack.build_body(note)
        bodies[f"pagerduty-{case}"] = pagerduty.build_body(note, ROUTING_KEY)
        bodies[f"alertmanager-{case}"] = alertmanager.build_body(
            note, ends_after_ms=AM_ENDS_AFTER_MS
        )
    return bodies


BODIES = _bodies()


@pytest.mark.parametrize("name", sorted(BODIES))
def test_the_payload_matches_its_golden_file_byte_for_byte(name: str) -> None:
    path = GOLDEN / f"{name}.json"
    if REGENERATE:
        path.write_bytes(BODIES[name])
    assert path.exists(), f"{path} missing: regenerate (see this module's docstring)"
    assert BODIES[name] == path.read_bytes()


def test_there_is_no_stale_golden_file() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == sorted(BODIES)


@pytest.mark.parametrize("name", sorted(BODIES))
def test_every_payload_is_valid_json_and_holds_no_secret_but_the_pagerduty_routing_key(
    name: str,
) -> None:
    body = BODIES[name]
    json.loads(body)
    assert SECRET.encode() not in body
    assert (ROUTING_KEY.encode() in body) == name.startswith("pagerduty-")


def test_pagerduty_trigger_and_resolve_share_the_dedup_key_and_resolve_is_minimal() -> None:
    trigger = json.loads(BODIES["pagerduty-route-trigger"])
    resolve = json.loads(BODIES["pagerduty-route-resolve"])
    assert trigger["event_action"] == "trigger" and resolve["event_action"] == "resolve"
    assert trigger["dedup_key"] == resolve["dedup_key"] == "routeguard:openai/gpt-4o-mini"
    assert set(resolve) == {"routing_key", "event_action", "dedup_key"}
    assert trigger["payload"]["severity"] == "critical"
    assert json.loads(BODIES["pagerduty-config-trigger"])["payload"]["severity"] == "warning"


def test_alertmanager_labels_stay_the_same_over_an_incident_so_it_is_one_alert() -> None:
    labels = [
        json.loads(BODIES[f"alertmanager-route-{a}"])[0]["labels"]
        for a in ("trigger", "remind", "resolve")
    ]
    assert labels[0] == labels[1] == labels[2]
    resolve = json.loads(BODIES["alertmanager-route-resolve"])[0]
    assert resolve["endsAt"] == "2026-11-18T12:08:20.000Z"


def test_the_webhook_request_is_signed_so_that_a_standard_receiver_verifies_it() -> None:
    channel = WebhookChannel(url="https://hooks.example.com/rg", secret_env="HOOK_SECRET")
    notifier = WebhookNotifier("hook", channel, NotifyConfig(), {"HOOK_SECRET": SECRET})
    request = notifier.request(CASES["route-trigger"], now_s=T0 / 1000 + 61.5)
    assert request.body == BODIES["webhook-route-trigger"]
    assert request.headers["webhook-timestamp"] == str(T0 // 1000 + 61)
    key = secret_key(SECRET, "HOOK_SECRET")
    assert verify(key, request.headers, request.body, now_s=T0 / 1000 + 62)
    assert "whsec" not in repr(request) and "MfKQ" not in repr(request)


def test_alertmanager_gets_the_bearer_token_in_a_header_only() -> None:
    channel = AlertmanagerChannel(url="http://127.0.0.1:9093/", bearer_token_env="AM_TOKEN")
    notifier = AlertmanagerNotifier("am", channel, NotifyConfig(), {"AM_TOKEN": "tok-hunter2"})
    request = notifier.request(CASES["route-trigger"], now_s=0)
    assert request.url == "http://127.0.0.1:9093/api/v2/alerts"
    assert request.headers["authorization"] == "Bearer tok-hunter2"
    assert b"hunter2" not in request.body and "hunter2" not in repr(request)
