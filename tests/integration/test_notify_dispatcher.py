"""The notifier against a real Redis and a real HTTP receiver on 127.0.0.1.

Transitions are made by the real breaker scripts (BreakerStore), read by the
dispatcher through its consumer group, and delivered over loopback HTTP to an
aiohttp receiver that verifies each Standard Webhooks signature. Every wait has
a deadline (`eventually`); nothing sleeps and hopes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web
from conftest import eventually
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from routeguard.breaker import BreakerStore, Keys
from routeguard.config.notify import DeliverySettings, NotifyConfig, WebhookChannel
from routeguard.config.policies import BreakerSettings
from routeguard.notify.dispatcher import Dispatcher
from routeguard.notify.signing import secret_key, verify
from routeguard.outcomes import Outcome

pytestmark = pytest.mark.redis

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ENV = {"HOOK_SECRET": SECRET}
ROUTES = ("sim/model-a", "sim/model-b", "other/model-c")
BREAKER = BreakerSettings(consecutive_failures=2, open_s=0.2, open_max_s=0.4, half_open_successes=1)
DELIVERY = DeliverySettings(
    max_attempts=3, backoff_s=0.05, backoff_max_s=0.1, timeout_s=2, claim_idle_s=1
)


@dataclass
class Arrival:
    headers: dict[str, str]
    body: bytes
    at_s: float
    status: int

    @property
    def data(self) -> dict[str, Any]:
        return dict(json.loads(self.body)["data"])


@dataclass
class Receiver:
    """A webhook receiver: answers `statuses` in turn (then `default`), records everything."""

    statuses: list[int] = field(default_factory=list)
    default: int = 200
    hold: asyncio.Event | None = None  # when set, requests wait for it before answering
    arrivals: list[Arrival] = field(default_factory=list)
    url: str = ""

    def accepted(self) -> list[Arrival]:
        return [a for a in self.arrivals if a.status == 200]

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        status = self.statuses.pop(0) if self.statuses else self.default
        self.arrivals.append(Arrival(headers, body, time.time(), status))
        if self.hold is not None:
            await self.hold.wait()
        return web.Response(status=status, text="ok" if status == 200 else "no")


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[Receiver]:
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        yield receiver
    finally:
        if receiver.hold is not None:
            receiver.hold.set()
        await runner.cleanup()


def notify_config(url: str, **overrides: Any) -> NotifyConfig:
    channel = WebhookChannel(url=url, secret_env="HOOK_SECRET")
    values: dict[str, Any] = {"page_after_s": 0, "group_window_s": 0, "delivery": DELIVERY}
    return NotifyConfig(channels={"hook": channel}, **(values | overrides))


@asynccontextmanager
async def dispatching(
    redis: Redis, keys: Keys, config: NotifyConfig, name: str = "a"
) -> AsyncIterator[Dispatcher]:
    async with httpx.AsyncClient() as http:
        dispatcher = Dispatcher(
            redis,
            keys,
            config,
            http,
            registry=CollectorRegistry(),
            routes=ROUTES,
            env=ENV,
            consumer=f"notify-{name}",
            tick_s=0.05,
        )
        await dispatcher.start()
        try:
            yield dispatcher
        finally:
            await dispatcher.stop()


@pytest.fixture
def store(redis_client: Redis, keys: Keys) -> BreakerStore:
    return BreakerStore(redis_client, dict.fromkeys(ROUTES, BREAKER), keys=keys)


async def open_route(store: BreakerStore, route: str) -> None:
    for _ in range(BREAKER.consecutive_failures):
        await store.record(route, Outcome.CONNECT_ERROR)
    assert (await store.state(route)).state.value == "open"


async def heal_route(store: BreakerStore, route: str) -> None:
    async def half_open() -> bool:
        await store.tick()
        return (await store.state(route)).state.value == "half_open"

    await eventually(half_open, timeout_s=5, what=f"{route} half-open")
    token = await store.acquire_trial(route)
    await store.record(route, Outcome.OK, trial_token=token)
    assert (await store.state(route)).state.value == "closed"


def verified(arrival: Arrival) -> bool:
    key = secret_key(SECRET, "HOOK_SECRET")
    return verify(key, arrival.headers, arrival.body, now_s=time.time())


async def test_a_webhook_reaches_the_receiver_once_with_a_signature_that_verifies(
    redis_client: Redis, keys: Keys, store: BreakerStore
) -> None:
    async with receiving(Receiver()) as rx, dispatching(redis_client, keys, notify_config(rx.url)):
        await open_route(store, "sim/model-a")
        await eventually(lambda: len(rx.arrivals) == 1, timeout_s=5, what="the trigger")
        [arrival] = rx.arrivals
        assert verified(arrival)
        assert json.loads(arrival.body)["type"] == "incident.triggered"
        assert arrival.data["dedup_key"] == "routeguard:sim/model-a"
        assert SECRET not in arrival.body.decode()
        await asyncio.sleep(0.5)  # a duplicate would arrive in this time: none may
        assert len(rx.arrivals) == 1


async def test_a_resolve_follows_recovery_with_the_same_dedup_key(
    redis_client: Redis, keys: Keys, store: BreakerStore
) -> None:
    async with receiving(Receiver()) as rx, dispatching(redis_client, keys, notify_config(rx.url)):
        await open_route(store, "sim/model-a")
        await eventually(lambda: len(rx.arrivals) == 1, timeout_s=5, what="the trigger")
        await heal_route(store, "sim/model-a")
        await eventually(lambda: len(rx.arrivals) == 2, timeout_s=5, what="the resolve")
        trigger, resolve = rx.arrivals
        assert json.loads(resolve.body)["type"] == "incident.resolved"
        assert resolve.data["dedup_key"] == trigger.data["dedup_key"]
        assert resolve.data["incident_id"] == trigger.data["incident_id"]
        assert verified(resolve)


async def test_a_provider_wide_outage_sends_one_webhook_naming_every_route(
    redis_client: Redis, keys: Keys, store: BreakerStore
) -> None:
    async with receiving(Receiver()) as rx:
        config = notify_config(rx.url, page_after_s=0.5)
        async with dispatching(redis_client, keys, config):
            await open_route(store, "sim/model-a")
            await open_route(store, "sim/model-b")
            await eventually(lambda: len(rx.arrivals) == 1, timeout_s=5, what="one page")
            [page] = rx.arrivals
            assert page.data["scope"] == "provider" and page.data["subject"] == "sim"
            assert [r["route"] for r in page.data["routes"]] == ["sim/model-a", "sim/model-b"]
            assert "2 of 2 routes" in page.data["summary"]


async def test_a_receiver_answering_500_then_200_gets_it_after_a_retry(
    redis_client: Redis, keys: Keys, store: BreakerStore
) -> None:
    async with (
        receiving(Receiver(statuses=[500])) as rx,
        dispatching(redis_client, keys, notify_config(rx.url)) as dispatcher,
    ):
        await open_route(store, "sim/model-a")
        await eventually(lambda: len(rx.accepted()) == 1, timeout_s=5, what="the retried delivery")
        first, second = rx.arrivals
        assert (first.status, second.status) == (500, 200)
        assert first.headers["webhook-id"] == second.headers["webhook-id"]
        assert verified(second)

        async def recorded() -> bool:  # the record is written after the 200 is read
            return len(await dispatcher.list_deliveries()) == 1

        await eventually(recorded, timeout_s=5, what="the delivery's record")
        [record] = await dispatcher.list_deliveries()
        assert (record["outcome"], record["attempts"], record["status"]) == ("delivered", 2, 200)
        assert await dispatcher.failed() == []


async def test_a_receiver_that_always_fails_leaves_the_delivery_visible_as_failed(
    redis_client: Redis, keys: Keys, store: BreakerStore
) -> None:
    async with (
        receiving(Receiver(default=503)) as rx,
        dispatching(redis_client, keys, notify_config(rx.url)) as dispatcher,
    ):
        await open_route(store, "sim/model-a")

        async def kept() -> bool:
            return len(await dispatcher.failed()) == 1

        await eventually(kept, timeout_s=10, what="the failure to be kept")
        assert len(rx.arrivals) == DELIVERY.max_attempts
        [failure] = await dispatcher.failed()
        assert failure["channel"] == "hook" and failure["outcome"] == "failed"
        assert failure["error"] == "HTTP 503" and failure["attempts"] == DELIVERY.max_attempts
        assert rx.url not in json.dumps(failure) and "whsec" not in json.dumps(failure)
        await dispatcher.refresh_metrics()
        gauge = dispatcher.metrics.failed.labels(channel="hook")._value.get()
        assert gauge == 1
        assert await dispatcher.dismiss_failed(failure["delivery_id"])
        await dispatcher.refresh_metrics()
        assert dispatcher.metrics.failed.labels(channel="hook")._value.get() == 0


async def test_a_dispatcher_cancelled_between_transition_and_delivery_loses_nothing(
    redis_client: Redis, keys: Keys, store: BreakerStore
) -> None:
    hold = asyncio.Event()
    async with receiving(Receiver(hold=hold)) as rx:
        config = notify_config(rx.url)
        async with dispatching(redis_client, keys, config, name="first"):
            await open_route(store, "sim/model-a")
            await eventually(
                lambda: len(rx.arrivals) == 1, timeout_s=5, what="the delivery in flight"
            )
        # The first dispatcher is gone with its request unanswered; the outage then ends.
        await heal_route(store, "sim/model-a")
        hold.set()
        async with dispatching(redis_client, keys, config, name="second"):
            await eventually(
                lambda: len(rx.accepted()) >= 3, timeout_s=10, what="trigger again, then resolve"
            )
        kinds = [json.loads(a.body)["type"] for a in rx.accepted()]
        assert kinds[-1] == "incident.resolved"
        assert kinds.count("incident.triggered") == 2, "the unanswered trigger is sent again"
        ids = {a.headers["webhook-id"] for a in rx.arrivals if "triggered" in a.body.decode()}
        assert len(ids) == 1, "a retry after a restart keeps the webhook-id: receivers dedupe"


async def test_transitions_made_while_no_dispatcher_runs_are_delivered_after_a_restart(
    redis_client: Redis, keys: Keys, store: BreakerStore
) -> None:
    async with receiving(Receiver()) as rx:
        config = notify_config(rx.url)
        async with dispatching(redis_client, keys, config, name="first"):
            pass  # joins the consumer group, then stops
        await open_route(store, "sim/model-a")
        await heal_route(store, "sim/model-a")
        async with dispatching(redis_client, keys, config, name="second"):
            await eventually(
                lambda: len(rx.accepted()) == 2, timeout_s=10, what="trigger and resolve"
            )
        kinds = [json.loads(a.body)["type"] for a in rx.arrivals]
        assert kinds == ["incident.triggered", "incident.resolved"]


async def test_two_replicas_deliver_each_notification_exactly_once(
    redis_client: Redis, keys: Keys, store: BreakerStore
) -> None:
    async with receiving(Receiver()) as rx:
        config = notify_config(rx.url)
        async with (
            dispatching(redis_client, keys, config, name="one") as one,
            dispatching(redis_client, keys, config, name="two"),
        ):
            # Per round: sim pages (model-a), then model-b joins (update), then both
            # heal (resolve); other/model-c pages and resolves alone: 5 notifications.
            for _ in range(6):
                for route in ROUTES:
                    await open_route(store, route)
                for route in ROUTES:
                    await heal_route(store, route)
            await eventually(lambda: len(rx.arrivals) >= 30, timeout_s=20, what="30 deliveries")
            await asyncio.sleep(1.5)  # past claim_idle_s: a duplicate would have come by now

            async def all_recorded() -> bool:  # records are written after each 2xx is read
                return len(await one.list_deliveries(limit=100)) >= 30

            await eventually(all_recorded, timeout_s=5, what="30 delivery records")
            deliveries = await one.list_deliveries(limit=100)
        ids = [a.headers["webhook-id"] for a in rx.arrivals]
        assert len(ids) == 30 and len(set(ids)) == 30
        assert all(verified(a) for a in rx.arrivals)
        kinds = [json.loads(a.body)["type"] for a in rx.arrivals]
        assert kinds.count("incident.resolved") == 12 and kinds.count("incident.updated") == 6
        assert len(deliveries) == 30, "every replica sees the fleet's delivery records"
        assert {d["replica"] for d in deliveries} == {"notify-one", "notify-two"}, "both worked"


async def test_the_first_notifier_takes_over_outages_already_going_on(
    redis_client: Redis, keys: Keys, store: BreakerStore
) -> None:
    await open_route(store, "sim/model-b")  # opened and healed before any notifier: forgotten
    await heal_route(store, "sim/model-b")
    await open_route(store, "sim/model-a")  # still down when the first notifier starts
    async with receiving(Receiver()) as rx:
        async with dispatching(redis_client, keys, notify_config(rx.url)):
            await eventually(
                lambda: len(rx.accepted()) == 1, timeout_s=5, what="the page of the open route"
            )
            await heal_route(store, "sim/model-a")
            await eventually(lambda: len(rx.accepted()) == 2, timeout_s=5, what="its resolve")
        [page, resolve] = [json.loads(a.body) for a in rx.arrivals]
        assert (page["type"], resolve["type"]) == ("incident.triggered", "incident.resolved")
        assert [r["route"] for r in page["data"]["routes"]] == ["sim/model-a"]
        [route] = page["data"]["routes"]
        assert route["reason"] == "consecutive_failures", "the cause that opened it, replayed"
        assert page["data"]["started_at"] == route["since"]
