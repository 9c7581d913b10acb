"""Shared types of the wire flavours: what a probe sends, and what its answer means.

Each `Flavour` (one module per wire format: `openai`, `anthropic`, `gemini`) has
a `WireCodec` that builds `ProbeRequest`s for an `Endpoint` and turns whatever
comes back into a `Classified` outcome (docs/providers.md). Codecs are
stateless; the only state is the `StreamInterpreter` a codec hands out for one
streamed call. Nothing here does I/O: the probe runner sends the requests and
reads the bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from routeguard.outcomes import Outcome
from routeguard.tiers import ProbeTier

if TYPE_CHECKING:
    import httpx

    from routeguard.providers.sse import SSEEvent


class Flavour(StrEnum):
    """The wire formats routeguard speaks (`providers.<name>.flavour` in the catalog)."""

    OPENAI = "openai"  # /chat/completions, `data: [DONE]` streams; most vendors speak it
    ANTHROPIC = "anthropic"  # /messages, `event: message_stop` streams
    GEMINI = "gemini"  # :generateContent, streams end with the connection


class HttpSender(Protocol):
    """What a request is built and sent with: an `httpx.AsyncClient`, or a wrapper of one."""

    def build_request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any | None = None,
    ) -> httpx.Request: ...

    async def send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response: ...


@dataclass(frozen=True)
class Endpoint:
    """One provider account as a flavour sees it."""

    provider: str
    """The provider's configured name (`openai`, `local-vllm`)."""
    base_url: str
    """API root, e.g. `https://api.openai.com/v1`; paths are appended to it."""
    headers: Mapping[str, str] = field(default_factory=dict, repr=False, hash=False)
    """Auth and fixed headers, filled in by the caller; never shown in repr or details."""
    vendor: str = ""
    """Built-in catalog name (`openai`, `together`, `groq`…) for vendor quirks; '' if custom."""
    secrets: tuple[str, ...] = field(default=(), repr=False, hash=False, compare=False)
    """The literal credentials in `headers` (the API key): masked in whatever a probe reports."""

    def url(self, path: str) -> str:
        """`path` appended to `base_url` with exactly one slash between them."""
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"


@dataclass(frozen=True)
class ProbeRequest:
    """One HTTP request a probe sends; `build()` turns it into an `httpx.Request`."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False, hash=False)
    json: dict[str, Any] | None = field(default=None, hash=False)
    stream: bool = False
    """True when the runner must send it with `stream=True` and read it as SSE."""

    def build(self, client: HttpSender) -> httpx.Request:
        """The request for `client.send(request, stream=self.stream)`."""
        return client.build_request(
            self.method, self.url, headers=dict(self.headers), json=self.json
        )


@dataclass(frozen=True)
class Classified:
    """The outcome of one call, with what a breaker, a metric and a span need from it."""

    outcome: Outcome
    status: int | None = None
    """HTTP status received, None when no response arrived."""
    retry_after_s: float | None = None
    """Provider's hint for when to try again (rate limits), in seconds."""
    error_type: str = ""
    """Short low-cardinality code for OTel `error.type` (`http_529`, `insufficient_quota`)."""
    detail: str = ""
    """One human line; never contains keys or auth headers."""
    input_tokens: int | None = None
    output_tokens: int | None = None

    @property
    def ok(self) -> bool:
        """True for a valid, complete response."""
        return self.outcome is Outcome.OK


@dataclass(frozen=True)
class StreamResult:
    """The outcome of one streamed call."""

    classified: Classified
    ttft_s: float | None = None
    """Time to the first content token, from the interpreter's start; None if none came."""
    tokens_out: int = 0
    """Output tokens from the reported usage, else the number of content deltas seen."""
    terminated: bool = False
    """True when the flavour's terminator was seen ([DONE], message_stop, clean end)."""
    duration_s: float | None = None
    """From the interpreter's start to `finish()`."""
    generation_s: float | None = None
    """From the first to the last content token (tokens/s = tokens_out / generation_s)."""

    @property
    def outcome(self) -> Outcome:
        return self.classified.outcome

    @property
    def ok(self) -> bool:
        return self.classified.ok


class StreamInterpreter(Protocol):
    """Reads one stream's events in order, then says what the stream was."""

    @property
    def ttft_s(self) -> float | None:
        """Time of the first content token so far. Keep-alives never set it, so the
        runner must enforce its TTFT deadline itself: a queued stream (DeepSeek)
        keeps the read timeout from ever firing."""
        ...

    @property
    def done(self) -> bool:
        """True once the terminator or an error was seen: the runner may stop reading."""
        ...

    def feed(self, event: SSEEvent, now_s: float) -> None:
        """One parsed event (or comment), received at `now_s` on the runner's clock."""
        ...

    def finish(self, now_s: float, *, connection_closed_cleanly: bool) -> StreamResult:
        """The stream is over (closed, cut or abandoned by the runner)."""
        ...


class WireCodec(Protocol):
    """One flavour's wire format: how to probe it and how to read its answers.

    Vendor quirks come from `Endpoint.vendor`, so every method takes the endpoint.
    """

    @property
    def flavour(self) -> Flavour: ...

    def liveness_request(self, ep: Endpoint) -> ProbeRequest:
        """List models: no tokens spent."""
        ...

    def completion_request(self, ep: Endpoint, model: str) -> ProbeRequest:
        """One tiny real completion."""
        ...

    def stream_request(self, ep: Endpoint, model: str) -> ProbeRequest:
        """One tiny streamed completion."""
        ...

    def classify_response(
        self, ep: Endpoint, status: int, headers: Mapping[str, str], body: bytes, *, tier: ProbeTier
    ) -> Classified:
        """A complete (non-streamed) response of any status, or a streamed non-2xx one."""
        ...

    def new_stream_interpreter(self, ep: Endpoint, *, started_s: float = 0.0) -> StreamInterpreter:
        """A fresh interpreter for one streamed 2xx response; `started_s` is when the
        request was sent, on the clock later passed to `feed()`."""
        ...


class StreamTally:
    """Bookkeeping every stream interpreter shares: tokens, timings, the first failure."""

    def __init__(self, started_s: float) -> None:
        self.started_s = started_s
        self.first_token_s: float | None = None
        self.last_token_s: float | None = None
        self.content_deltas = 0
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.terminated = False
        self.failure: Classified | None = None

    @property
    def ttft_s(self) -> float | None:
        return None if self.first_token_s is None else self.first_token_s - self.started_s

    @property
    def done(self) -> bool:
        return self.terminated or self.failure is not None

    def token(self, now_s: float) -> None:
        """A content delta arrived (the first one is the TTFT)."""
        if self.first_token_s is None:
            self.first_token_s = now_s
        self.last_token_s = now_s
        self.content_deltas += 1

    def fail(self, classified: Classified) -> None:
        """Record a failure; the first one wins, later events cannot make the stream ok."""
        if self.failure is None:
            self.failure = classified

    def usage(self, input_tokens: int | None, output_tokens: int | None) -> None:
        """Reported usage; later reports (cumulative) replace earlier ones."""
        if input_tokens is not None:
            self.input_tokens = input_tokens
        if output_tokens is not None:
            self.output_tokens = output_tokens

    def result(self, now_s: float, *, complete: bool, why_incomplete: str) -> StreamResult:
        """The stream's result: the first failure, else ok when `complete`."""
        if self.failure is not None:
            classified = self.failure
        elif complete:
            classified = Classified(Outcome.OK, 200)
        else:
            classified = Classified(
                Outcome.BAD_RESPONSE, 200, error_type="stream_incomplete", detail=why_incomplete
            )
        classified = replace(
            classified, input_tokens=self.input_tokens, output_tokens=self.output_tokens
        )
        generation = None
        if self.first_token_s is not None and self.last_token_s is not None:
            generation = self.last_token_s - self.first_token_s
        tokens = self.output_tokens if self.output_tokens is not None else self.content_deltas
        return StreamResult(
            classified,
            ttft_s=self.ttft_s,
            tokens_out=tokens,
            terminated=self.terminated,
            duration_s=now_s - self.started_s,
            generation_s=generation,
        )


def as_int(value: object) -> int | None:
    """A non-negative JSON integer, else None (bools and floats are not token counts)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def merged_headers(base: Mapping[str, str], defaults: Mapping[str, str]) -> dict[str, str]:
    """`base` plus each of `defaults` whose name it lacks (names compare case-insensitively)."""
    merged = dict(base)
    present = {name.lower() for name in base}
    merged.update({k: v for k, v in defaults.items() if k.lower() not in present})
    return merged


PING_TEXT = "ping"
"""The prompt every completion probe sends: one short token in, as few as possible out."""
COMPLETION_MAX_TOKENS = 1
"""Output budget of a completion probe on a model that does not think first."""
STREAM_MAX_TOKENS = 16
"""Output budget of a stream probe: enough deltas to measure tokens/s, still cheap."""
