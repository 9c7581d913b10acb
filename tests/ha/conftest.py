"""Fixtures of the HA tests: a fresh Sentinel or Cluster topology per test, always stopped."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from .topology import ClusterTopology, ReplicatedPair, SentinelTopology, TopologyError

T = TypeVar("T", ReplicatedPair, SentinelTopology, ClusterTopology)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ha: starts its own redis-server processes (Sentinel, Cluster); runs in `make test`",
    )


def _started(topology: T) -> Iterator[T]:
    try:
        topology.start()
    except (TopologyError, AssertionError) as exc:  # AssertionError: a wait timed out
        logs = topology.logs()
        topology.stop()
        pytest.fail(f"the Redis topology did not start: {exc}\n{logs}", pytrace=False)
    try:
        yield topology
    finally:
        topology.stop()


@pytest.fixture
def replicated_pair(tmp_path: Path) -> Iterator[ReplicatedPair]:
    """A master with one replica, no sentinels."""
    yield from _started(ReplicatedPair(tmp_path))


@pytest.fixture
def sentinel_topology(tmp_path: Path) -> Iterator[SentinelTopology]:
    """A master, a replica and three sentinels watching them."""
    yield from _started(SentinelTopology(tmp_path))


@pytest.fixture
def cluster_topology(tmp_path: Path) -> Iterator[ClusterTopology]:
    """A three-master Redis Cluster."""
    yield from _started(ClusterTopology(tmp_path))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed HA test shows the tail of every redis-server log of its topology."""
    report = yield
    funcargs = getattr(item, "funcargs", {})
    for name in ("replicated_pair", "sentinel_topology", "cluster_topology"):
        topology = funcargs.get(name)
        if report.failed and topology is not None:
            report.sections.append((f"{name} logs", topology.logs()))
    return report
