"""Slack incoming webhook: `{"text": ..., "blocks": [...]}`; Slack answers 200 `ok`.

The webhook URL holds its token, so it is read from the environment variable
named in `url_env` at each send and never logged. Slack allows about one
message per second per webhook, which is why incidents group routes and
coalesce updates instead of posting per transition. `build_body()` is pure.
"""

from __future__ import annotations

from typing import Any

from routeguard.config.notify import Severity, SlackChannel
from routeguard.notify.base import (
    Action,
    ConfiguredChannel,
    Notification,
    OutgoingRequest,
    RouteSnapshot,
    iso_ms,
    json_bytes,
    secret_from_env,
)

MAX_ROUTES_SHOWN = 10
_HEADER_MAX = 150  # Slack's limit for a header block
_HEADLINES = {
    Action.TRIGGER: "Triggered",
    Action.UPDATE: "Updated",
    Action.REMIND: "Reminder",
    Action.RESOLVE: "Resolved",
}


def escape(text: str) -> str:
    """Text safe inside Slack mrkdwn: &, < and > escaped as Slack asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _icon(note: Notification) -> str:
    if note.action is Action.RESOLVE:
        return ":large_green_circle:"
    return ":red_circle:" if note.severity is Severity.CRITICAL else ":large_yellow_circle:"


def _route_line(route: RouteSnapshot, resolved: bool) -> str:
    name = f"`{escape(route.route)}`"
    if resolved:
        return f"• {name} {escape(route.state)} since {iso_ms(route.since_ms)}"
    why = f"{route.reason}: {route.detail}" if route.detail else route.reason
    return f"• {name} {escape(route.state)} since {iso_ms(route.since_ms)}: {escape(why)}"


def _routes_text(note: Notification) -> str:
    resolved = note.action is Action.RESOLVE
    lines = [_route_line(r, resolved) for r in note.routes[:MAX_ROUTES_SHOWN]]
    more = len(note.routes) - MAX_ROUTES_SHOWN
    if more > 0:
        lines.append(f"… and {more} more")
    return "\n".join(lines)


def _context(note: Notification) -> str:
    parts = [
        f"severity *{note.severity.value}*",
        f"{note.kind.value}",
        f"dedup key `{escape(note.dedup_key)}`",
        f"started {iso_ms(note.started_ms)}",
    ]
    if note.status_url:
        parts.append(f"<{note.status_url}|routeguard status>")
    return " · ".join(parts)


def build_body(note: Notification) -> bytes:
    """The Slack message for `note` (pure)."""
    headline = _HEADLINES[note.action]
    header = f"{_icon(note)} {headline}: {note.subject}"
    if len(header) > _HEADER_MAX:
        header = header[: _HEADER_MAX - 1] + "…"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(note.summary)}},
    ]
    if note.routes:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _routes_text(note)}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _context(note)}]})
    message = {"text": f"{_icon(note)} {headline}: {escape(note.summary)}", "blocks": blocks}
    return json_bytes(message)


class SlackNotifier(ConfiguredChannel[SlackChannel]):
    """A `slack` channel: POST to the incoming-webhook URL read from `url_env`."""

    type = "slack"

    def __repr__(self) -> str:
        return f"SlackNotifier({self.name!r}, URL from {self._config.url_env})"

    def request(self, note: Notification, now_s: float) -> OutgoingRequest:
        url = secret_from_env(self._config.url_env, self._env, "the Slack incoming-webhook URL")
        headers = {"content-type": "application/json"}
        return OutgoingRequest(url, build_body(note), headers)

    def accepted(self, status: int) -> bool:
        return status == 200
