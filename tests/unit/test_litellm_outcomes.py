"""What LiteLLM hands its callbacks, read into routeguard's outcome classes (the shapes
seen from LiteLLM 1.108 against the simulator; tests/e2e/test_litellm_router.py runs
the real thing)."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from routeguard.client.chat import ChatRoute
from routeguard.config import parse_catalog
from routeguard.integrations.litellm.outcomes import (
    CallFigures,
    classify_litellm_failure,
    exception_chain,
)
from routeguard.outcomes import Outcome

CATALOG = parse_catalog(
    """
providers:
  an: {flavour: anthropic, base_url: "http://127.0.0.1:9/v1", api_key_env: K, vendor: anthropic}
models:
  m: [an/claude-haiku-4-5]
""",
    "catalog.yaml",
)
ROUTE = ChatRoute.of(CATALOG, "an/claude-haiku-4-5", env={})
OVERLOADED = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'


class ProviderError(Exception):
    """Like LiteLLM's AnthropicError: the provider's status, headers and body text."""

    def __init__(self, status_code: int, message: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.status_code, self.message, self.headers = status_code, message, headers


class InternalServerError(Exception):
    """Like litellm.InternalServerError: a mapped status over the real one."""

    status_code = 500


def raised(outer: BaseException, inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException:
            raise outer from None
    except BaseException as exc:
        exc.__context__ = inner
        return exc


def test_the_providers_own_status_wins_over_litellms_mapped_one() -> None:
    inner = ProviderError(529, OVERLOADED.decode(), {"request-id": "r1"})
    exc = raised(InternalServerError("litellm.InternalServerError: AnthropicError"), inner)
    judged = classify_litellm_failure(exc, ROUTE)
    assert (judged.outcome, judged.status) == (Outcome.SERVER_ERROR, 529)


def test_a_streamed_error_body_kept_as_a_bytes_repr_is_read_as_bytes() -> None:
    inner = ProviderError(
        429, repr(b'{"type":"error","error":{"type":"rate_limit_error"}}'), {"retry-after": "7"}
    )
    judged = classify_litellm_failure(raised(InternalServerError(), inner), ROUTE)
    assert (judged.outcome, judged.retry_after_s) == (Outcome.RATE_LIMITED, 7.0)


def test_a_transport_error_under_a_500_is_the_connection_that_failed() -> None:
    exc = raised(InternalServerError("Connection error."), httpx.ConnectError("refused"))
    assert classify_litellm_failure(exc, ROUTE).outcome is Outcome.CONNECT_ERROR
    cut = httpx.ReadError("peer closed")
    assert classify_litellm_failure(cut, ROUTE).outcome is Outcome.CONNECT_ERROR
    assert classify_litellm_failure(cut, ROUTE, stream_started=True).outcome is Outcome.BAD_RESPONSE
    timeout = raised(InternalServerError(), httpx.ReadTimeout("slow"))
    assert classify_litellm_failure(timeout, ROUTE).outcome is Outcome.TIMEOUT


def test_the_key_litellm_sent_is_masked_in_what_is_kept() -> None:
    inner = ProviderError(
        401,
        '{"type":"error","error":{"type":"authentication_error","message":"bad key my odd key"}}',
        {},
    )
    judged = classify_litellm_failure(
        raised(InternalServerError(), inner), ROUTE, api_key="my odd key"
    )
    assert judged.outcome is Outcome.AUTH_ERROR
    assert "my odd key" not in judged.detail


def test_without_an_answer_or_a_transport_error_the_exception_name_decides() -> None:
    class RateLimitError(Exception):
        pass

    assert classify_litellm_failure(RateLimitError("x"), ROUTE).outcome is Outcome.RATE_LIMITED


def test_a_cyclic_chain_ends() -> None:
    a, b = ValueError("a"), ValueError("b")
    a.__context__, b.__context__ = b, a
    assert list(exception_chain(a)) == [a, b]


def test_ttft_is_taken_from_the_first_chunk_of_a_stream_only() -> None:
    start = datetime(2026, 12, 4, 10, 0, 0)
    first, end = start + timedelta(seconds=0.25), start + timedelta(seconds=1.5)
    streamed = CallFigures.of({"stream": True, "completion_start_time": first}, start, end)
    assert (streamed.latency_s, streamed.ttft_s) == (1.5, 0.25)
    whole = CallFigures.of({"completion_start_time": end}, start, end)
    assert (whole.latency_s, whole.ttft_s) == (1.5, None)
