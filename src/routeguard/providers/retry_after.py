"""When may we call again? Every vendor's way of saying it, reduced to seconds.

Sources, most authoritative first (the first one present wins):

1. `retry-after-ms` (milliseconds; what the Stainless SDKs read first),
2. `retry-after` (seconds, or an HTTP-date),
3. Gemini's `google.rpc.RetryInfo.retryDelay` (`"35s"`) in the error body's `details`,
4. rate-limit reset headers, only when asked for (`resets=True`):
   `x-ratelimit-reset-requests|tokens[…]` (OpenAI, Groq: Go durations such as `12ms`,
   `6m0s`, `1h2m3.5s`), `anthropic-ratelimit-*-reset` (RFC 3339 timestamps),
   `x-ratelimit-reset` (Together, OpenRouter: seconds, or a Unix time in s or ms).
   Of several families, the ones whose `remaining` is 0 are what blocked us, so the
   latest of those wins; when none says 0, the earliest reset wins.

A time in the past gives 0. Anything unreadable is skipped; nothing here raises.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_S = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_EPOCH_MS = 1e12  # a bare reset number this large is a Unix time in milliseconds
_EPOCH_S = 1e9  # … this large, a Unix time in seconds; below it, seconds from now
_MAX_HEADER = 100  # longer header values are not a time


def retry_after_seconds(
    headers: Mapping[str, str],
    body_json: object = None,
    *,
    now: datetime | None = None,
    resets: bool = True,
) -> float | None:
    """Seconds until the provider says a retry may succeed, or None when it says nothing."""
    now = _aware(now or datetime.now(UTC))
    lowered = {str(k).lower(): str(v).strip() for k, v in headers.items()}
    seconds = _scaled(parse_number(lowered.get("retry-after-ms", "")), 1e-3)
    if seconds is None:
        seconds = parse_retry_after(lowered.get("retry-after", ""), now)
    if seconds is None:
        seconds = _retry_info(body_json)
    if seconds is None and resets:
        seconds = _from_resets(lowered, now)
    return None if seconds is None else max(seconds, 0.0)


def parse_number(text: str) -> float | None:
    """A plain decimal number, or None (no exponents, NaN or infinities)."""
    text = text.strip()
    if len(text) > _MAX_HEADER or not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def parse_duration(text: str) -> float | None:
    """A Go-style duration (`12ms`, `6m0s`, `1h2m3.5s`, `-1s`) in seconds, or None."""
    text = text.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    if not text or len(text) > _MAX_HEADER:
        return None
    if text == "0":
        return 0.0
    total, pos = 0.0, 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNIT_S[match.group(2)]
        pos = match.end()
    return sign * total if pos == len(text) else None


def parse_retry_after(text: str, now: datetime) -> float | None:
    """`Retry-After`: delay seconds, or an HTTP-date (relative to `now`)."""
    seconds = parse_number(text)
    if seconds is not None or not text:
        return seconds
    if len(text) > _MAX_HEADER:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return (_aware(when) - _aware(now)).total_seconds()


def parse_timestamp(text: str, now: datetime) -> float | None:
    """An RFC 3339 timestamp (`2025-08-21T12:40:59Z`) as seconds from `now`."""
    if len(text) > _MAX_HEADER or "T" not in text.upper():
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return (_aware(when) - _aware(now)).total_seconds()


def parse_reset(text: str, now: datetime) -> float | None:
    """One rate-limit reset value in any vendor's format, as seconds from `now`."""
    number = parse_number(text)
    if number is not None:
        if number >= _EPOCH_MS:
            return number / 1000.0 - now.timestamp()
        if number >= _EPOCH_S:
            return number - now.timestamp()
        return number
    duration = parse_duration(text)
    return duration if duration is not None else parse_timestamp(text, now)


def _from_resets(headers: Mapping[str, str], now: datetime) -> float | None:
    blocked: list[float] = []
    others: list[float] = []
    for name, value in headers.items():
        if not name.startswith(("x-ratelimit-", "anthropic-ratelimit-")) or "reset" not in name:
            continue
        seconds = parse_reset(value, now)
        if seconds is None:
            continue
        remaining = parse_number(headers.get(name.replace("reset", "remaining", 1), ""))
        (blocked if remaining is not None and remaining <= 0 else others).append(seconds)
    if blocked:
        return max(blocked)
    return min(others) if others else None


def _retry_info(body_json: object) -> float | None:
    """`retryDelay` of a `google.rpc.RetryInfo` in `{"error": {"details": [...]}}`."""
    if isinstance(body_json, list) and body_json:  # Gemini's non-SSE stream wraps errors
        body_json = body_json[0]
    error = body_json.get("error") if isinstance(body_json, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    if not isinstance(details, list):
        return None
    for item in details:
        if not isinstance(item, dict) or not str(item.get("@type", "")).endswith("RetryInfo"):
            continue
        delay = item.get("retryDelay")
        if isinstance(delay, str):
            return parse_duration(delay)
        if isinstance(delay, dict):  # protobuf Duration as an object
            seconds, nanos = delay.get("seconds", 0), delay.get("nanos", 0)
            if isinstance(seconds, int | float | str) and isinstance(nanos, int | float):
                number = parse_number(str(seconds))
                return None if number is None else number + nanos / 1e9
    return None


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
