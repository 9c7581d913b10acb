"""Probes: the three tiers, the jobs that run them, the runner and its metrics."""

from routeguard.probes.base import ProbeJob, ProbeResult, ProbeTarget
from routeguard.probes.metrics import ProbeMetrics
from routeguard.probes.runner import ProbeRunner
from routeguard.probes.tiers import PROBES

__all__ = ["PROBES", "ProbeJob", "ProbeMetrics", "ProbeResult", "ProbeRunner", "ProbeTarget"]
