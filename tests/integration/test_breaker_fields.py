"""The field names of the route hash, the events and the scripts' snapshot, against a
real Redis, and how data written under the old names is read and migrated."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from typing import Any

import pytest
from redis.asyncio import Redis

from routeguard.breaker import BreakerState, BreakerStore, Keys, Reason
from routeguard.breaker.scripts import script_source
from routeguard.breaker.types import BreakerParams
from routeguard.config.policies import BreakerSettings
from routeguard.outcomes import Outcome

from .breaker_helpers import ROUTE, make_store

pytestmark = pytest.mark.redis

HASH_FIELDS = {
    "state",
    "reason",
    "detail",
    "since_ms",
    "version",
    "open_until_ms",
    "trips",
    "decay_from_ms",
    "consecutive_failures",
    "trial_successes",
    "rate_open_ms",
    "outage_since_ms",
    "tracked_since_ms",
    "segment_class",
    "segment_start_ms",
    "segment_reason",
}
EVENT_FIELDS = [
    "route",
    "from",
    "to",
    "reason",
    "detail",
    "version",
    "at_ms",
    "open_until_ms",
    "trips",
    "calls",
    "failures",
    "slow",
    "consecutive_failures",
]
SNAPSHOT_FIELDS = HASH_FIELDS | {"calls", "failures", "slow", "now_ms"}
OLD_NAMES = {
    "since_ms": "since",
    "open_until_ms": "open_until",
    "decay_from_ms": "decay_from",
    "consecutive_failures": "consecutive",
    "trial_successes": "trial_ok",
    "rate_open_ms": "rate_open",
}


def _old_named(fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` as the hash held them before the rename."""
    return {OLD_NAMES.get(name, name): value for name, value in fields.items()}


def _text_map(raw: dict[Any, Any]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in raw.items()}


async def _redis_now_ms(client: Redis) -> int:
    seconds, micros = await client.time()
    return int(seconds) * 1000 + int(micros) // 1000


@pytest.fixture
async def store(redis_url: str, keys: Keys, redis_client: Redis) -> Any:
    settings = BreakerSettings(consecutive_failures=3, open_s=5, half_open_successes=2)
    s = make_store(redis_url, keys, settings, rng=random.Random(3))
    yield s
    await s.aclose()


# -- the names written ------------------------------------------------------------


async def test_the_hash_and_the_stream_use_the_new_names(
    store: BreakerStore, keys: Keys, redis_client: Redis
) -> None:
    for _ in range(3):
        await store.record(ROUTE, Outcome.SERVER_ERROR)
    held = _text_map(await redis_client.hgetall(keys.state(ROUTE)))
    assert set(held) == HASH_FIELDS - {"decay_from_ms", "trial_successes", "rate_open_ms"}
    assert (held["segment_class"], held["segment_reason"]) == ("down", "consecutive_failures")
    assert held["outage_since_ms"] == held["since_ms"] == held["segment_start_ms"]
    assert held["consecutive_failures"] == "0", "reset after the trip"
    [(_, entry)] = await redis_client.xrange(keys.events)
    assert [name.decode() for name in entry] == EVENT_FIELDS
    assert entry[b"consecutive_failures"] == b"3"


async def test_the_published_message_has_the_stream_entrys_fields(
    store: BreakerStore, keys: Keys, redis_client: Redis
) -> None:
    pubsub = redis_client.pubsub()
    await pubsub.subscribe(keys.transitions_channel)
    try:
        assert await pubsub.get_message(timeout=2), "the subscribe confirmation"
        await store.force(ROUTE, "open", "drain")
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
        assert message is not None, "no transition published within 2 s"
        published = json.loads(message["data"])
        [(_, entry)] = await redis_client.xrange(keys.events)
        assert set(published) == set(EVENT_FIELDS)
        assert {k: str(v) for k, v in published.items()} == _text_map(entry)
    finally:
        await pubsub.aclose()


async def test_a_scripts_result_is_snapshot_events_and_granted(
    keys: Keys, redis_client: Redis
) -> None:
    params = BreakerParams.from_settings(BreakerSettings()).as_arg()
    common = [ROUTE, keys.transitions_channel, "100", params]
    script = script_source("force")
    raw = await redis_client.eval(script, 7, *keys.route_keys(ROUTE), *common, "open", "t")
    result = json.loads(raw)
    assert set(result) == {"snapshot", "events", "granted"}
    assert set(result["snapshot"]) == SNAPSHOT_FIELDS
    assert [set(event) for event in result["events"]] == [set(EVENT_FIELDS)]
    assert result["granted"] is False


# -- data written under the old names -------------------------------------------------


async def test_a_hash_with_the_old_names_reads_as_with_the_new(
    store: BreakerStore, keys: Keys, redis_client: Redis
) -> None:
    fields = {
        "state": "half_open",
        "reason": "open_expired",
        "detail": "open time ended",
        "since_ms": 1_700_000_000_123,
        "version": 3,
        "open_until_ms": 0,
        "trips": 2,
        "decay_from_ms": 1_700_000_000_000,
        "consecutive_failures": 2,
        "trial_successes": 1,
        "rate_open_ms": 4000,
    }
    await redis_client.hset(keys.state(ROUTE), mapping=_old_named(fields))
    old = await store.state(ROUTE)
    await redis_client.delete(keys.state(ROUTE))
    await redis_client.hset(keys.state(ROUTE), mapping=fields)
    new = await store.state(ROUTE)
    assert old.since_ms == 1_700_000_000_123
    assert (old.trial_successes, old.window.consecutive_failures) == (1, 2)
    assert old == replace(new, now_ms=old.now_ms)


