"""Fault-injecting fake LLM providers that speak each vendor's real wire format.

The simulator serves the demo, the tests, the benchmarks and game days
(docs/simulator.md)::

    async with SimCluster([
        SimProvider("openai-sim", "openai", ["gpt-4o-mini"], api_key="sk-sim"),
        SimProvider("claude-sim", "anthropic", ["claude-haiku-4-5"], api_key="ak-sim"),
    ]) as cluster:
        await cluster["claude-sim"].set_faults({"error_rate": 1.0})   # 529 overloaded
        await cluster["openai-sim"].down()                             # refused

One module per wire flavour (`WIRES`), a pure fault model and decision, and the
sockets in server.py / handler.py / admin.py.
"""

from __future__ import annotations

from routeguard.sim.admin import AdminServer
from routeguard.sim.base import Kind, Served
from routeguard.sim.cli import main
from routeguard.sim.cluster import SimCluster
from routeguard.sim.config import ProviderSpec, SimConfig, SimConfigError, load_sim_config
from routeguard.sim.decide import Facts, Verdict, decide
from routeguard.sim.faults import FaultError, Faults, ModelFaults, merge_patch, parse_faults
from routeguard.sim.server import SimProvider
from routeguard.sim.stats import Stats
from routeguard.sim.timeline import (
    Timeline,
    TimelineEntry,
    TimelinePlayer,
    load_timeline,
    parse_timeline,
)

__all__ = [
    "AdminServer",
    "Facts",
    "FaultError",
    "Faults",
    "Kind",
    "ModelFaults",
    "ProviderSpec",
    "Served",
    "SimCluster",
    "SimConfig",
    "SimConfigError",
    "SimProvider",
    "Stats",
    "Timeline",
    "TimelineEntry",
    "TimelinePlayer",
    "Verdict",
    "decide",
    "load_sim_config",
    "load_timeline",
    "main",
    "merge_patch",
    "parse_faults",
    "parse_timeline",
]
