"""Redis URL forms: one server, Sentinel, Cluster; and their redaction."""

from __future__ import annotations

import pytest

from routeguard.errors import ConfigError
from routeguard.redact import redact_url
from routeguard.redis_connect import AckedRedis, SubscribableCluster, connect_redis, replica_acks
from routeguard.redis_url import ReplicaAcks, Topology, parse_redis_url


def test_a_plain_url_goes_to_redis_py_without_routeguards_own_parameters() -> None:
    target = parse_redis_url("redis://:pw@h:6380/2?wait_replicas=1&wait_timeout_ms=250&ssl=x")
    assert target.topology is Topology.SINGLE
    assert target.url == "redis://:pw@h:6380/2?ssl=x"
    assert target.replica_acks == ReplicaAcks(replicas=1, timeout_ms=250)


@pytest.mark.parametrize(
    "url", ["unix:///run/redis.sock", "unix:///run/redis.sock?db=2", "unix://:pw@/run/redis.sock"]
)
def test_a_unix_socket_url_keeps_its_double_slash_which_redis_py_8_2_requires(url: str) -> None:
    target = parse_redis_url(url + ("&" if "?" in url else "?") + "wait_replicas=1")
    assert target.url == url
    assert connect_redis(url, connect_timeout_s=1, timeout_s=1) is not None  # redis-py accepts it


def test_a_sentinel_url_names_its_sentinels_service_db_and_both_passwords() -> None:
    target = parse_redis_url(
        "redis+sentinel://app:pw@s1:26380,s2,[::1]:26381/mymaster"
        "?db=3&sentinel_password=spw&wait_replicas=2"
    )
    assert target.topology is Topology.SENTINEL
    assert target.hosts == (("s1", 26380), ("s2", 26379), ("::1", 26381))
    assert (target.service, target.db) == ("mymaster", 3)
    assert (target.username, target.password, target.sentinel_password) == ("app", "pw", "spw")
    assert target.replica_acks == ReplicaAcks(replicas=2, timeout_ms=100)


def test_a_cluster_url_lists_its_startup_nodes_and_a_lone_user_is_the_password() -> None:
    target = parse_redis_url("redis+cluster://tok@n1:7000,n2")
    assert target.topology is Topology.CLUSTER
    assert target.hosts == (("n1", 7000), ("n2", 6379))
    assert (target.username, target.password) == (None, "tok")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://h", "must be a redis://, rediss://, unix://, redis+sentinel://"),
        ("redis+sentinel://s1:26379", "names the master's service after the hosts"),
        ("redis+sentinel://s1:99999/m", "each host must be HOST or HOST:PORT"),
        ("redis+sentinel://s1/m?dbx=1", "unknown parameter 'dbx' in a redis+sentinel:// URL"),
        ("redis+sentinel://s1/m?db=-1", "db must be a whole number >= 0"),
        ("redis+sentinel://s1/m?wait_replicas=0", "wait_replicas must be a whole number >= 1"),
        ("redis://h?wait_timeout_ms=5", "wait_timeout_ms needs wait_replicas beside it"),
        ("redis+cluster://n1/3", "a redis+cluster:// URL has no path"),
        ("redis+cluster://n1?wait_replicas=1", "wait_replicas is not available on redis+cluster"),
        ("redis+cluster://n1?db=1", "unknown parameter 'db' in a redis+cluster:// URL"),
    ],
)
def test_a_malformed_url_gets_one_message_saying_what_is_wrong(url: str, expected: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_redis_url(url)
    assert expected in str(caught.value)


def test_connect_turns_a_malformed_url_into_a_config_error_without_the_password() -> None:
    with pytest.raises(ConfigError) as caught:
        connect_redis("redis+sentinel://:hunter2@s1", connect_timeout_s=1, timeout_s=1)
    assert "hunter2" not in str(caught.value)
    assert "redis+sentinel://:***@s1" in str(caught.value)


async def test_connect_builds_the_client_the_url_asks_for() -> None:
    plain = connect_redis("redis://h/0?wait_replicas=1", connect_timeout_s=1, timeout_s=1)
    sentinel = connect_redis("redis+sentinel://s1,s2/m", connect_timeout_s=1, timeout_s=1)
    cluster = connect_redis("redis+cluster://n1:7000", connect_timeout_s=1, timeout_s=1)
    try:
        assert isinstance(plain, AckedRedis)
        assert replica_acks(plain) == ReplicaAcks(1, 100)
        assert replica_acks(sentinel) is None
        assert isinstance(cluster, SubscribableCluster)
        assert replica_acks(cluster) is None
    finally:
        for client in (plain, sentinel, cluster):
            await client.aclose()


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
        ("redis://tok@h", "redis://***@h"),
        ("redis://h:6379/0", "redis://h:6379/0"),
        ("unix://:pw@/run/redis.sock?db=1", "unix://:***@/run/redis.sock?db=1"),
        (
            "redis+sentinel://app:pw@s1:26379,s2:26379/m?db=1&sentinel_password=spw",
            "redis+sentinel://app:***@s1:26379,s2:26379/m?db=1&sentinel_password=***",
        ),
        ("redis+cluster://u:p@w@n1:7000,n2:7001", "redis+cluster://u:***@n1:7000,n2:7001"),
        ("redis://h/0?password=pw", "redis://h/0?password=***"),
    ],
)
def test_every_url_form_is_shown_without_its_passwords(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted
