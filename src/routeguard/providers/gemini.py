"""The Google Gemini (Generative Language API) wire flavour.

Quirks handled here (docs/providers.md, Gemini):

- liveness lists one model (`?pageSize=1`); the key goes in `x-goog-api-key`,
  filled in by the caller (never `?key=`, which would put it in URLs and logs);
- on 2.5 models `maxOutputTokens` counts thinking: 2.5 Flash/Flash-Lite get
  `thinkingBudget: 0`; 2.5 Pro cannot stop thinking, so it gets the minimum budget
  (128) and an output budget with room for an answer after it. Any other thinking
  model may still answer with empty text and `finishReason: "MAX_TOKENS"`: that is
  a well-formed, healthy answer;
- streams (`alt=sse`) have no sentinel: a stream is complete when the connection
  closes cleanly after a candidate carrying `finishReason`;
- errors can be wrapped in an array (`[{"error": {...}}]`) or sent inside the
  stream; 400 `API_KEY_INVALID`, per-day 429 quotas and `RetryInfo` live in
  classify.py / retry_after.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

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

PRO_THINKING_BUDGET = 128
"""The smallest thinking budget Gemini 2.5 Pro accepts (it cannot disable thinking)."""
_NOT_THINKING_VARIANTS = ("image", "tts", "audio", "live")


def thinking_floor(model: str) -> int | None:
    """The smallest `thinkingBudget` `model` accepts; None when it takes no thinking config.

    2.5 Flash/Flash-Lite can stop thinking (0); 2.5 Pro cannot (128). Other models
    and the image/tts/audio/live variants get no `thinkingConfig` at all.
    """
    name = _model_name(model).lower()
    if any(tag in name for tag in _NOT_THINKING_VARIANTS):
        return None
    if name.startswith("gemini-2.5-pro"):
        return PRO_THINKING_BUDGET
    if name.startswith("gemini-2.5-flash"):  # also -lite and dated previews
        return 0
    return None


def answer_room_config(model: str, answer_tokens: int) -> dict[str, Any]:
    """`maxOutputTokens` (and `thinkingConfig`) leaving `answer_tokens` for text after thinking.

    On 2.5 models thinking counts against `maxOutputTokens`: the model thinks as
    little as it accepts, and that budget is added on top of the answer's.
    """
    floor = thinking_floor(model)
    if floor is None:
        return {"maxOutputTokens": answer_tokens}
    return {
        "maxOutputTokens": floor + answer_tokens,
        "thinkingConfig": {"thinkingBudget": floor},
    }


def generation_config(model: str, *, stream: bool) -> dict[str, Any]:
    """`generationConfig` for a probe of `model` (thinking set as low as it goes)."""
    answer = STREAM_MAX_TOKENS if stream else COMPLETION_MAX_TOKENS
    if thinking_floor(model):
        # Pro thinks anyway: once it has paid for that, room for a few tokens costs little.
        answer = STREAM_MAX_TOKENS
    return answer_room_config(model, answer)


def parse_usage(doc: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """(prompt, output) tokens from `usageMetadata`; output includes thinking, as billed."""
    meta = doc.get("usageMetadata")
    if not isinstance(meta, dict):
        return None, None
    parts = [as_int(meta.get("candidatesTokenCount")), as_int(meta.get("thoughtsTokenCount"))]
    known = [p for p in parts if p is not None]
    return as_int(meta.get("promptTokenCount")), (sum(known) if known else None)


def _model_name(model: str) -> str:
    return model.removeprefix("models/")


def model_path(model: str) -> str:
    """`models/{model}` (or `tunedModels/…` as given), URL-quoted: the path before `:method`."""
    name = _model_name(model)
    if not name.startswith("tunedModels/"):
        name = f"models/{name}"
    return quote(name, safe="/-._~")


def _body(model: str, *, stream: bool) -> dict[str, Any]:
    return {
        "contents": [{"role": "user", "parts": [{"text": PING_TEXT}]}],
        "generationConfig": generation_config(model, stream=stream),
    }


class GeminiCodec:
    """generateContent / streamGenerateContent over the v1beta REST surface."""

    flavour = Flavour.GEMINI

    def liveness_request(self, ep: Endpoint) -> ProbeRequest:
        return ProbeRequest("GET", ep.url("models?pageSize=1"), dict(ep.headers))

    def completion_request(self, ep: Endpoint, model: str) -> ProbeRequest:
        url = ep.url(f"{model_path(model)}:generateContent")
        return ProbeRequest("POST", url, dict(ep.headers), _body(model, stream=False))

    def stream_request(self, ep: Endpoint, model: str) -> ProbeRequest:
        url = ep.url(f"{model_path(model)}:streamGenerateContent?alt=sse")
        headers = merged_headers(ep.headers, {"accept": "text/event-stream"})
        return ProbeRequest("POST", url, headers, _body(model, stream=True), stream=True)

    def classify_response(
        self, ep: Endpoint, status: int, headers: Mapping[str, str], body: bytes, *, tier: ProbeTier
    ) -> Classified:
        vendor = ep.vendor
        if not 200 <= status < 300:
            return classify_error_response(status, headers, body, vendor)
        doc = success_body(status, body)
        if isinstance(doc, Classified):
            return doc
        if isinstance(doc, list) and len(doc) == 1:
            doc = doc[0]  # the array-wrapped form the non-SSE stream uses
        if has_inband_error(doc):
            return classify_inband_error(doc, headers, vendor, status=status)
        if not isinstance(doc, dict):
            return bad_response(status, "unexpected_shape", "answer is not a JSON object")
        if tier == ProbeTier.LIVENESS:
            if isinstance(doc.get("models"), list):
                return Classified(Outcome.OK, status)
            return bad_response(status, "unexpected_shape", "model list without models: [...]")
        return _generate_content(status, doc)

    def new_stream_interpreter(self, ep: Endpoint, *, started_s: float = 0.0) -> GeminiStream:
        return GeminiStream(vendor=ep.vendor, started_s=started_s)


def _candidates(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = doc.get("candidates")
    return [c for c in found if isinstance(c, dict)] if isinstance(found, list) else []


def _blocked(status: int, doc: Mapping[str, Any]) -> Classified | None:
    """The prompt itself was refused by policy: our request, not the provider's health."""
    feedback = doc.get("promptFeedback")
    if isinstance(feedback, dict) and feedback.get("blockReason"):
        reason = str(feedback["blockReason"])[:40]
        return Classified(
            Outcome.CLIENT_ERROR,
            status,
            error_type="prompt_blocked",
            detail=f"prompt blocked: {reason}",
        )
    return None


