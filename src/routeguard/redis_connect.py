"""The one place routeguard opens Redis: a URL and timeouts in, an asyncio client out.

`connect_redis` serves every URL form of `routeguard.redis_url`:

- one server (`redis://`, `rediss://`, `unix://`): `Redis.from_url`;
- Sentinel (`redis+sentinel://`): a client whose connections ask the sentinels
  for the service's master each time they connect, so after a failover the next
  command (and the next pub/sub subscription) goes to the new master;
- Cluster (`redis+cluster://`): a `RedisCluster`. Every routeguard key carries
  one hash tag, so each script's keys sit in one slot. redis-py 6 has no
  asyncio cluster pub/sub and 8's subscribes by the channel's slot; classic
  PUBLISH reaches every node of a cluster, so `pubsub()` here subscribes on a
  plain connection to one node, the next node on each call, so a subscriber
  whose node died moves on when it subscribes again.

Callers keep using the `Redis` API; on a cluster the object is a
`RedisCluster` with the same commands (the ones routeguard uses).
"""

from __future__ import annotations

import itertools
from typing import Any, cast

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.sentinel import Sentinel

from routeguard.errors import ConfigError
from routeguard.redact import redact_url
from routeguard.redis_url import RedisTarget, ReplicaAcks, Topology, parse_redis_url

# A cluster pipeline refuses keyless TIME: read Redis's clock through a script on
# one of the deployment's keys (EVAL <this> 1 <key>), which works on every topology.
REDIS_TIME_SCRIPT = "return redis.call('TIME')"


def text(value: Any) -> str:
    """One value of a Redis reply as text: bytes (a client without decode_responses)
    decoded as UTF-8, anything else through str()."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class AckedRedis(Redis):
    """A Redis client whose URL asked for transitions to be acknowledged by replicas."""

    replica_acks: ReplicaAcks | None = None


class SentinelMasterRedis(AckedRedis):
    """The client of a Sentinel-watched master; closing it also closes the sentinel links."""

    sentinel_links: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        for client in self.sentinel_links.sentinels if self.sentinel_links else []:
            await client.aclose()


class SubscribableCluster(RedisCluster):
    """A RedisCluster whose `pubsub()` subscribes on one node (classic pub/sub is cluster-wide)."""

    def __init__(self, node_options: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._node_options = node_options
        self._node_clients: dict[str, Redis] = {}
        self._turn = itertools.count()

    def pubsub(
        self, node: Any = None, host: str | None = None, port: int | None = None, **kwargs: Any
    ) -> Any:
        """A plain PubSub on `node` (or host:port), else on the next node of the cluster."""
        if node is None and host is not None and port is not None:
            node = ClusterNode(host, port)
        if node is None:
            nodes = self.get_nodes() or list(self.nodes_manager.startup_nodes.values())
            node = nodes[next(self._turn) % len(nodes)]
        client = self._node_clients.get(node.name)
        if client is None:
            client = Redis(host=node.host, port=node.port, **self._node_options)
            self._node_clients[node.name] = client
        pubsub: PubSub = client.pubsub(**kwargs)
        return pubsub

    async def aclose(self, *args: Any, **kwargs: Any) -> None:
        await super().aclose(*args, **kwargs)
        for client in self._node_clients.values():
            await client.aclose()
        self._node_clients.clear()


def connect_redis(url: str, *, connect_timeout_s: float, timeout_s: float | None) -> Redis:
    """A client for `url` (not connected yet); ConfigError naming the redacted URL if malformed."""
    try:
        target = parse_redis_url(url)
    except ValueError as exc:
        raise ConfigError(f"Redis URL {redact_url(url)}: {exc}") from None
    timeouts: dict[str, float | None] = {
        "socket_connect_timeout": connect_timeout_s,
        "socket_timeout": timeout_s,
    }
    if target.topology is Topology.SENTINEL:
        return _sentinel_master(target, timeouts)
    if target.topology is Topology.CLUSTER:
        return _cluster(target, timeouts)
    client = cast(
        AckedRedis,
        AckedRedis.from_url(
            target.url, socket_connect_timeout=connect_timeout_s, socket_timeout=timeout_s
        ),
    )
    client.replica_acks = target.replica_acks
    return client


def replica_acks(client: object) -> ReplicaAcks | None:
    """How many replicas must hold a transition before the store returns it (from the URL)."""
    return client.replica_acks if isinstance(client, AckedRedis) else None


def _sentinel_master(target: RedisTarget, timeouts: dict[str, float | None]) -> Redis:
    sentinel_auth = {"username": target.sentinel_username, "password": target.sentinel_password}
    sentinel: Sentinel = cast(Any, Sentinel)(
        list(target.hosts),
        sentinel_kwargs=timeouts | sentinel_auth,
        username=target.username,
        password=target.password,
        db=target.db,
        **timeouts,
    )
    client = cast(
        SentinelMasterRedis, sentinel.master_for(target.service, redis_class=SentinelMasterRedis)
    )
    client.sentinel_links = sentinel
    client.replica_acks = target.replica_acks
    return client


def _cluster(target: RedisTarget, timeouts: dict[str, float | None]) -> Redis:
    auth = {"username": target.username, "password": target.password}
    cluster = SubscribableCluster(
        node_options=auth | timeouts,
        startup_nodes=[ClusterNode(host, port) for host, port in target.hosts],
        **auth,
        **timeouts,
    )
    return cast(Redis, cluster)
