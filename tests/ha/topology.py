"""Real Redis topologies on loopback for the HA tests: Sentinel and Cluster.

Each process is a `redis-server` on a free 127.0.0.1 port, in its own temp
directory, started and stopped (by its handle) by the test's fixture. A
missing `redis-server` skips the tests with the reason, except in CI
(`CI=true`), where it fails them: CI installs redis-server (.ci/run).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from conftest import eventually_sync

SERVICE = "rgmaster"
CLUSTER_BUS_OFFSET = 10_000
START_TIMEOUT_S = 15.0


class TopologyError(Exception):
    """A topology did not come up; the message says which part and why."""


def require_binaries() -> tuple[str, str]:
    """Paths of redis-server and redis-cli; skips (fails in CI) when missing."""
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server and cli:
        return server, cli
    reason = (
        "redis-server and redis-cli are not installed (Debian package redis-server; "
        "CI installs it): the Sentinel and Cluster tests cannot run"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def free_port(*, with_bus: bool = False) -> int:
    """A loopback port nothing listens on (and its cluster bus port, +10000, if asked)."""
    for _ in range(200):
        port = random.randint(20_000, 40_000)
        wanted = (port, port + CLUSTER_BUS_OFFSET) if with_bus else (port,)
        if all(_bindable(p) for p in wanted):
            return port
    raise TopologyError("no free loopback port found")


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class RedisProcess:
    """One redis-server (or sentinel) process on 127.0.0.1:`port`, in `workdir`."""

    binary: str
    port: int
    workdir: Path
    args: list[str] = field(default_factory=list)
    config: str | None = None  # sentinel.conf text (sentinels must have a writable file)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        argv = [self.binary]
        if self.config is not None:
            conf = self.workdir / "sentinel.conf"
            conf.write_text(self.config)
            argv += [str(conf), "--sentinel"]
        argv += ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir)]
        argv += ["--save", "", "--appendonly", "no", *self.args]
        log = (self.workdir / "redis.log").open("wb")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=2)

    def answers(self) -> bool:
        try:
            with self.client() as client:
                return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    def wait_ready(self) -> None:
        if self.proc is None:
            raise TopologyError(f"redis on port {self.port} was never started")
        eventually_sync(self.answers, timeout_s=START_TIMEOUT_S, what=f"redis on port {self.port}")

    def kill(self) -> None:
        """SIGKILL: a crash, no shutdown save, no goodbye to replicas or sentinels."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=5)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def log_tail(self, lines: int = 15) -> str:
        path = self.workdir / "redis.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


SENTINEL_CONF = """\
sentinel monitor {service} 127.0.0.1 {master_port} 2
sentinel down-after-milliseconds {service} 1000
sentinel failover-timeout {service} 6000
sentinel parallel-syncs {service} 1
"""
FAST_SYNC = ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]


@contextmanager
def own_redis(workdir: Path) -> Iterator[RedisProcess]:
    """A redis-server of the caller's own on a free loopback port; stopped whatever happens."""
    server, _ = require_binaries()
    process = RedisProcess(server, free_port(), workdir)
    process.start()
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


class ReplicatedPair:
    """A master and one replica of it, replicating (the base of the Sentinel topology)."""

    def __init__(self, root: Path) -> None:
        server, _ = require_binaries()
        master_port = free_port()
        self.master = RedisProcess(server, master_port, root / "master", list(FAST_SYNC))
        replica_args = [*FAST_SYNC, "--replicaof", "127.0.0.1", str(master_port)]
        self.replica = RedisProcess(server, free_port(), root / "replica", replica_args)

    @property
    def processes(self) -> list[RedisProcess]:
        return [self.master, self.replica]

    def start(self) -> None:
        for process in self.processes:
            process.start()
        for process in self.processes:
            process.wait_ready()
        eventually_sync(self._replica_in_sync, timeout_s=START_TIMEOUT_S, what="the replica's sync")

    def _replica_in_sync(self) -> bool:
        """The replica acknowledges a write (online alone is not enough: its first ACKs lag)."""
        with self.master.client() as client:
            client.set("topology:ready", "1")
            return int(client.execute_command("WAIT", 1, 100)) == 1

    def stop(self) -> None:
        for process in self.processes:
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"--- port {p.port}\n{p.log_tail()}" for p in self.processes)


class SentinelTopology(ReplicatedPair):
    """A master, one replica and three sentinels (quorum 2) watching service `rgmaster`."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        server, _ = require_binaries()
        conf = SENTINEL_CONF.format(service=SERVICE, master_port=self.master.port)
        self.sentinels = [
            RedisProcess(server, free_port(), root / f"sentinel{i}", config=conf) for i in range(3)
        ]

    @property
    def processes(self) -> list[RedisProcess]:
        return [self.master, self.replica, *self.sentinels]

    def url(self, query: str = "") -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{SERVICE}" + (f"?{query}" if query else "")

    def start(self) -> None:
        super().start()
        eventually_sync(self._sentinels_agree, timeout_s=START_TIMEOUT_S, what="sentinels to meet")

    def _sentinels_agree(self) -> bool:
        """Every sentinel knows the replica and the two other sentinels (needed to fail over)."""
        for sentinel in self.sentinels:
            with sentinel.client() as client:
                replicas = client.execute_command("SENTINEL", "REPLICAS", SERVICE)
                peers = client.execute_command("SENTINEL", "SENTINELS", SERVICE)
            if len(replicas) < 1 or len(peers) < 2:
                return False
        return True

    def master_port(self) -> int:
        """The port the sentinels now name as the master."""
        with self.sentinels[0].client() as client:
            _, port = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
        return int(port)


class ClusterTopology:
    """Three masters, no replicas, every slot assigned (`redis-cli --cluster create`)."""

    def __init__(self, root: Path) -> None:
        server, self._cli = require_binaries()
        args = ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"]
        self.nodes = []
        for i in range(3):
            node_args = [*args, "--cluster-config-file", str(root / f"node{i}" / "nodes.conf")]
            port = free_port(with_bus=True)
            self.nodes.append(RedisProcess(server, port, root / f"node{i}", node_args))

    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def start(self) -> None:
        for node in self.nodes:
            node.start()
        for node in self.nodes:
            node.wait_ready()
        create = [self._cli, "--cluster", "create"]
        create += [f"127.0.0.1:{n.port}" for n in self.nodes]
        create += ["--cluster-replicas", "0", "--cluster-yes"]
        done = subprocess.run(create, capture_output=True, timeout=30, check=False)
        if done.returncode != 0:
            raise TopologyError(f"redis-cli --cluster create failed: {done.stdout[-500:]!r}")
        eventually_sync(self._cluster_ok, timeout_s=START_TIMEOUT_S, what="cluster_state:ok")

    def _cluster_ok(self) -> bool:
        for node in self.nodes:
            with node.client() as client:
                info = client.execute_command("CLUSTER", "INFO")
            text = info.decode() if isinstance(info, bytes) else str(info)
            if "cluster_state:ok" not in text:
                return False
        return True

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def logs(self) -> str:
        return "\n".join(f"--- port {n.port}\n{n.log_tail()}" for n in self.nodes)
