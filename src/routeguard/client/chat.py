"""Calling a route in its own wire format, for workers and the proxy.

Callers speak OpenAI's chat.completions; each route speaks its flavour. A
`ChatRoute` builds the route's native request (`routeguard.translate`), judges
whatever came back, answer or exception, with the very codec the probes use
(`routeguard.providers`: outcome, Retry-After, TTFT of streams), and turns a good
answer back into OpenAI's shape. `send_chat()` does one whole call with it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from routeguard.client.failover import AttemptFailed
from routeguard.config import Catalog, Route
from routeguard.outcomes import Outcome
from routeguard.providers import (
    CODECS,
    Classified,
    Endpoint,
    HttpSender,
    ProbeRequest,
    SSEEvent,
    StreamInterpreter,
    WireCodec,
    classify_exception,
    read_stream,
)
from routeguard.providers.classify import without_secrets
from routeguard.providers.errorbody import parse_json
from routeguard.tiers import ProbeTier
from routeguard.translate import TRANSLATORS, ChatTranslator, ChunkTranslator

ERROR_BODY_BYTES = 256 * 1024
"""An error answer is read this far: enough for any vendor's error envelope."""


@dataclass(frozen=True)
class ChatRoute:
    """One route as a caller of OpenAI's chat.completions sees it."""

    route: Route
    endpoint: Endpoint
    codec: WireCodec
    translator: ChatTranslator

    @classmethod
    def of(cls, catalog: Catalog, route_id: str, env: Mapping[str, str] | None = None) -> ChatRoute:
        """The route's endpoint (API key read from `env` now), codec and translator."""
        route = catalog.route(route_id)
        provider = catalog.providers[route.provider]
        return cls(
            route, provider.endpoint(env), CODECS[provider.flavour], TRANSLATORS[provider.flavour]
        )

    def request(self, chat: Mapping[str, Any]) -> ProbeRequest:
        """The native request for an OpenAI chat body (its `stream` flag included)."""
        return self.translator.request(self.endpoint, self.route.model, chat)

    def classify(self, status: int, headers: Mapping[str, str], body: bytes) -> Classified:
        """A whole answer of any status, judged as a completion probe's would be."""
        return self.masked(
            self.codec.classify_response(
                self.endpoint, status, headers, body, tier=ProbeTier.COMPLETION
            )
        )

    def masked(self, classified: Classified) -> Classified:
        """`classified` with the API key this route sends masked in its text, in any shape:
        a provider may echo it back, and the text goes to logs, metrics and callers."""
        return without_secrets(classified, self.endpoint.secrets)

    def failure(self, exc: BaseException) -> Classified:
        """An exception of a call to this route as its outcome class, key masked."""
        return self.masked(classify_failure(exc))

    def interpreter(self, started_s: float) -> StreamInterpreter:
        """Judges one streamed 2xx answer event by event: outcome, TTFT, terminator."""
        return self.codec.new_stream_interpreter(self.endpoint, started_s=started_s)

    def completion(self, body: bytes, *, model: str, completion_id: str) -> dict[str, Any]:
        """A good native answer (as `classify` judged it ok) as an OpenAI chat.completion."""
        return self.translator.answer(
            parse_json(body), model=model, completion_id=completion_id, created=int(time.time())
        )

    def chunks(self, *, model: str, completion_id: str, include_usage: bool) -> ChunkTranslator:
        """Turns a good stream's native events into OpenAI chat.completion.chunk objects."""
        return self.translator.stream(
            model=model,
            completion_id=completion_id,
            created=int(time.time()),
            include_usage=include_usage,
        )


def classify_failure(exc: BaseException) -> Classified:
    """An exception of a call (refused, reset, timed out…) as an outcome class."""
    if isinstance(exc, TimeoutError):
        return Classified(Outcome.TIMEOUT, error_type="timeout", detail="no answer in time")
    return classify_exception(exc)


async def read_body(response: httpx.Response) -> bytes:
    """A whole answer; an error answer only as far as `ERROR_BODY_BYTES`."""
    if response.is_success:
        return await response.aread()
    body = bytearray()
    async for piece in response.aiter_bytes():
        body.extend(piece)
        if len(body) >= ERROR_BODY_BYTES:
            break
    return bytes(body)


def completion_id() -> str:
    """An id in OpenAI's form for an answer routeguard builds."""
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


@dataclass(frozen=True)
class ChatAnswer:
    """What one call to one route came to."""

    route: str
    classified: Classified
    latency_s: float
    ttft_s: float | None = None
    completion: dict[str, Any] | None = None
    """The OpenAI chat.completion (non-streamed calls that went well)."""
    chunks: list[dict[str, Any]] = field(default_factory=list)
    """The OpenAI chat.completion.chunk objects (streamed calls), as far as they came."""

    @property
    def outcome(self) -> Outcome:
        return self.classified.outcome

    def raise_for_outcome(self) -> None:
        """`AttemptFailed` (outcome, detail, Retry-After) unless the call went well."""
        if self.classified.ok:
            return
        c = self.classified
        detail = c.detail or c.error_type or c.outcome.value
        raise AttemptFailed(c.outcome, detail, retry_after_s=c.retry_after_s)


async def send_chat(
    http: HttpSender,
    chat_route: ChatRoute,
    chat: Mapping[str, Any],
    *,
    model: str | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ChatAnswer:
    """One call of `chat` to the route, judged and translated; never raises for the
    provider's failures (they are in `classified`), only for cancellation.

    `model` is the name the answer carries (default: the caller's `chat["model"]`).
    The deadline is the client's (`httpx.Timeout`) or the caller's `asyncio.timeout`.
    """
    name = model or str(chat.get("model") or chat_route.route.id)
    started = clock()
    request = chat_route.request(chat)
    try:
        response = await http.send(request.build(http), stream=True)
    except (httpx.HTTPError, TimeoutError) as exc:
        return ChatAnswer(chat_route.route.id, chat_route.failure(exc), clock() - started)
    try:
        if request.stream and response.is_success:
            return await _read_stream(chat_route, response, name, started, clock)
        return await _read_whole(chat_route, response, name, started, clock)
    except (httpx.HTTPError, TimeoutError) as exc:
        return ChatAnswer(chat_route.route.id, chat_route.failure(exc), clock() - started)
    finally:
        await response.aclose()


async def _read_whole(
    chat_route: ChatRoute,
    response: httpx.Response,
    name: str,
    started: float,
    clock: Callable[[], float],
) -> ChatAnswer:
    body = await read_body(response)
    classified = chat_route.classify(response.status_code, response.headers, body)
    completion = None
    if classified.ok:
        completion = chat_route.completion(body, model=name, completion_id=completion_id())
    return ChatAnswer(chat_route.route.id, classified, clock() - started, completion=completion)


async def _read_stream(
    chat_route: ChatRoute,
    response: httpx.Response,
    name: str,
    started: float,
    clock: Callable[[], float],
) -> ChatAnswer:
    translator = chat_route.chunks(model=name, completion_id=completion_id(), include_usage=True)
    chunks: list[dict[str, Any]] = []

    async def translate(event: SSEEvent) -> None:
        chunks.extend(translator.feed(event))

    result = await read_stream(
        response, chat_route.interpreter(started), clock=clock, on_event=translate
    )
    if result.ok:
        chunks.extend(translator.finish())
    return ChatAnswer(
        chat_route.route.id,
        chat_route.masked(result.classified),
        clock() - started,
        result.ttft_s,
        chunks=chunks,
    )
