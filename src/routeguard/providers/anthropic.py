"""The Anthropic Messages wire flavour.

Quirks handled here (docs/providers.md, Anthropic):

- every request needs `anthropic-version` (added when the caller did not);
- `max_tokens: 1` is a complete answer (`stop_reason: "max_tokens"`);
- streams are named events ending in `message_stop`; `ping` may come anywhere and
  unknown event types are ignored; TTFT is the first `text_delta` (a
  `thinking_delta` is not output);
- `event: error` can arrive after a 200 (`overloaded_error` is a server_error,
  `rate_limit_error` rate_limited…), and then `message_stop` never comes;
- 529 `overloaded_error`, 429 spend caps and 400 "credit balance" live in classify.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from routeguard.outcomes import Outcome
from routeguard.providers.base import (
    COMPLETION_MAX_TOKENS,
    PING_TEXT,
    STREAM_MAX_TOKENS,
    Classified,
    Endpoint,
    Flavour,
    ProbeRequest,
    StreamResult,
    StreamTally,
    as_int,
    merged_headers,
)
from routeguard.providers.classify import (
    bad_response,
    classify_error_response,
    classify_inband_error,
    has_inband_error,
    success_body,
)
from routeguard.providers.errorbody import parse_json
from routeguard.providers.sse import SSEEvent
from routeguard.tiers import ProbeTier

ANTHROPIC_VERSION = "2023-06-01"


def parse_usage(usage: object) -> tuple[int | None, int | None]:
    """(input, output) tokens of an Anthropic `usage`; cache reads/writes count as input."""
    if not isinstance(usage, dict):
        return None, None
    parts = [
        as_int(usage.get(k))
        for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    ]
    known = [p for p in parts if p is not None]
    return (sum(known) if known else None), as_int(usage.get("output_tokens"))


def messages_body(model: str, *, stream: bool) -> dict[str, Any]:
    """The JSON body of a Messages probe."""
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": STREAM_MAX_TOKENS if stream else COMPLETION_MAX_TOKENS,
        "messages": [{"role": "user", "content": PING_TEXT}],
    }
    if stream:
        body["stream"] = True
    return body


class AnthropicCodec:
    """Messages over `/models` and `/messages`."""

    flavour = Flavour.ANTHROPIC

    def _headers(self, ep: Endpoint, **extra: str) -> dict[str, str]:
        return merged_headers(ep.headers, {"anthropic-version": ANTHROPIC_VERSION, **extra})

    def liveness_request(self, ep: Endpoint) -> ProbeRequest:
        return ProbeRequest("GET", ep.url("models?limit=1"), self._headers(ep))

    def completion_request(self, ep: Endpoint, model: str) -> ProbeRequest:
        body = messages_body(model, stream=False)
        return ProbeRequest("POST", ep.url("messages"), self._headers(ep), body)

    def stream_request(self, ep: Endpoint, model: str) -> ProbeRequest:
        headers = self._headers(ep, accept="text/event-stream")
        return ProbeRequest(
            "POST", ep.url("messages"), headers, messages_body(model, stream=True), stream=True
        )

    def classify_response(
        self, ep: Endpoint, status: int, headers: Mapping[str, str], body: bytes, *, tier: ProbeTier
    ) -> Classified:
        vendor = ep.vendor
        if not 200 <= status < 300:
            return classify_error_response(status, headers, body, vendor)
        doc = success_body(status, body)
        if isinstance(doc, Classified):
            return doc
        if has_inband_error(doc):
            return classify_inband_error(doc, headers, vendor, status=status)
        if not isinstance(doc, dict):
            return bad_response(status, "unexpected_shape", "answer is not a JSON object")
        if tier == ProbeTier.LIVENESS:
            if isinstance(doc.get("data"), list):
                return Classified(Outcome.OK, status)
            return bad_response(status, "unexpected_shape", "model list without data: [...]")
        if doc.get("type") != "message" or not isinstance(doc.get("content"), list):
            return bad_response(status, "unexpected_shape", "not a message with a content list")
        input_tokens, output_tokens = parse_usage(doc.get("usage"))
        return Classified(
            Outcome.OK, status, input_tokens=input_tokens, output_tokens=output_tokens
        )

    def new_stream_interpreter(self, ep: Endpoint, *, started_s: float = 0.0) -> AnthropicStream:
        return AnthropicStream(vendor=ep.vendor, started_s=started_s)


class AnthropicStream:
    """Reads named Messages events up to `message_stop`."""

    def __init__(self, *, vendor: str = "", started_s: float = 0.0) -> None:
        self._vendor = vendor
        self._tally = StreamTally(started_s)
        self._started = False

    @property
    def ttft_s(self) -> float | None:
        return self._tally.ttft_s

    @property
    def done(self) -> bool:
        return self._tally.done

    def feed(self, event: SSEEvent, now_s: float) -> None:
        if event.is_comment or self._tally.done:
            return
        doc = parse_json(event.data)
        if not isinstance(doc, dict):
            self._tally.fail(
                bad_response(200, "malformed_chunk", f"unreadable {event.event} event")
            )
            return
        name = event.event if event.event != "message" else str(doc.get("type", ""))
        if name == "error" or (name != "ping" and has_inband_error(doc)):
            self._tally.fail(classify_inband_error(doc, {}, self._vendor))
        elif name == "message_start":
            self._started = True
            message = doc.get("message")
            if isinstance(message, dict):
                self._tally.usage(*parse_usage(message.get("usage")))
        elif name == "content_block_delta":
            delta = doc.get("delta")
            if isinstance(delta, dict) and delta.get("type") == "text_delta" and delta.get("text"):
                self._tally.token(now_s)
        elif name == "message_delta":
            self._tally.usage(*parse_usage(doc.get("usage")))
        elif name == "message_stop":
            if not self._started:
                self._tally.fail(
                    bad_response(200, "unexpected_shape", "message_stop before message_start")
                )
            self._tally.terminated = True
        # ping, content_block_start/stop and unknown event types carry nothing we need.

    def finish(self, now_s: float, *, connection_closed_cleanly: bool) -> StreamResult:
        why = "stream ended without message_stop"
        if not connection_closed_cleanly:
            why += "; connection cut"
        return self._tally.result(now_s, complete=self._tally.terminated, why_incomplete=why)


ANTHROPIC = AnthropicCodec()
"""The stateless Anthropic Messages flavour."""
