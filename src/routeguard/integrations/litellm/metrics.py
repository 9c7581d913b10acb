"""The LiteLLM plug-in's own counters (names in `routeguard.metric_names`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from routeguard import metric_names as names


class PluginMetrics:
    """What the plug-in decided, beside its HealthClient's worker metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.skipped = names.counter(names.LITELLM_SKIPPED, registry)
        self.panics = names.counter(names.LITELLM_PANICS, registry)
        self.fail_open = names.counter(names.LITELLM_FAIL_OPEN, registry)
