"""OpenAI chat.completions to Gemini generateContent, and its answers back.

Request (`POST {base}/models/{model}:generateContent`, or
`:streamGenerateContent?alt=sse` for a stream; the key is in the endpoint's headers):

- user/assistant messages become `contents` with roles `user`/`model`, consecutive
  same-role messages merged (one part per text); system/developer messages become
  `systemInstruction`, joined by a blank line; empty texts are dropped (Gemini
  refuses an empty text part);
- `generationConfig`: `maxOutputTokens`, `temperature` (Gemini's range is OpenAI's,
  0..2), `topP`, `stopSequences`. Thinking: see `generation_config`.

Answer: the candidate's text parts joined, without `thought` parts; `finishReason`
mapped to OpenAI's `finish_reason`; usage from `usageMetadata`, output counting
thinking tokens as Google bills them. Stream: each `data:` chunk's text becomes a
content chunk, a `finishReason` the finish chunk, and the last `usageMetadata` the
usage; error objects give nothing here (the codec classifies them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from routeguard.providers.base import Endpoint, Flavour, ProbeRequest, merged_headers
from routeguard.providers.classify import has_inband_error
from routeguard.providers.errorbody import parse_json
from routeguard.providers.gemini import answer_room_config, model_path, parse_usage
from routeguard.providers.sse import SSEEvent
from routeguard.translate.base import (
    ChunkWriter,
    completion_doc,
    conversation,
    number,
    output_budget,
    stop_sequences,
    usage_doc,
    wants_stream,
)

FINISH_REASONS = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
}
"""Gemini `finishReason` → OpenAI `finish_reason`; anything else is `stop`."""
ROLES = {"user": "user", "assistant": "model"}
"""OpenAI turn roles → Gemini content roles."""


def finish_reason(reason: object) -> str:
    """OpenAI's `finish_reason` for a Gemini `finishReason`."""
    return FINISH_REASONS.get(reason, "stop") if isinstance(reason, str) else "stop"


def generation_config(model: str, chat: Mapping[str, Any]) -> dict[str, Any]:
    """`generationConfig` for the caller's `chat` on `model` ({} when nothing is set).

    Without a caller budget thinking is left as the model defaults: there is no cap for
    it to eat into. With one, the budget is the answer's (OpenAI's `max_tokens` counts
    visible output), but on 2.5 models thinking counts against `maxOutputTokens`, and
    dynamic thinking can spend all of it, leaving an empty answer cut at MAX_TOKENS.
    So, as the probes do, the model thinks as little as it accepts (Flash: 0, Pro: 128)
    and that thinking budget is added on top, so an answer of the caller's size fits.
    """
    budget = output_budget(chat)
    config = answer_room_config(model, budget) if budget is not None else {}
    if (temperature := number(chat, "temperature")) is not None:
        config["temperature"] = temperature
    if (top_p := number(chat, "top_p")) is not None:
        config["topP"] = top_p
    if stops := stop_sequences(chat):
        config["stopSequences"] = stops
    return config


def generate_body(model: str, chat: Mapping[str, Any]) -> dict[str, Any]:
    """The generateContent body for the caller's `chat`, sent to upstream `model`."""
    talk = conversation(chat["messages"])
    body: dict[str, Any] = {
        "contents": [
            {"role": ROLES.get(role, "user"), "parts": [{"text": t} for t in texts]}
            for role, texts in talk.turns
        ]
    }
    if talk.system:
        body["systemInstruction"] = {"parts": [{"text": talk.system}]}
    if config := generation_config(model, chat):
        body["generationConfig"] = config
    return body


class GeminiTranslator:
    """Chat Completions to `{base}/models/{model}:generateContent`."""

    flavour = Flavour.GEMINI

    def request(self, ep: Endpoint, model: str, chat: Mapping[str, Any]) -> ProbeRequest:
        stream = wants_stream(chat)
        headers = dict(ep.headers)
        method = "generateContent"
        if stream:
            headers = merged_headers(ep.headers, {"accept": "text/event-stream"})
            method = "streamGenerateContent?alt=sse"
        url = ep.url(f"{model_path(model)}:{method}")
        return ProbeRequest("POST", url, headers, generate_body(model, chat), stream=stream)

    def answer(
        self, native: Any, *, model: str, completion_id: str, created: int
    ) -> dict[str, Any]:
        doc = _unwrapped(native)
        candidate = _candidate(doc)
        reason = finish_reason(candidate.get("finishReason"))
        if not candidate and _blocked(doc):
            reason = "content_filter"
        return completion_doc(
            completion_id=completion_id,
            created=created,
            model=model,
            content=_text(candidate),
            finish_reason=reason,
            usage=usage_doc(*parse_usage(doc)),
        )

    def stream(
        self, *, model: str, completion_id: str, created: int, include_usage: bool
    ) -> GeminiChunks:
        return GeminiChunks(
            ChunkWriter(
                model=model,
                completion_id=completion_id,
                created=created,
                include_usage=include_usage,
            )
        )


class GeminiChunks:
    """One `alt=sse` stream of GenerateContentResponse chunks as OpenAI chunks."""

    def __init__(self, out: ChunkWriter) -> None:
        self._out = out

    def feed(self, event: SSEEvent) -> list[dict[str, Any]]:
        if event.is_comment:
            return []
        doc = _unwrapped(parse_json(event.data))
        if not doc or has_inband_error(doc):
            return []  # unreadable chunks and errors are the codec's to classify
        if (usage := usage_doc(*parse_usage(doc))) is not None:
            self._out.usage = usage  # each chunk's usageMetadata is the total so far
        candidate = _candidate(doc)
        out = self._out.content(_text(candidate))
        if candidate.get("finishReason"):
            out.extend(self._out.finish_chunk(finish_reason(candidate["finishReason"])))
        return out

    def finish(self) -> list[dict[str, Any]]:
        return self._out.finish()


def _unwrapped(doc: object) -> dict[str, Any]:
    """The answer object; the array-wrapped form has one inside. {} when neither."""
    if isinstance(doc, list) and len(doc) == 1:
        doc = doc[0]
    return doc if isinstance(doc, dict) else {}


def _candidate(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The first candidate (the caller asked for one), {} when there is none."""
    found = doc.get("candidates")
    first = found[0] if isinstance(found, list) and found else None
    return first if isinstance(first, dict) else {}


def _text(candidate: Mapping[str, Any]) -> str:
    """The candidate's answer text: its text parts joined, thoughts left out."""
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    if not isinstance(parts, list):
        return ""
    return "".join(
        p["text"]
        for p in parts
        if isinstance(p, dict) and isinstance(p.get("text"), str) and not p.get("thought")
    )


def _blocked(doc: Mapping[str, Any]) -> bool:
    feedback = doc.get("promptFeedback")
    return isinstance(feedback, dict) and bool(feedback.get("blockReason"))


GEMINI = GeminiTranslator()
"""The stateless Gemini translator."""
