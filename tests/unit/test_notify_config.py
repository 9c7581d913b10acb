"""The `notify:` block of the catalog: defaults, each channel type, secrets kept out."""

from __future__ import annotations

import pytest

from routeguard.config import parse_catalog
from routeguard.config.loader import catalog_warnings
from routeguard.config.notify import (
    PAGERDUTY_EVENTS_URL,
    AlertmanagerChannel,
    NotifyConfig,
    PagerDutyChannel,
    Severity,
    SlackChannel,
    WebhookChannel,
)
from routeguard.errors import ConfigError

BASE = "providers:\n  openai: {}\nmodels:\n  gpt: [openai/gpt-4o-mini]\n"
FULL = (
    BASE
    + """
notify:
  page_after_s: 30
  remind_every_s: 1800
  resolve_after_s: 5
  group_window_s: 2
  status_url: https://status.example.com/routeguard
  delivery: {max_attempts: 3, backoff_s: 0.5, backoff_max_s: 10, timeout_s: 4, claim_idle_s: 20}
  channels:
    hook: {type: webhook, url: "https://hooks.example.com/rg", secret_env: HOOK_SECRET}
    team: {type: slack, url_env: SLACK_WEBHOOK_URL, severities: [critical]}
    oncall: {type: pagerduty, routing_key_env: PD_ROUTING_KEY}
    am: {type: alertmanager, url: "http://127.0.0.1:9093", bearer_token_env: AM_TOKEN}
"""
)


def test_no_notify_block_means_the_defaults_and_no_channel() -> None:
    notify = parse_catalog(BASE, "c.yaml").notify
    assert notify == NotifyConfig()
    assert notify.channels == {}
    assert (notify.page_after_s, notify.remind_every_s, notify.resolve_after_s) == (60, 3600, 0)
    assert notify.group_window_s == 10 and notify.status_url is None
    assert notify.delivery.max_attempts == 5 and notify.delivery.claim_idle_s == 60


def test_every_key_and_channel_type_is_read() -> None:
    notify = parse_catalog(FULL, "c.yaml").notify
    assert (notify.page_after_s, notify.remind_every_s, notify.resolve_after_s) == (30, 1800, 5)
    assert notify.group_window_s == 2
    assert notify.delivery.max_attempts == 3 and notify.delivery.claim_idle_s == 20
    hook, team, oncall, am = (notify.channels[n] for n in ("hook", "team", "oncall", "am"))
    assert isinstance(hook, WebhookChannel) and hook.secret_env == "HOOK_SECRET"
    assert isinstance(team, SlackChannel) and team.severities == (Severity.CRITICAL,)
    assert isinstance(oncall, PagerDutyChannel) and oncall.url == PAGERDUTY_EVENTS_URL
    assert oncall.severities == (Severity.CRITICAL, Severity.WARNING)
    assert isinstance(am, AlertmanagerChannel) and am.bearer_token_env == "AM_TOKEN"
    assert notify.secret_envs() == {
        "hook": "HOOK_SECRET",
        "team": "SLACK_WEBHOOK_URL",
        "oncall": "PD_ROUTING_KEY",
        "am": "AM_TOKEN",
    }


def test_a_channel_whose_secret_variable_is_unset_is_a_warning_not_an_error() -> None:
    catalog = parse_catalog(FULL, "c.yaml")
    env = {"OPENAI_API_KEY": "x", "HOOK_SECRET": "whsec_x", "PD_ROUTING_KEY": "k"}
    warnings = catalog_warnings(catalog, env)
    assert any("notify.channels.team: SLACK_WEBHOOK_URL is not set" in w for w in warnings)
    assert any("notify.channels.am: AM_TOKEN is not set" in w for w in warnings)
    assert not any("HOOK_SECRET" in w or "PD_ROUTING_KEY" in w for w in warnings)


@pytest.mark.parametrize(
    "channel",
    [
        '{type: webhook, url: "https://u:hunter2@hooks.example.com/x", secret_env: S}',
        "{type: pagerduty, routing_key_env: R0123456789abcdef0123456789abcdef}",
        '{type: alertmanager, url: "http://127.0.0.1:9093", bearer_token_env: "hunter2 token"}',
    ],
)
def test_a_secret_written_in_place_is_refused_without_echoing_it(channel: str) -> None:
    text = BASE + f"notify:\n  channels:\n    x: {channel}\n"
    with pytest.raises(ConfigError) as caught:
        parse_catalog(text, "c.yaml")
    message = "\n".join(caught.value.messages)
    assert "notify.channels.x." in message
    for secret in ("hunter2", "R0123456789abcdef0123456789abcdef"):
        assert secret not in message


def test_several_problems_in_the_block_are_all_reported_with_their_key_paths() -> None:
    text = (
        BASE
        + "notify:\n  page_after_s: -1\n  channels:\n    a: {type: slack}\n    b: {type: nope}\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_catalog(text, "c.yaml")
    joined = "\n".join(caught.value.messages)
    assert "notify.page_after_s" in joined
    assert "notify.channels.a.url_env: missing" in joined
    assert "notify.channels.b.type: unknown channel type" in joined
