"""What a Redis URL asks for: one server, a Sentinel-watched master, or a Cluster.

Pure parsing, no connection: `routeguard.redis_connect` builds the client and
`Settings` validates `ROUTEGUARD_REDIS_URL` with the same rules. The forms
(docs/configuration.md):

    redis://[user:pass@]host:port/db      rediss://…      unix://[:pass@]/path?db=N
    redis+sentinel://[user:pass@]host:port,host:port/service[?db=N&sentinel_password=…]
    redis+cluster://[user:pass@]host:port,host:port

Any of them but the cluster form may add `wait_replicas=N[&wait_timeout_ms=M]`:
every transition is then acknowledged by N replicas before the store returns
it (docs/redis-schema.md, "Sentinel and Cluster"). Error messages never
quote the URL: callers show it redacted beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

SINGLE_SCHEMES = ("redis", "rediss", "unix")
SENTINEL_SCHEME = "redis+sentinel"
CLUSTER_SCHEME = "redis+cluster"
SCHEMES = (*SINGLE_SCHEMES, SENTINEL_SCHEME, CLUSTER_SCHEME)
DEFAULT_SENTINEL_PORT = 26379
DEFAULT_REDIS_PORT = 6379
DEFAULT_WAIT_TIMEOUT_MS = 100
_WAIT_PARAMS = ("wait_replicas", "wait_timeout_ms")
_SENTINEL_PARAMS = ("db", "sentinel_username", "sentinel_password", *_WAIT_PARAMS)


class Topology(StrEnum):
    """How the Redis behind a URL is deployed."""

    SINGLE = "single"  # one server (maybe with replicas), addressed directly
    SENTINEL = "sentinel"  # a master found through Redis Sentinel, followed across failovers
    CLUSTER = "cluster"  # a Redis Cluster; every routeguard key shares one hash slot


@dataclass(frozen=True)
class ReplicaAcks:
    """After a transition, wait until `replicas` replicas hold it (`WAIT`), at most `timeout_ms`."""

    replicas: int
    timeout_ms: int = DEFAULT_WAIT_TIMEOUT_MS


@dataclass(frozen=True)
class RedisTarget:
    """A parsed Redis URL. `url` is what redis-py gets for SINGLE (routeguard's own params removed)."""

    topology: Topology
    url: str = ""
    hosts: tuple[tuple[str, int], ...] = ()
    service: str = ""
    username: str | None = None
    password: str | None = None
    db: int = 0
    sentinel_username: str | None = None
    sentinel_password: str | None = None
    replica_acks: ReplicaAcks | None = None


def parse_redis_url(url: str) -> RedisTarget:
    """The target `url` names; ValueError (message without secrets) when it is malformed."""
    scheme = url.partition("://")[0].lower()
    if scheme not in SCHEMES or "://" not in url:
        raise ValueError(
            "must be a redis://, rediss://, unix://, redis+sentinel:// or redis+cluster:// URL"
        )
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    if scheme in SINGLE_SCHEMES:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        plain = urlencode([(k, v) for k, v in pairs if k not in _WAIT_PARAMS])
        single_url = urlunsplit((parts.scheme, parts.netloc, parts.path, plain, parts.fragment))
        if not parts.netloc:  # urlunsplit drops the empty authority: redis-py 8.2 wants unix://
            single_url = single_url.replace(f"{parts.scheme}:", f"{parts.scheme}://", 1)
        return RedisTarget(Topology.SINGLE, url=single_url, replica_acks=_acks(params))
    username, password, hosts = _netloc(url, parts.netloc)
    if scheme == CLUSTER_SCHEME:
        if "wait_replicas" in params:
            raise ValueError(
                "wait_replicas is not available on redis+cluster:// (a script's WAIT would have "
                "to run on the shard's own connection)"
            )
        _only(CLUSTER_SCHEME, params, ())
        if parts.path.strip("/"):
            raise ValueError("a redis+cluster:// URL has no path (a cluster has only db 0)")
        return RedisTarget(Topology.CLUSTER, hosts=hosts, username=username, password=password)
    return _sentinel(url, parts.path, params, username, password, hosts)


def _sentinel(
    url: str,
    path: str,
    params: dict[str, str],
    username: str | None,
    password: str | None,
    hosts: tuple[tuple[str, int], ...],
) -> RedisTarget:
    _only(SENTINEL_SCHEME, params, _SENTINEL_PARAMS)
    service = unquote(path.strip("/"))
    if not service or "/" in service:
        raise ValueError(
            "a redis+sentinel:// URL names the master's service after the hosts, "
            "e.g. redis+sentinel://h1:26379,h2:26379/mymaster"
        )
    return RedisTarget(
        Topology.SENTINEL,
        hosts=hosts,
        service=service,
        username=username,
        password=password,
        db=_int(params, "db", 0, minimum=0),
        sentinel_username=params.get("sentinel_username") or None,
        sentinel_password=params.get("sentinel_password") or None,
        replica_acks=_acks(params),
    )


def _netloc(url: str, netloc: str) -> tuple[str | None, str | None, tuple[tuple[str, int], ...]]:
    userinfo, at, host_list = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username, password = (unquote(user) or None, unquote(secret)) if colon else (None, user)
    sentinel = url.lower().startswith(SENTINEL_SCHEME)
    default = DEFAULT_SENTINEL_PORT if sentinel else DEFAULT_REDIS_PORT
    hosts = tuple(_host_port(item, default) for item in host_list.split(","))
    return username, password, hosts


def _host_port(item: str, default_port: int) -> tuple[str, int]:
    item = item.strip()
    if item.startswith("["):  # [::1]:26379
        host, _, rest = item[1:].partition("]")
        port = rest.removeprefix(":") or str(default_port)
    else:
        host, colon, port = item.rpartition(":")
        if not colon:
            host, port = item, str(default_port)
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(
            f"each host must be HOST or HOST:PORT with a port from 1 to 65535 (got {item!r})"
        )
    return host, int(port)


def _acks(params: dict[str, str]) -> ReplicaAcks | None:
    if "wait_replicas" not in params:
        if "wait_timeout_ms" in params:
            raise ValueError("wait_timeout_ms needs wait_replicas beside it")
        return None
    replicas = _int(params, "wait_replicas", 1, minimum=1)
    timeout_ms = _int(params, "wait_timeout_ms", DEFAULT_WAIT_TIMEOUT_MS, minimum=1)
    return ReplicaAcks(replicas, timeout_ms)


def _int(params: dict[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum} (got {raw!r})")
    return int(raw)


def _only(scheme: str, params: dict[str, str], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) if allowed else "no parameters"
        raise ValueError(
            f"unknown parameter {unknown[0]!r} in a {scheme}:// URL (it takes {takes})"
        )
