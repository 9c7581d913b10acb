"""Reads the `notify:` section of a catalog: when to page, and which channels to tell.

Channels are keyed by a name of your choosing and pick their kind with `type`
(`webhook`, `slack`, `pagerduty`, `alertmanager`). Secrets (webhook signing
secrets, Slack webhook URLs, PagerDuty routing keys, Alertmanager tokens) never
belong in the file: each channel names the environment variable that holds its
secret, and the loader refuses a secret written in place, without echoing it.
docs/notifications.md describes every key.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from routeguard.config.credentials import looks_like_key, url_has_credentials
from routeguard.config.problems import KeyPath, Problems, policy_problems, show, unknown_key_fix
from routeguard.routes import PROVIDER_NAME, PROVIDER_NAME_RULE

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRET_KEYS = {
    "webhook": ("secret", "secret_env"),
    "pagerduty": ("routing_key", "routing_key_env"),
    "alertmanager": ("bearer_token", "bearer_token_env"),
}
M = TypeVar("M", bound=BaseModel)
_ENV_FIX = "put the secret in an environment variable and write that variable's name here"


class Severity(StrEnum):
    """How urgent an incident is (PagerDuty's words; docs/notifications.md maps them)."""

    CRITICAL = "critical"  # an outage: routes cannot serve (pages)
    WARNING = "warning"  # a configuration problem: auth or quota (a ticket, not an outage)


NonNegativeSeconds = Annotated[float, Field(ge=0)]
PositiveSeconds = Annotated[float, Field(gt=0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeliverySettings(_Section):
    """How hard each channel is tried, and when a stuck delivery is taken over."""

    max_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    backoff_s: PositiveSeconds = 1.0
    backoff_max_s: PositiveSeconds = 30.0
    timeout_s: PositiveSeconds = 10.0
    claim_idle_s: PositiveSeconds = 60.0


class _Channel(_Section):
    severities: tuple[Severity, ...] = (Severity.CRITICAL, Severity.WARNING)


class WebhookChannel(_Channel):
    """A generic JSON webhook, signed with the Standard Webhooks scheme."""

    type: Literal["webhook"] = "webhook"
    url: str
    secret_env: str


class SlackChannel(_Channel):
    """A Slack incoming webhook; its URL (which holds the token) comes from `url_env`."""

    type: Literal["slack"] = "slack"
    url_env: str


class PagerDutyChannel(_Channel):
    """A PagerDuty Events API v2 integration; the routing key comes from `routing_key_env`."""

    type: Literal["pagerduty"] = "pagerduty"
    routing_key_env: str
    url: str = PAGERDUTY_EVENTS_URL


class AlertmanagerChannel(_Channel):
    """Alertmanager's `POST /api/v2/alerts`; `url` is Alertmanager's root."""

    type: Literal["alertmanager"] = "alertmanager"
    url: str
    bearer_token_env: str | None = None


ChannelConfig = WebhookChannel | SlackChannel | PagerDutyChannel | AlertmanagerChannel
CHANNEL_TYPES: Mapping[str, type[_Channel]] = MappingProxyType(
    {
        "webhook": WebhookChannel,
        "slack": SlackChannel,
        "pagerduty": PagerDutyChannel,
        "alertmanager": AlertmanagerChannel,
    }
)


class NotifySettings(_Section):
    """The `notify:` keys other than `channels` and `delivery`."""

    page_after_s: NonNegativeSeconds = 60.0
    remind_every_s: PositiveSeconds = 3600.0
    resolve_after_s: NonNegativeSeconds = 0.0
    group_window_s: NonNegativeSeconds = 10.0
    status_url: str | None = None


class NotifyConfig(NotifySettings):
    """The whole `notify:` section; no channels means nobody is told."""

    delivery: DeliverySettings = DeliverySettings()
    channels: Mapping[str, Annotated[ChannelConfig, Field(discriminator="type")]] = Field(
        default_factory=lambda: MappingProxyType({})
    )

    def secret_envs(self) -> dict[str, str]:
        """Channel name -> the environment variable its secret is read from."""
        envs: dict[str, str] = {}
        for name, channel in self.channels.items():
            env = _secret_env(channel)
            if env:
                envs[name] = env
        return envs


NOTIFY_KEYS = (*NotifySettings.model_fields, "delivery", "channels")


def _secret_env(channel: ChannelConfig) -> str | None:
    if isinstance(channel, WebhookChannel):
        return channel.secret_env
    if isinstance(channel, SlackChannel):
        return channel.url_env
    if isinstance(channel, PagerDutyChannel):
        return channel.routing_key_env
    return channel.bearer_token_env


def read_notify(raw: Any, problems: Problems) -> NotifyConfig | None:
    """The `notify:` section (defaults when absent); None if it has problems."""
    path: KeyPath = ("notify",)
    if raw is None:
        return NotifyConfig()
    if not isinstance(raw, dict):
        problems.add(path, f"must be a mapping (got {show(raw)})", "e.g. {channels: {...}}")
        return None
    before = len(problems)
    for key in raw:
        if key not in NOTIFY_KEYS:
            problems.unknown_key((*path, str(key)), NOTIFY_KEYS)
    top = {k: v for k, v in raw.items() if k in NotifySettings.model_fields}
    settings = _validated(path, top, NotifySettings, problems)
    if settings is not None and settings.status_url is not None:
        _check_url((*path, "status_url"), settings.status_url, problems)
    delivery = _read_delivery(raw.get("delivery"), problems)
    channels = _read_channels(raw.get("channels"), problems)
    if settings is None or delivery is None or channels is None or len(problems) != before:
        return None
    return NotifyConfig(
        **settings.model_dump(), delivery=delivery, channels=MappingProxyType(channels)
    )


def _read_delivery(raw: Any, problems: Problems) -> DeliverySettings | None:
    path: KeyPath = ("notify", "delivery")
    if raw is None:
        return DeliverySettings()
    if not isinstance(raw, dict):
        problems.add(path, f"must be a mapping (got {show(raw)})", "e.g. {max_attempts: 5}")
        return None
    return _validated(path, raw, DeliverySettings, problems)


def _read_channels(raw: Any, problems: Problems) -> dict[str, ChannelConfig] | None:
    path: KeyPath = ("notify", "channels")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(
            path, f"must be a mapping of channel names (got {show(raw)})", _CHANNEL_EXAMPLE
        )
        return None
    channels: dict[str, ChannelConfig] = {}
    for name, entry in raw.items():
        where = (*path, str(name))
        if not isinstance(name, str) or not PROVIDER_NAME.fullmatch(name):
            problems.add(where, "invalid channel name", f"use {PROVIDER_NAME_RULE}")
            continue
        channel = _read_channel(where, entry, problems)
        if channel is not None:
            channels[name] = channel
    return channels


_CHANNEL_EXAMPLE = "e.g. {oncall: {type: pagerduty, routing_key_env: PAGERDUTY_ROUTING_KEY}}"


def _read_channel(path: KeyPath, entry: Any, problems: Problems) -> ChannelConfig | None:
    types = ", ".join(sorted(CHANNEL_TYPES))
    if not isinstance(entry, dict):
        problems.add(path, f"must be a mapping (got {show(entry)})", _CHANNEL_EXAMPLE)
        return None
    kind = entry.get("type")
    if kind is None:
        problems.add((*path, "type"), "missing", f"use one of {types}")
        return None
    if not isinstance(kind, str) or kind not in CHANNEL_TYPES:
        problems.add((*path, "type"), f"unknown channel type {show(kind)}", f"use one of {types}")
        return None
    if not _secrets_absent(path, kind, entry, problems):
        return None
    model = CHANNEL_TYPES[kind]
    channel = _validated(path, entry, model, problems)
    if channel is None or not _channel_values_ok(path, channel, problems):
        return None
    return cast(ChannelConfig, channel)


def _secrets_absent(path: KeyPath, kind: str, entry: dict[Any, Any], problems: Problems) -> bool:
    """Refuse a secret written in place: a Slack `url`, a `secret`, a `routing_key`, ..."""
    if kind == "slack" and "url" in entry:
        problems.add(
            (*path, "url"),
            "a Slack webhook URL holds its token, so it must not be written in the catalog file",
            "put the URL in an environment variable and name that variable in url_env",
        )
        return False
    written, env_key = _SECRET_KEYS.get(kind, ("", ""))
    for key in entry:
        if key == written or (isinstance(key, str) and key in ("token", "api_key", "password")):
            problems.add(
                (*path, str(key)),
                "secrets must not be written in the catalog file",
                f"put it in an environment variable and name that variable in "
                f"{env_key or 'the channel'}",
            )
            return False
    return True


def _channel_values_ok(path: KeyPath, channel: BaseModel, problems: Problems) -> bool:
    before = len(problems)
    for field in ("secret_env", "url_env", "routing_key_env", "bearer_token_env"):
        value = getattr(channel, field, None)
        if value is not None:
            _check_env_name((*path, field), value, problems)
    url = getattr(channel, "url", None)
    if isinstance(url, str):
        _check_url((*path, "url"), url, problems)
    return len(problems) == before


def _check_env_name(path: KeyPath, value: str, problems: Problems) -> None:
    if looks_like_key(value) or value.startswith("whsec_") or "://" in value:
        problems.add(
            path, "this looks like a secret, not the name of an environment variable", _ENV_FIX
        )
    elif not _ENV_NAME.fullmatch(value):
        problems.add(  # the value is not echoed: it may be a secret pasted in the wrong place
            path,
            "must be the name of an environment variable",
            "use letters, digits and '_', not starting with a digit",
        )


def _check_url(path: KeyPath, url: str, problems: Problems) -> None:
    if url_has_credentials(url):
        problems.add(
            path,
            "credentials must not be written in the catalog file",
            "put them in an environment variable and name it in the channel's *_env key",
        )
    elif not re.fullmatch(r"https?://[^/\s?#]+[^\s]*", url):
        problems.add(
            path, f"must be an http:// or https:// URL (got {show(url)})", "e.g. https://host/path"
        )


def _validated(
    path: KeyPath, values: dict[Any, Any], model: type[M], problems: Problems
) -> M | None:
    """`values` as `model`, or None after recording each problem in the catalog's words."""
    before = len(problems)
    for key, value in values.items():
        _plain_value_ok((*path, str(key)), key, value, model, problems)
    if len(problems) != before:
        return None
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        errors = list(exc.errors())
        for error in errors:
            if error["type"] == "missing":
                fix = f"a {values.get('type')} channel needs it"
                problems.add(path + tuple(error["loc"]), "missing", fix)
        policy_problems(problems, path, model, [e for e in errors if e["type"] != "missing"])
        return None


def _plain_value_ok(
    path: KeyPath, key: Any, value: Any, model: type[BaseModel], problems: Problems
) -> None:
    """Refuse what pydantic would quietly accept: non-text keys, true as 1.0, inf, nan."""
    field = model.model_fields.get(key) if isinstance(key, str) else None
    if not isinstance(key, str):
        problems.add(path, "keys must be text", unknown_key_fix(str(key), model.model_fields))
    elif isinstance(value, bool) and field is not None and field.annotation is not bool:
        problems.add(path, f"must be a number or text, not {show(value)}")
    elif isinstance(value, float) and not math.isfinite(value):
        problems.add(path, f"must be a finite number, not {show(value)}")


def notify_warnings(
    config: NotifyConfig, source: str, env: Mapping[str, str] | None = None
) -> list[str]:
    """Channels whose secret variable is not set: legal, but they will fail to deliver."""
    values = os.environ if env is None else env
    return [
        f"{source}: notify.channels.{name}: {var} is not set in the environment; "
        "deliveries to this channel will fail until it is"
        for name, var in config.secret_envs().items()
        if not values.get(var)
    ]
