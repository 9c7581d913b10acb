"""`GET /v1/routes/watch` (Server-Sent Events) against a running daemon and a real Redis.

Read with a plain HTTP client, as a gateway in Go, Rust or Node would: the
snapshot first, every transition with its stream id, resume with
Last-Event-ID, heartbeats, a slow reader dropped without slowing anyone else,
and a prompt end when the daemon stops.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import time
from typing import Any

import httpx
import pytest
from conftest import eventually
from redis.asyncio import Redis

from routeguard.breaker import Keys
from routeguard.daemon.app import Daemon

from .daemon_helpers import ADMIN_TOKEN, UNREACHABLE_PAIR, catalog_from, running_daemon
from .sse_client import Feed, Frame, watching

pytestmark = pytest.mark.redis

CATALOG = UNREACHABLE_PAIR
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
WATCH = "/v1/routes/watch"


async def flip(daemon: Daemon, route: str = "a/m", reason: str = "test") -> str:
    """One transition of `route` (forced open, or handed back); the state it went to."""
    assert daemon.store is not None
    current = await daemon.store.state(route)
    target = "auto" if current.state.value == "forced_open" else "open"
    status = await daemon.store.force(route, target, reason)
    assert len(status.transitions) == 1
    return status.state.value


async def metric(daemon: Daemon, name: str) -> float:
    async with httpx.AsyncClient() as client:
        text = (await client.get(daemon.http_url + "/metrics")).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


async def test_the_snapshot_comes_first_then_each_transition_with_its_stream_id(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with (
        running_daemon(catalog_from(CATALOG), redis_url, keys) as daemon,
        httpx.AsyncClient() as client,
    ):
        await flip(daemon, "b/m")  # one transition before the watcher connects
        async with watching(client, daemon.http_url + WATCH) as feed:
            snapshot = await feed.events()
            assert snapshot.event == "snapshot"
            before = (await client.get(daemon.http_url + "/v1/events")).json()["events"]
            assert snapshot.id == snapshot.data["id"] == before[-1]["id"]
            routes = (await client.get(daemon.http_url + "/v1/routes")).json()["routes"]
            for record in routes:  # what the snapshot leaves out (docs/daemon.md)
                for name in ("last_probe", "last_probes", "models", "uptime", "probes"):
                    del record[name]
            assert [r["route"] for r in snapshot.data["routes"]] == ["a/m", "b/m"]
            assert snapshot.data["routes"][1]["state"] == "forced_open"
            assert snapshot.data["routes"] == routes
            assert await metric(daemon, "routeguard_watchers") == 1

            forced = await client.post(
                daemon.http_url + "/v1/routes/a/m/force",
                json={"state": "open", "reason": "vendor incident"},
                headers=AUTH,
            )
            assert forced.status_code == 200
            moved = await feed.events()
            events = (await client.get(daemon.http_url + "/v1/events")).json()["events"]
        assert moved.event == "transition"
        assert moved.id == events[-1]["id"] and moved.data == events[-1]
        assert (moved.data["route"], moved.data["from"], moved.data["to"]) == (
            "a/m",
            "closed",
            "forced_open",
        )
        assert moved.data["detail"] == "vendor incident"

        async def nobody_watches() -> bool:
            return await metric(daemon, "routeguard_watchers") == 0

        # A closed connection is noticed at the next write (an event or a ping).
        await flip(daemon)
        await eventually(nobody_watches, timeout_s=5, what="the watcher to be gone")


async def test_transition_to_watcher_latency_over_50_forced_transitions(
    redis_url: str,
    keys: Keys,
    redis_client: Redis,
    record_property,  # type: ignore[no-untyped-def]
) -> None:
    received: dict[str, Frame] = {}

    async def collect(feed: Feed) -> None:
        while True:
            frame = await feed.events(timeout_s=60)
            received[frame.id or ""] = frame

    async with (
        running_daemon(catalog_from(CATALOG), redis_url, keys) as daemon,
        httpx.AsyncClient() as client,
        watching(client, daemon.http_url + WATCH) as feed,
    ):
        assert (await feed.events()).event == "snapshot"
        collector = asyncio.create_task(collect(feed))
        latencies, round_trips = [], []
        try:
            for i in range(50):
                target = "open" if i % 2 == 0 else "auto"
                sent = time.perf_counter()
                response = await client.post(
                    f"{daemon.http_url}/v1/routes/a/m/force",
                    json={"state": target, "reason": f"latency {i}"},
                    headers=AUTH,
                )
                returned = time.perf_counter()
                assert response.status_code == 200 and response.json()["changed"]
                version = response.json()["version"]

                def arrived(version: int = version) -> Frame | None:
                    found = [f for f in received.values() if f.data["version"] == version]
                    return found[0] if found else None

                await eventually(arrived, timeout_s=5, what=f"transition {i} at the watcher")
                frame = arrived()
                assert frame is not None
                # The event may even be parsed before the force's answer is: that is 0.
                latencies.append(max(0.0, frame.at - returned))
                round_trips.append(frame.at - sent)  # an upper bound: includes the force itself
        finally:
            collector.cancel()
            await asyncio.gather(collector, return_exceptions=True)
    assert len(received) == 50
    latencies.sort()
    p50_ms = statistics.median(latencies) * 1000
    p99_ms = latencies[int(0.99 * (len(latencies) - 1))] * 1000
    record_property("watch_latency_p50_ms", round(p50_ms, 2))
    record_property("watch_latency_p99_ms", round(p99_ms, 2))
    record_property("watch_latency_max_ms", round(latencies[-1] * 1000, 2))
    round_trips.sort()
    sent_p50_ms = statistics.median(round_trips) * 1000
    sent_p99_ms = round_trips[int(0.99 * (len(round_trips) - 1))] * 1000
    record_property("force_sent_to_watcher_p50_ms", round(sent_p50_ms, 2))
    record_property("force_sent_to_watcher_p99_ms", round(sent_p99_ms, 2))
    before = sum(1 for x in latencies if x == 0.0)
    print(
        f"\ntransition -> watcher over 50 forced transitions: p50 {p50_ms:.2f} ms, "
        f"p99 {p99_ms:.2f} ms, max {latencies[-1] * 1000:.2f} ms ({before} arrived before the "
        f"force's answer); force sent -> watcher: p50 {sent_p50_ms:.2f} ms, p99 {sent_p99_ms:.2f} ms"
    )
    assert latencies[-1] < 1.0, "sanity: a transition reaches a watcher within a second"


async def test_a_reconnect_with_last_event_id_misses_nothing_then_goes_live(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with (
        running_daemon(catalog_from(CATALOG), redis_url, keys) as daemon,
        httpx.AsyncClient() as client,
    ):
        async with watching(client, daemon.http_url + WATCH) as feed:
            await flip(daemon)
            snapshot = await feed.events()
            first = await feed.events()
            assert (snapshot.event, first.event) == ("snapshot", "transition")
        last_seen = first.id
        assert last_seen is not None
        missed = []
        for i in range(7):  # while nobody watches
            missed.append((await flip(daemon, "b/m" if i % 3 else "a/m"), i))
        answer = (await client.get(daemon.http_url + "/v1/events?limit=1000")).json()
        expected = [e["id"] for e in answer["events"]]
        expected = expected[expected.index(last_seen) + 1 :]
        assert len(expected) == 7
        async with watching(client, daemon.http_url + WATCH, last_event_id=last_seen) as feed:
            replay = [await feed.events() for _ in range(7)]
            assert [f.event for f in replay] == ["transition"] * 7, "no snapshot on a resume"
            assert [f.id for f in replay] == expected
            assert [f.data["to"] for f in replay] == [to for to, _ in missed]
            await flip(daemon)
            live = await feed.events()
            assert live.event == "transition" and live.data["route"] == "a/m"
            assert live.id is not None and live.id > expected[-1]
        # `?since=` does the same for a client that cannot set the header.
        async with watching(client, f"{daemon.http_url}{WATCH}?since={expected[-2]}") as feed:
            assert [(await feed.events()).id for _ in range(2)] == [expected[-1], live.id]


async def test_an_id_the_stream_no_longer_covers_gets_a_reset_then_a_snapshot(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with (
        running_daemon(catalog_from(CATALOG), redis_url, keys) as daemon,
        httpx.AsyncClient() as client,
    ):
        for _ in range(3):
            await flip(daemon)
        events = [
            e["id"] for e in (await client.get(daemon.http_url + "/v1/events")).json()["events"]
        ]
        await redis_client.xtrim(keys.events, maxlen=2, approximate=False)  # the oldest is gone
        for gone in (events[0], "99999999999999-0"):
            async with watching(client, daemon.http_url + WATCH, last_event_id=gone) as feed:
                reset, snapshot = await feed.events(), await feed.events()
            assert reset.event == "reset" and reset.data["last_event_id"] == gone
            assert snapshot.event == "snapshot" and snapshot.id == events[-1]
            assert snapshot.data["routes"][0]["state"] == "forced_open"
        # The first entry left is still there: resuming after it needs nothing.
        async with watching(client, daemon.http_url + WATCH, last_event_id=events[-2]) as feed:
            resumed = await feed.events()
        assert (resumed.event, resumed.id) == ("transition", events[-1])
        bad = await client.get(daemon.http_url + WATCH, headers={"Last-Event-ID": "yesterday"})
        assert bad.status_code == 400 and "Last-Event-ID" in bad.json()["error"]


async def test_an_idle_watcher_gets_heartbeats(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    async with (
        running_daemon(catalog_from(CATALOG), redis_url, keys, watch_heartbeat_s=0.2) as daemon,
        httpx.AsyncClient() as client,
        watching(client, daemon.http_url + WATCH) as feed,
    ):
        assert (await feed.next()).event == "snapshot"
        started = time.perf_counter()
        pings = [await feed.next(timeout_s=2) for _ in range(2)]
        assert [(p.event, p.comment) for p in pings] == [("", "ping")] * 2
        assert pings[1].at - started >= 0.3, "one ping per interval, not a burst"


async def never_reading_client(url: str) -> socket.socket:
    """A watch client that sends its request and then never reads (a tiny receive window)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (host, int(port)))
    await loop.sock_sendall(sock, f"GET {WATCH} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return sock


async def test_a_reader_that_never_reads_is_dropped_and_the_others_get_every_event(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    received: list[Frame] = []

    async def collect(feed: Feed) -> None:
        while True:
            received.append(await feed.events(timeout_s=60))

    async with (
        running_daemon(catalog_from(CATALOG), redis_url, keys, watch_queue_size=16) as daemon,
        httpx.AsyncClient() as client,
        watching(client, daemon.http_url + WATCH) as feed,
    ):
        collector = asyncio.create_task(collect(feed))
        slow = await never_reading_client(daemon.http_url)
        try:

            async def two_watchers() -> bool:
                return await metric(daemon, "routeguard_watchers") == 2

            await eventually(two_watchers, timeout_s=5, what="2 watchers")
            forced, reason = 0, "x" * 200  # the longest reason: big frames fill buffers sooner
            # Until the slow reader's buffers (kernel and transport) are full and its queue
            # overflows; the fast watcher must keep up all the while.
            while await metric(daemon, "routeguard_watchers_dropped_total") == 0:
                for _ in range(50):
                    await flip(daemon, reason=reason)
                    forced += 1
                assert forced < 20_000, "the slow reader was never dropped"
            assert await metric(daemon, "routeguard_watchers") == 1
            await eventually(
                lambda: len(received) == forced + 1,
                timeout_s=5,
                what=f"the fast watcher to get all {forced} transitions",
            )
            assert received[0].event == "snapshot"
            ids = [f.id for f in received[1:]]
            assert ids == sorted(ids) and len(set(ids)) == forced
            # It still gets new ones at once.
            before = len(received)
            await flip(daemon)
            waited = await eventually(
                lambda: len(received) == before + 1, timeout_s=1, what="a live event"
            )
            print(f"\nslow reader dropped after {forced} transitions; next event in {waited:.3f} s")
            # The slow reader's connection is closed: reading it now ends (EOF or a reset).
            loop = asyncio.get_running_loop()

            async def closed() -> bool:
                try:
                    while chunk := await asyncio.wait_for(loop.sock_recv(slow, 65536), 1):
                        del chunk
                except ConnectionResetError:
                    pass
                return True

            await eventually(closed, timeout_s=10, what="the slow reader's connection to close")
        finally:
            slow.close()
            collector.cancel()
            await asyncio.gather(collector, return_exceptions=True)


async def test_the_daemons_stop_ends_watch_connections_promptly(
    redis_url: str, keys: Keys, redis_client: Redis
) -> None:
    frames: list[Frame] = []
    async with httpx.AsyncClient() as client:
        daemon_cm = running_daemon(catalog_from(CATALOG), redis_url, keys)
        daemon = await daemon_cm.__aenter__()
        try:
            feeds = [watching(client, daemon.http_url + WATCH) for _ in range(3)]
            opened = [await cm.__aenter__() for cm in feeds]
            for feed in opened:
                frames.append(await feed.events())
        finally:
            started = time.monotonic()
            await daemon_cm.__aexit__(None, None, None)
            took = time.monotonic() - started
            print(f"\ndaemon stop with 3 watchers took {took:.3f} s")
        ends: list[Any] = []
        for feed, cm in zip(opened, feeds, strict=True):
            ends.append(await feed.events())
            with pytest.raises(EOFError):
                await feed.next()
            await cm.__aexit__(None, None, None)
    assert [f.event for f in frames] == ["snapshot"] * 3
    assert [f.event for f in ends] == ["shutdown"] * 3
    assert took < 3.0, f"the daemon took {took:.1f} s to stop with 3 watchers"
