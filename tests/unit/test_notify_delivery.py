"""Sending one delivery: retries only on 429, 5xx and network errors, jittered backoff.

No sockets: httpx.MockTransport plays the receiver.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import httpx
import pytest
from prometheus_client import CollectorRegistry

from routeguard.config.notify import DeliverySettings, NotifyConfig, Severity, WebhookChannel
from routeguard.notify.base import Action, IncidentKind, Notification, RouteSnapshot, Scope
from routeguard.notify.delivery import DELIVERED, FAILED, NotificationMetrics, Sender, SendResult
from routeguard.notify.webhook import WebhookNotifier

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
URL = "https://hooks.example.com/T0KEN-in-path/rg"
FAST = DeliverySettings(max_attempts=4, backoff_s=0.001, backoff_max_s=0.004, timeout_s=1)
NOTE = Notification(
    id="routeguard:oa/m@1#0",
    prev_id="",
    incident_id="routeguard:oa/m@1",
    dedup_key="routeguard:oa/m",
    action=Action.TRIGGER,
    seq=0,
    kind=IncidentKind.OUTAGE,
    severity=Severity.CRITICAL,
    scope=Scope.ROUTE,
    subject="oa/m",
    provider="oa",
    routes=(
        RouteSnapshot(route="oa/m", model="m", state="open", reason="x", detail="", since_ms=1),
    ),
    provider_routes=1,
    started_ms=1,
    at_ms=2,
    summary="oa/m is down",
)


async def _send(
    answer: Callable[[httpx.Request], httpx.Response],
    settings: DeliverySettings = FAST,
    env: dict[str, str] | None = None,
) -> tuple[SendResult, list[httpx.Request], CollectorRegistry]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    registry = CollectorRegistry()
    metrics = NotificationMetrics(registry, ["hook"])
    channel = WebhookNotifier(
        "hook",
        WebhookChannel(url=URL, secret_env="HOOK_SECRET"),
        NotifyConfig(),
        {"HOOK_SECRET": SECRET} if env is None else env,
    )

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        sender = Sender(client, settings, lambda: 1_700_000_000.0, metrics, random.Random(1))
        return await sender.send(channel, NOTE), seen, registry


def _statuses(*codes: int) -> Callable[[httpx.Request], httpx.Response]:
    answers = iter(codes)
    return lambda request: httpx.Response(next(answers))


def _retried(registry: CollectorRegistry) -> float:
    value = registry.get_sample_value(
        "routeguard_notifications_total", {"channel": "hook", "outcome": "retried"}
    )
    return value or 0.0


async def test_a_500_then_a_200_is_delivered_on_the_second_attempt_with_the_same_webhook_id() -> (
    None
):
    result, seen, registry = await _send(_statuses(500, 200))
    assert (result.outcome, result.attempts, result.status) == (DELIVERED, 2, 200)
    assert seen[0].headers["webhook-id"] == seen[1].headers["webhook-id"]
    assert _retried(registry) == 1


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_429_and_5xx_are_retried_up_to_max_attempts(status: int) -> None:
    result, seen, _ = await _send(lambda request: httpx.Response(status))
    assert (result.outcome, result.attempts) == (FAILED, 4)
    assert len(seen) == 4 and result.error == f"HTTP {status}"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413, 422])
async def test_other_4xx_fail_at_once_without_a_retry(status: int) -> None:
    result, seen, registry = await _send(lambda request: httpx.Response(status))
    assert (result.outcome, result.attempts, len(seen)) == (FAILED, 1, 1)
    assert "not retried" in result.error and _retried(registry) == 0


async def test_a_network_error_is_retried_and_its_message_holds_no_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"connection refused to {request.url}", request=request)

    result, seen, _ = await _send(refuse)
    assert (result.outcome, len(seen)) == (FAILED, 4)
    assert result.error == "network error (ConnectError)"
    assert "T0KEN" not in result.error and "hooks.example.com" not in result.error


async def test_an_unset_secret_fails_at_once_naming_the_variable() -> None:
    result, seen, _ = await _send(_statuses(200), env={})
    assert (result.outcome, result.attempts, seen) == (FAILED, 1, [])
    assert "HOOK_SECRET is not set" in result.error


def test_backoff_is_exponential_with_equal_jitter_capped_and_honours_retry_after() -> None:
    settings = DeliverySettings(backoff_s=1, backoff_max_s=8)
    sender = Sender(
        httpx.AsyncClient(),
        settings,
        lambda: 0.0,
        NotificationMetrics(CollectorRegistry()),
        random.Random(7),
    )
    for attempt, ceiling in ((1, 1), (2, 2), (3, 4), (4, 8), (9, 8)):
        delays = [sender.backoff_s(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays), attempt
        assert max(delays) - min(delays) > ceiling / 4, "jittered, not fixed"
    assert sender.backoff_s(1, at_least_s=5) == 5
    assert sender.backoff_s(1, at_least_s=60) == 8, "Retry-After is capped by backoff_max_s"
