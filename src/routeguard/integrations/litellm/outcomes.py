"""What one LiteLLM call came to, judged by routeguard's vendor-aware codecs.

LiteLLM hands its callbacks a success (with the stream's first-chunk time) or an
exception. Its exceptions wrap the provider's answer under mapped statuses (an
Anthropic 529 arrives as a 500 `InternalServerError`, a refused connection as a
500 "Connection error."), so the chain under the exception is read instead: a
transport error there is judged as such, otherwise the provider's own status,
headers and body go through the route's codec, exactly as a probe's answer would.

Nothing here imports LiteLLM: its objects are read by attribute.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from routeguard.client.chat import ChatRoute, classify_failure
from routeguard.outcomes import Outcome
from routeguard.providers import Classified, classify_exception
from routeguard.providers.classify import without_secrets

CHAIN_DEPTH = 12
MID_STREAM = "MidStreamFallbackError"
"""LiteLLM's wrapper for a stream that failed after its first chunk."""
_BY_EXCEPTION_NAME = {
    "Timeout": Outcome.TIMEOUT,
    "APIConnectionError": Outcome.CONNECT_ERROR,
    "RateLimitError": Outcome.RATE_LIMITED,
    "AuthenticationError": Outcome.AUTH_ERROR,
    "PermissionDeniedError": Outcome.AUTH_ERROR,
    "BudgetExceededError": Outcome.QUOTA_EXHAUSTED,
    "BadRequestError": Outcome.CLIENT_ERROR,
    "NotFoundError": Outcome.CLIENT_ERROR,
    "ContextWindowExceededError": Outcome.CLIENT_ERROR,
    "ContentPolicyViolationError": Outcome.CLIENT_ERROR,
    "UnprocessableEntityError": Outcome.CLIENT_ERROR,
    "ServiceUnavailableError": Outcome.SERVER_ERROR,
    "InternalServerError": Outcome.SERVER_ERROR,
    "APIError": Outcome.SERVER_ERROR,
}
"""Last resort, when the chain holds neither a transport error nor the provider's answer."""


@dataclass(frozen=True)
class CallFigures:
    """Timings of one call, from the datetimes LiteLLM passes its callbacks."""

    latency_s: float | None
    ttft_s: float | None

    @classmethod
    def of(cls, kwargs: Mapping[str, Any], start: Any, end: Any) -> CallFigures:
        latency = _seconds(start, end)
        first = kwargs.get("completion_start_time")
        ttft = _seconds(start, first) if kwargs.get("stream") else None
        return cls(latency, ttft)


def _seconds(start: Any, end: Any) -> float | None:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return max(0.0, (end - start).total_seconds())
    if isinstance(start, int | float) and isinstance(end, int | float):
        return max(0.0, float(end) - float(start))
    return None


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, then what it was raised from or during, innermost last."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < CHAIN_DEPTH:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify_litellm_failure(
    exc: BaseException,
    chat_route: ChatRoute,
    *,
    stream_started: bool = False,
    api_key: str | None = None,
) -> Classified:
    """The outcome class of a failed LiteLLM call to `chat_route`'s provider.

    `stream_started`: a streamed answer had sent its first chunk (LiteLLM's
    `completion_start_time`), so a cut is a broken answer, not a failed connection.
    """
    chain = list(exception_chain(exc))
    secrets = (api_key,) if api_key else ()
    transport = next((e for e in chain if isinstance(e, httpx.TransportError)), None)
    if transport is not None:
        started = stream_started or any(type(e).__name__ == MID_STREAM for e in chain)
        return without_secrets(_transport(transport, after_headers=started), secrets)
    answer = _provider_answer(chain)
    if answer is not None:
        return without_secrets(chat_route.classify(*answer), secrets)
    return without_secrets(_by_name(chain), secrets)


def _transport(exc: httpx.TransportError, *, after_headers: bool) -> Classified:
    if after_headers:
        return classify_exception(exc, after_headers=True)
    return classify_failure(exc)


def _provider_answer(chain: list[BaseException]) -> tuple[int, Mapping[str, str], bytes] | None:
    """The provider's status, headers and body, as deep in the chain as they are told."""
    for exc in chain:
        if isinstance(exc, httpx.HTTPStatusError):
            return _from_response(exc.response, chain)
    told = [e for e in chain if isinstance(getattr(e, "status_code", None), int)]
    if not told:
        return None
    inner = told[-1]
    return int(getattr(inner, "status_code", 0)), _headers(chain), _body(inner)


def _from_response(
    response: httpx.Response, chain: list[BaseException]
) -> tuple[int, Mapping[str, str], bytes]:
    try:
        body = response.content
    except httpx.ResponseNotRead:  # a streamed answer: the exception's text carries the body
        told = [e for e in chain if isinstance(getattr(e, "status_code", None), int)]
        body = _body(told[-1]) if told else b""
    headers = dict(response.headers) or dict(_headers(chain))
    return response.status_code, headers, body


def _headers(chain: list[BaseException]) -> Mapping[str, str]:
    for exc in chain:
        for name in ("headers", "litellm_response_headers"):
            found = getattr(exc, name, None)
            if isinstance(found, httpx.Headers | Mapping) and found:
                return {str(k).lower(): str(v) for k, v in found.items()}
    return {}


def _body(exc: BaseException) -> bytes:
    """The provider's body as LiteLLM kept it: its `message`, sometimes a bytes repr."""
    message = getattr(exc, "message", None)
    text = message if isinstance(message, str) else str(exc)
    if text[:2] in ("b'", 'b"'):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text.encode()
        if isinstance(value, bytes):
            return value
    return text.encode()


def _by_name(chain: list[BaseException]) -> Classified:
    for exc in chain:
        outcome = _BY_EXCEPTION_NAME.get(type(exc).__name__)
        if outcome is not None:
            name = type(exc).__name__
            return Classified(outcome, error_type=name, detail=f"{name} from LiteLLM")
    return classify_failure(chain[0])
