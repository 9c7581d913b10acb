"""The vocabulary every part of the simulator shares: what was asked, what is sent back.

A request is matched to a `Route` (which endpoint, which model), parsed into a
`Call`, decided on (faults.py, decide.py) and answered with a `Reply` (one body) or
a `StreamPlan` (frames sent one by one). Each wire flavour implements `Wire` with
pure functions only; the sockets live in server.py and handler.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class Kind(StrEnum):
    """Which kind of endpoint a request hit (a label of the request counts)."""

    MODELS = "models"  # list models (the liveness probe's endpoint)
    COMPLETION = "completion"  # one non-streamed generation
    STREAM = "stream"  # one streamed generation
    OTHER = "other"  # a path or method the provider does not serve


class Served(StrEnum):
    """What the simulator chose to answer (a label of the request counts)."""

    OK = "ok"  # a valid, complete answer
    QUEUED = "queued"  # complete, after keep-alive lines (queue_keepalive_s)
    STALLED = "stalled"  # complete, after going silent mid-stream (stall_mid_stream_s)
    AUTH_ERROR = "auth_error"  # missing or wrong key
    KEY_REVOKED = "key_revoked"  # the right key, rejected by the key_revoked fault
    BAD_REQUEST = "bad_request"  # the request itself was wrong (400)
    NOT_FOUND = "not_found"  # unknown model or path (404)
    HTML_502 = "html_502"  # an HTML error page, as from a proxy
    QUOTA_EXHAUSTED = "quota_exhausted"  # 402 / 429 quota or billing error
    RATE_LIMITED = "rate_limited"  # 429 with the vendor's retry hints
    MODEL_DOWN = "model_down"  # this model fails while the others work
    SERVER_ERROR = "server_error"  # 5xx / 529 / 498 in the vendor's error shape
    MALFORMED_JSON = "malformed_json"  # 2xx with broken JSON
    HUGE_BODY = "huge_body"  # 2xx body of huge_body_mb
    CUT_STREAM = "cut_stream"  # connection closed mid-body, no terminator
    ERROR_EVENT = "error_event"  # 200, then the vendor's in-stream error event
    NEVER_ENDING = "never_ending"  # keep-alives until the client leaves


class Finish(StrEnum):
    """Why an answer ended, before each vendor spells it."""

    STOP = "stop"  # the answer was complete
    LENGTH = "length"  # the output budget ran out


@dataclass(frozen=True)
class Route:
    """Where a request landed: endpoint kind and the model named in the URL, if any."""

    kind: Kind
    model: str = ""
    sse: bool = True  # Gemini: streamGenerateContent with alt=sse (else a JSON array)


@dataclass(frozen=True)
class Call:
    """One generation request, as parsed from its body."""

    kind: Kind
    model: str
    call_id: str  # the response id's random part
    created: int  # Unix seconds
    max_tokens: int | None = None  # the output budget the caller set
    prompt_tokens: int = 1
    include_usage: bool = False  # OpenAI stream_options.include_usage
    thinking_budget: int | None = None  # Gemini thinkingConfig.thinkingBudget
    sse: bool = True  # Gemini streamGenerateContent framing
    huge_bytes: int = 0  # pad the answer to this many bytes (set by huge_body_mb, not parsed)

    @property
    def stream(self) -> bool:
        return self.kind is Kind.STREAM


@dataclass(frozen=True)
class CallContext:
    """What parsing a request needs besides its body."""

    vendor: str
    call_id: str
    now: float
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """The text a call gets and what it cost."""

    pieces: tuple[str, ...]  # one streamed delta each
    finish: Finish
    output_tokens: int
    reasoning_tokens: int = 0

    @property
    def text(self) -> str:
        return "".join(self.pieces)


@dataclass(frozen=True)
class Reply:
    """One complete HTTP answer."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass(frozen=True)
class StreamPlan:
    """A streamed answer: frames before the first token, one per token, and after."""

    head: tuple[bytes, ...]
    tokens: tuple[bytes, ...]
    tail: tuple[bytes, ...]  # ends with the flavour's terminator, if it has one
    content_type: str = "text/event-stream"


@dataclass(frozen=True)
class Limits:
    """The rate-limit figures a response advertises (remaining in the current window)."""

    requests_limit: int
    requests_remaining: int
    tokens_limit: int
    tokens_remaining: int
    reset_s: float  # seconds until the window resets
    now: float  # Unix time the figures were taken at


class Wire(Protocol):
    """One wire flavour: request parsing and every body, frame and header it sends."""

    flavour: str
    prefix: str  # path prefix of base_url: "/v1" or "/v1beta"

    def route(
        self, method: str, path: str, query: Mapping[str, str], vendor: str
    ) -> Route | None: ...

    def authorised(
        self,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        api_key: str,
        route: Route,
        vendor: str,
    ) -> bool:
        """True when the request carries the key where the vendor wants it (or needs none)."""
        ...

    def parse(self, route: Route, body: object, ctx: CallContext) -> Call | Reply:
        """The call, or the 400 reply a bad request gets (the caller checks the model exists)."""
        ...

    def models_reply(self, models: tuple[str, ...], query: Mapping[str, str], vendor: str) -> Reply:
        """The model list (a 400 for a bad page query)."""
        ...

    def headers(self, vendor: str, request_id: str, limits: Limits) -> dict[str, str]:
        """Headers every answer carries: request id and rate-limit figures, vendor-style."""
        ...

    def auth_error(self, vendor: str) -> Reply: ...

    def not_found(self, vendor: str, model: str) -> Reply: ...

    def bad_json(self, vendor: str) -> Reply: ...

    def quota_error(self, vendor: str, status: int | None) -> Reply: ...

    def rate_limited(self, vendor: str, retry_after_s: float, now: float) -> Reply: ...

    def server_error(self, vendor: str, status: int) -> Reply: ...

    def completion(self, call: Call, vendor: str) -> bytes: ...

    def inband_error(self, call: Call, vendor: str, status: int) -> bytes | None:
        """A 2xx non-stream body carrying an error, where the vendor sends one (else None)."""
        ...

    def stream(self, call: Call, vendor: str) -> StreamPlan:
        """A healthy streamed answer, frame by frame, ending with the terminator."""
        ...

    def error_frame(self, call: Call, vendor: str, status: int) -> bytes:
        """The vendor's in-stream error event for `status`."""
        ...

    def keepalive(self, vendor: str) -> bytes:
        """A frame that keeps a stream alive without being a token."""
        ...