def _generate_content(status: int, doc: dict[str, Any]) -> Classified:
    candidates = _candidates(doc)
    if not candidates:
        blocked = _blocked(status, doc)
        return blocked or bad_response(status, "unexpected_shape", "answer without candidates")
    # Text may be empty (MAX_TOKENS spent on thinking): a well-formed candidate is health.
    if not any(isinstance(c.get("content"), dict) or c.get("finishReason") for c in candidates):
        return bad_response(status, "unexpected_shape", "candidate without content or finishReason")
    input_tokens, output_tokens = parse_usage(doc)
    return Classified(Outcome.OK, status, input_tokens=input_tokens, output_tokens=output_tokens)


def _has_text(candidate: Mapping[str, Any]) -> bool:
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list):
        return False
    return any(
        isinstance(p, dict)
        and isinstance(p.get("text"), str)
        and p["text"]
        and not p.get("thought")
        for p in parts
    )


class GeminiStream:
    """Reads `data: {GenerateContentResponse}` events until the connection closes."""

    def __init__(self, *, vendor: str = "", started_s: float = 0.0) -> None:
        self._vendor = vendor
        self._tally = StreamTally(started_s)
        self._finished = False  # a candidate carried finishReason

    @property
    def ttft_s(self) -> float | None:
        return self._tally.ttft_s

    @property
    def done(self) -> bool:
        # No sentinel: only an error ends the stream early; the close is the terminator.
        return self._tally.failure is not None

    def feed(self, event: SSEEvent, now_s: float) -> None:
        if event.is_comment or self._tally.failure is not None:
            return
        doc = parse_json(event.data)
        if isinstance(doc, list) and len(doc) == 1:
            doc = doc[0]
        if has_inband_error(doc):
            self._tally.fail(classify_inband_error(doc, {}, self._vendor))
            return
        if not isinstance(doc, dict):
            self._tally.fail(bad_response(200, "malformed_chunk", "unreadable stream chunk"))
            return
        candidates = _candidates(doc)
        if not candidates and (blocked := _blocked(200, doc)):
            self._tally.fail(blocked)
            return
        if any(_has_text(c) for c in candidates):
            self._tally.token(now_s)
        if any(c.get("finishReason") for c in candidates):
            self._finished = True
        self._tally.usage(*parse_usage(doc))

    def finish(self, now_s: float, *, connection_closed_cleanly: bool) -> StreamResult:
        self._tally.terminated = self._finished and connection_closed_cleanly
        if not self._finished:
            why = "stream ended before a finishReason"
        else:
            why = "connection cut after finishReason; the end of a Gemini stream is its close"
        return self._tally.result(now_s, complete=self._tally.terminated, why_incomplete=why)


GEMINI = GeminiCodec()
"""The stateless Gemini flavour."""
