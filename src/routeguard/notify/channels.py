"""The channel registry: one class per `type`, one dict (blackbox_exporter's `Probers`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from routeguard.config.notify import NotifyConfig
from routeguard.notify.alertmanager import AlertmanagerNotifier
from routeguard.notify.base import Channel
from routeguard.notify.pagerduty import PagerDutyNotifier
from routeguard.notify.slack import SlackNotifier
from routeguard.notify.webhook import WebhookNotifier

ChannelFactory = Callable[[str, Any, NotifyConfig, Mapping[str, str] | None], Channel]

CHANNELS: Mapping[str, ChannelFactory] = MappingProxyType(
    {
        "webhook": WebhookNotifier,
        "slack": SlackNotifier,
        "pagerduty": PagerDutyNotifier,
        "alertmanager": AlertmanagerNotifier,
    }
)


def build_channels(
    config: NotifyConfig, env: Mapping[str, str] | None = None
) -> dict[str, Channel]:
    """Every configured channel by name; secrets are read from `env` (default os.environ) at send."""
    return {
        name: CHANNELS[channel.type](name, channel, config, env)
        for name, channel in config.channels.items()
    }
