"""Probes: the three tiers and the runner that measures and classifies them."""

from routeguard.probes.base import ProbeResult, ProbeTarget
from routeguard.probes.runner import ProbeRunner
from routeguard.probes.tiers import PROBES

__all__ = ["PROBES", "ProbeResult", "ProbeRunner", "ProbeTarget"]