async def test_a_record_migrates_an_old_hash_keeping_its_values(
    store: BreakerStore, keys: Keys, redis_client: Redis
) -> None:
    old = {"state": "half_open", "reason": "open_expired", "detail": "open time ended"}
    old |= {"since": 1_700_000_000_123, "version": 3, "open_until": 0, "trips": 2}
    old |= {"decay_from": 1_700_000_000_000, "consecutive": 2, "trial_ok": 1, "rate_open": 4000}
    await redis_client.hset(keys.state(ROUTE), mapping=old)

    status = await store.record(ROUTE, Outcome.SERVER_ERROR)  # a failed trial

    [event] = status.transitions
    assert (event.reason, event.version) == (Reason.TRIAL_FAILED, 4)
    assert event.window.consecutive_failures == 3, "2 read from `consecutive`, plus this one"
    held = _text_map(await redis_client.hgetall(keys.state(ROUTE)))
    assert set(held) == HASH_FIELDS, "every old field moved to its new name"
    assert held == {
        "state": "open",
        "reason": "trial_failed",
        "detail": "trial failed: server_error",
        "since_ms": str(status.now_ms),
        "version": "4",
        "open_until_ms": str(status.open_until_ms),
        "trips": "2",
        "decay_from_ms": "1700000000000",
        "consecutive_failures": "0",
        "trial_successes": "0",
        "rate_open_ms": "4000",
        # accounting starts at the first touch; the outage dates from the last transition
        "outage_since_ms": "1700000000123",
        "tracked_since_ms": str(status.now_ms),
        "segment_class": "down",
        "segment_start_ms": str(status.now_ms),
        "segment_reason": "open_expired",
    }
    assert status.outage_since_ms == 1_700_000_000_123, "a failed trial keeps the outage"
    assert 10_000 <= status.open_until_ms - status.now_ms < 11_000, "trips 2: open_s * 2"
    index = await redis_client.zscore(keys.open_index, ROUTE)
    assert index == status.open_until_ms


@pytest.mark.parametrize("operation", ["record", "acquire", "force"])
async def test_every_script_migrates_an_old_hash_it_touches(
    store: BreakerStore, keys: Keys, redis_client: Redis, operation: str
) -> None:
    decay_from = await _redis_now_ms(redis_client) - 1000  # no trip forgiven yet
    old = {"state": "closed", "reason": "trial_succeeded", "detail": "2 trial successes"}
    old |= {"since": decay_from, "version": 7, "trips": 1, "decay_from": decay_from}
    old |= {"consecutive": 1, "open_until": 0, "trial_ok": 0, "rate_open": 0}
    await redis_client.hset(keys.state(ROUTE), mapping=old)
    if operation == "record":
        status = await store.record(ROUTE, Outcome.CLIENT_ERROR)  # moves nothing
    elif operation == "acquire":
        status, token = await store.acquire_trial_status(ROUTE)
        assert token is None, "closed: no trial"
    else:
        status = await store.force(ROUTE, "auto", "nothing forced")  # a no-op when not forced
    assert status.transitions == ()
    held = _text_map(await redis_client.hgetall(keys.state(ROUTE)))
    new_names = {
        name: old[name_] for name in HASH_FIELDS if (name_ := OLD_NAMES.get(name, name)) in old
    }
    new_names["tracked_since_ms"] = status.now_ms  # a route that admits traffic: nothing else
    assert held == {name: str(value) for name, value in new_names.items()}


async def test_a_new_field_wins_over_an_old_one_left_beside_it(
    store: BreakerStore, keys: Keys, redis_client: Redis
) -> None:
    await redis_client.hset(
        keys.state(ROUTE), mapping={"consecutive_failures": 1, "consecutive": 5}
    )
    assert (await store.state(ROUTE)).window.consecutive_failures == 1
    status = await store.record(ROUTE, Outcome.SERVER_ERROR)
    assert (status.state, status.window.consecutive_failures) == (BreakerState.CLOSED, 2)
    held = await redis_client.hkeys(keys.state(ROUTE))
    assert held == [b"consecutive_failures", b"tracked_since_ms"]


async def test_an_old_stream_entry_decodes_to_the_same_transition(
    store: BreakerStore, keys: Keys, redis_client: Redis
) -> None:
    for _ in range(3):
        await store.record(ROUTE, Outcome.TIMEOUT)
    [(_, entry)] = await redis_client.xrange(keys.events)
    fields = _text_map(entry)
    fields["consecutive"] = fields.pop("consecutive_failures")  # as written before the rename
    await redis_client.xadd(keys.events, fields)
    new, old = await store.events()
    assert old.window.consecutive_failures == 3
    assert old == replace(new, event_id=old.event_id)


async def test_reads_do_not_rewrite_an_old_hash(
    store: BreakerStore, keys: Keys, redis_client: Redis
) -> None:
    await redis_client.hset(keys.state(ROUTE), mapping={"state": "open", "since": 5, "version": 1})
    [status] = await store.states()
    assert (status.state, status.since_ms) == (BreakerState.OPEN, 5)
    assert sorted(await redis_client.hkeys(keys.state(ROUTE))) == [b"since", b"state", b"version"]
