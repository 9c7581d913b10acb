"""HTTP statuses, error bodies and exceptions mapped to outcome classes (docs/providers.md, Outcome classes).

This is the one place foreign errors become `Outcome`s; the flavour modules only
decide what a *successful* body must look like and where in-band errors hide.

Non-2xx, first matching rule wins (vendor quirk in brackets):

    quota signal in the body                  quota_exhausted
      insufficient_quota (OpenAI 429), enforced_spend_limit_reached (Anthropic 429),
      billing_error, a per-day quotaId (Gemini 429), free-models-per-day (OpenRouter
      429), "credit balance is too low" (Anthropic 400)
    402 with limit_source in_flight_budget    rate_limited   [OpenRouter: clears by itself]
    402                                       quota_exhausted
    auth signal in the body                   auth_error     [Gemini 400 API_KEY_INVALID]
    400 FAILED_PRECONDITION                   auth_error     [Gemini: region/billing setup]
    401                                       auth_error
    403 moderation                            client_error   [OpenRouter: our prompt]
    403 from Together                         client_error   [Together: context length]
    403                                       auth_error
    408                                       timeout        [OpenRouter, Fireworks]
    429                                       rate_limited
    503 slow_down                             rate_limited   [OpenAI: request-rate ramp]
    498, 5xx, 529, HTML proxy pages           server_error   [Groq flex, Anthropic 529]
    other 4xx                                 client_error
    anything else (1xx, 3xx)                  bad_response

An error object inside a 2xx answer (`classify_inband_error`) goes through the same
rules using the status it names; what would be a client_error there becomes
bad_response, because the provider accepted the request and then failed it.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

import httpx

from routeguard.outcomes import Outcome
from routeguard.providers.base import Classified
from routeguard.providers.errorbody import (
    MAX_ERROR_BODY,
    MAX_JSON_BODY,
    ErrorInfo,
    body_snippet,
    error_code,
    error_info,
    parse_json,
    scrub,
)
from routeguard.providers.retry_after import retry_after_seconds
from routeguard.providers.sse import SSEProtocolError
from routeguard.redact import mask_secrets

Decision = tuple[Outcome, str]
"""An outcome and the `error_type` that decided it ('' means: the generic one)."""

QUOTA_CODES = frozenset(
    {"insufficient_quota", "enforced_spend_limit_reached", "billing_error", "insufficient_balance"}
)
QUOTA_LIMIT_SOURCES = frozenset({"openrouter_key_limit", "openrouter_credits"})
AUTH_CODES = frozenset(
    {"invalid_api_key", "api_key_invalid", "api_key_expired", "authentication_error"}
)
# Not "exceeded your current quota": Gemini says that on per-minute rate limits too.
_QUOTA_TEXT = re.compile(
    r"(?i)credit balance is too low|specified api usage limits"
    r"|insufficient (?:balance|credits)|spend(?:ing)? limit"
)
_AUTH_TEXT = re.compile(r"(?i)api key (?:not valid|expired)|invalid api key")
_SLOW_DOWN = re.compile(r"(?i)\bslow[ _]down\b")
_PER_DAY = re.compile(r"(?i)per-?day")

# Status an in-band error object stands for, when it carries a type instead of a number.
INBAND_STATUS = {
    "overloaded_error": 529,  # Anthropic
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "authentication_error": 401,
    "permission_error": 403,
    "billing_error": 402,
    "not_found_error": 404,
    "invalid_request_error": 400,
    "request_too_large": 413,
    "server_error": 500,  # OpenAI
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "provider_overloaded": 503,  # OpenRouter metadata.error_type
    "provider_unavailable": 502,
    "timeout": 504,
    "server": 500,
    "unavailable": 503,  # google.rpc status names
    "resource_exhausted": 429,
    "internal": 500,
    "deadline_exceeded": 504,
}


def classify_status(
    status: int,
    headers: Mapping[str, str],
    error_json: object,
    vendor: str = "",
    *,
    body: bytes = b"",
    now: datetime | None = None,
) -> Classified:
    """A non-2xx response: `error_json` is the parsed body (None when not JSON)."""
    info = error_info(error_json) or ErrorInfo()
    outcome, decided_by = decide(status, info, vendor)
    retry = retry_after_seconds(
        headers, error_json, now=now, resets=outcome is Outcome.RATE_LIMITED
    )
    error_type = decided_by or info.most_specific() or f"http_{status}"
    said = info.message or (body_snippet(body) if body else "")
    detail = scrub(f"HTTP {status} {error_type}" + (f": {said}" if said else ""))
    return Classified(outcome, status, retry, error_type, detail)


def classify_error_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    vendor: str = "",
    *,
    now: datetime | None = None,
) -> Classified:
    """A non-2xx response from its raw body (never raises on garbage or huge bodies)."""
    doc = parse_json(body, limit=MAX_ERROR_BODY)
    return classify_status(status, headers, doc, vendor, body=body, now=now)


def success_body(status: int, body: bytes) -> object:
    """The JSON document of a 2xx body, or the bad_response `Classified` it deserves."""
    if not body.strip():
        return bad_response(status, "empty_body", f"HTTP {status} with an empty body")
    doc = parse_json(body, limit=MAX_JSON_BODY)
    if doc is None:
        snippet = body_snippet(body) if len(body) <= MAX_JSON_BODY else "too large"
        return bad_response(status, "malformed_body", f"HTTP {status} body is not JSON: {snippet}")
    return doc


def has_inband_error(doc: object) -> bool:
    """True when a 2xx JSON object is really an error envelope."""
    return isinstance(doc, dict) and error_info(doc) is not None


def bad_response(status: int | None, error_type: str, detail: str) -> Classified:
    """A 2xx answer that is not a valid, complete response."""
    return Classified(Outcome.BAD_RESPONSE, status, error_type=error_type, detail=scrub(detail))


def classify_inband_error(
    error_json: object,
    headers: Mapping[str, str],
    vendor: str = "",
    *,
    status: int = 200,
    now: datetime | None = None,
) -> Classified:
    """An error object delivered inside a 2xx body or stream event."""
    info = error_info(error_json) or ErrorInfo()
    named = _inband_status(info)
    outcome, decided_by = decide(named, info, vendor) if named else (Outcome.BAD_RESPONSE, "")
    if outcome is Outcome.CLIENT_ERROR:
        outcome = Outcome.BAD_RESPONSE
    retry = retry_after_seconds(
        headers, error_json, now=now, resets=outcome is Outcome.RATE_LIMITED
    )
    error_type = decided_by or info.most_specific() or "inband_error"
    said = f": {info.message}" if info.message else ""
    detail = scrub(f"error after HTTP {status}: {error_type}{said}")
    return Classified(outcome, status, retry, error_type, detail)


def decide(status: int, info: ErrorInfo, vendor: str) -> Decision:
    """The outcome class of an error response; see the module docstring for the rules."""
    for rule in (_quota, _payment, _auth, _status_class):
        decision = rule(status, info, vendor)
        if decision is not None:
            return decision
    return Outcome.BAD_RESPONSE, ""


def _quota(status: int, info: ErrorInfo, vendor: str) -> Decision | None:
    tokens = info.tokens
    if not 400 <= status < 500 or "openrouter_in_flight_budget" in tokens:
        return None
    if found := sorted(tokens & QUOTA_CODES):
        return Outcome.QUOTA_EXHAUSTED, found[0]
    if tokens & QUOTA_LIMIT_SOURCES:
        return Outcome.QUOTA_EXHAUSTED, "insufficient_credits"
    if status == 429 and (
        any("perday" in t for t in tokens)
        or (vendor == "openrouter" and _PER_DAY.search(info.message))
    ):
        return Outcome.QUOTA_EXHAUSTED, "per_day_quota"
    if status in (400, 402, 403, 429) and _QUOTA_TEXT.search(info.message):
        return Outcome.QUOTA_EXHAUSTED, "spend_limit"
    return None


def _payment(status: int, info: ErrorInfo, vendor: str) -> Decision | None:
    if status != 402:
        return None
    if "openrouter_in_flight_budget" in info.tokens:
        return Outcome.RATE_LIMITED, "in_flight_budget"
    return Outcome.QUOTA_EXHAUSTED, ""


def _auth(status: int, info: ErrorInfo, vendor: str) -> Decision | None:
    tokens = info.tokens
    if 400 <= status < 500 and (found := sorted(tokens & AUTH_CODES)):
        return Outcome.AUTH_ERROR, found[0]
    if status in (400, 403) and _AUTH_TEXT.search(info.message):
        return Outcome.AUTH_ERROR, "invalid_api_key"
    if status == 400 and "failed_precondition" in tokens:
        return Outcome.AUTH_ERROR, "failed_precondition"
    if status == 401:
        return Outcome.AUTH_ERROR, ""
    if status == 403:
        if "moderation" in tokens:
            return Outcome.CLIENT_ERROR, "moderation"
        if vendor == "together":
            return Outcome.CLIENT_ERROR, ""
        return Outcome.AUTH_ERROR, ""
    return None


def _status_class(status: int, info: ErrorInfo, vendor: str) -> Decision | None:
    if status == 408:
        return Outcome.TIMEOUT, ""
    if status == 429:
        return Outcome.RATE_LIMITED, ""
    if status == 503 and ("slow_down" in info.tokens or _SLOW_DOWN.search(info.message)):
        return Outcome.RATE_LIMITED, "slow_down"
    if status == 498 or 500 <= status <= 599:
        return Outcome.SERVER_ERROR, ""
    if 400 <= status < 500:
        return Outcome.CLIENT_ERROR, ""
    return None


def _inband_status(info: ErrorInfo) -> int:
    if info.number is not None and 400 <= info.number <= 599:
        return info.number
    for word in (*info.reasons, info.code, info.type, info.status):
        status = INBAND_STATUS.get(word.lower())
        if status is not None:
            return status
    return 0


def classify_exception(exc: BaseException, *, after_headers: bool = False) -> Classified:
    """An exception raised while calling a provider.

    `after_headers` says the response status and headers had arrived (a stream being
    read): a cut there is a broken response, not a failed connection. Cancellation
    (and any other BaseException that is not an Exception) is re-raised: a caller
    that gave up is never the provider's fault. An exception this function cannot
    place is ours (a bug, a bad URL), so it is a client_error and opens no breaker.
    """
    if isinstance(exc, asyncio.CancelledError) or not isinstance(exc, Exception):
        raise exc
    name = type(exc).__name__
    outcome = _exception_outcome(exc, after_headers=after_headers)
    message = str(exc)
    detail = scrub(f"{name}: {message}" if message else name)
    return Classified(outcome, None, error_type=name, detail=detail)


def _exception_outcome(exc: Exception, *, after_headers: bool) -> Outcome:
    cut = Outcome.BAD_RESPONSE if after_headers else Outcome.CONNECT_ERROR
    # Waiting for a connection from our own pool is our saturation, not the provider's.
    if isinstance(exc, httpx.PoolTimeout):
        return Outcome.CLIENT_ERROR
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return Outcome.TIMEOUT
    if isinstance(exc, httpx.ConnectError | httpx.ProxyError | httpx.WriteError | ssl.SSLError):
        return Outcome.CONNECT_ERROR
    if isinstance(exc, httpx.RemoteProtocolError | httpx.NetworkError | OSError):
        return cut
    if isinstance(exc, httpx.DecodingError | httpx.TooManyRedirects | SSEProtocolError):
        return Outcome.BAD_RESPONSE
    return Outcome.CLIENT_ERROR


def without_secrets(c: Classified, secrets: tuple[str, ...]) -> Classified:
    """The one place a call's text leaves routeguard: the key it sent is masked, whatever
    its shape, for probes, workers and the proxy alike.

    `scrub()` already masks what looks like a key (`sk-…`, `AIza…`); a provider that
    echoes back an odd-looking key (`Incorrect API key provided: my-weird-key-123`)
    is caught only by knowing the value, which only the caller does.
    """
    if not secrets:
        return c
    # error_type is a body code folded by error_code(): a key sent back as `type` is folded too.
    forms = [*secrets, *(error_code(s) for s in secrets)]
    return replace(
        c, detail=mask_secrets(c.detail, forms), error_type=mask_secrets(c.error_type, forms)
    )
