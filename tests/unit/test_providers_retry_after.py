"""Every vendor's way of saying when to retry, in seconds."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from routeguard.providers.retry_after import parse_duration, retry_after_seconds

NOW = datetime(2025, 8, 21, 12, 40, 0, tzinfo=UTC)

GEMINI_429 = {
    "error": {
        "code": 429,
        "message": "You exceeded your current quota. Please retry in 35.2s.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "35s"},
        ],
    }
}


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        pytest.param({"retry-after": "20"}, None, 20.0, id="retry-after in seconds"),
        pytest.param(
            {"Retry-After": "1.5"},
            None,
            1.5,
            id="retry-after is case-insensitive and may be fractional",
        ),
        pytest.param(
            {"retry-after": "Thu, 21 Aug 2025 12:40:30 GMT"},
            None,
            30.0,
            id="retry-after as an HTTP-date",
        ),
        pytest.param(
            {"retry-after": "Thu, 21 Aug 2025 12:39:00 GMT"},
            None,
            0.0,
            id="an HTTP-date in the past clamps to 0",
        ),
        pytest.param({"retry-after": "-5"}, None, 0.0, id="a negative retry-after clamps to 0"),
        pytest.param(
            {"retry-after-ms": "1500", "retry-after": "9"},
            None,
            1.5,
            id="retry-after-ms wins over retry-after",
        ),
        pytest.param(
            {"x-ratelimit-reset-requests": "12ms"}, None, 0.012, id="OpenAI reset duration 12ms"
        ),
        pytest.param(
            {"x-ratelimit-reset-tokens": "6m0s"}, None, 360.0, id="OpenAI reset duration 6m0s"
        ),
        pytest.param(
            {"x-ratelimit-reset-tokens": "1h2m3.5s"},
            None,
            3723.5,
            id="Go duration with hours and fractions",
        ),
        pytest.param(
            {
                "x-ratelimit-remaining-requests": "14000",
                "x-ratelimit-reset-requests": "2m59.56s",
                "x-ratelimit-remaining-tokens": "0",
                "x-ratelimit-reset-tokens": "7.66s",
            },
            None,
            7.66,
            id="Groq: the family at 0 remaining is what blocked us",
        ),
        pytest.param(
            {"x-ratelimit-reset-requests": "2m", "x-ratelimit-reset-tokens": "7s"},
            None,
            7.0,
            id="with no remaining figures the earliest reset wins",
        ),
        pytest.param(
            {
                "anthropic-ratelimit-requests-remaining": "0",
                "anthropic-ratelimit-requests-reset": "2025-08-21T12:40:59Z",
                "anthropic-ratelimit-tokens-remaining": "9000",
                "anthropic-ratelimit-tokens-reset": "2025-08-21T12:40:01Z",
            },
            None,
            59.0,
            id="Anthropic RFC 3339 reset of the exhausted family",
        ),
        pytest.param(
            {"anthropic-ratelimit-tokens-reset": "2025-08-21T12:40:05.5+00:00"},
            None,
            5.5,
            id="RFC 3339 with offset",
        ),
        pytest.param(
            {"x-ratelimit-reset": "1755780030000"},
            None,
            30.0,
            id="OpenRouter reset as Unix milliseconds",
        ),
        pytest.param({"x-ratelimit-reset": "1755780010"}, None, 10.0, id="reset as Unix seconds"),
        pytest.param(
            {"x-ratelimit-reset": "4"}, None, 4.0, id="Together reset as seconds from now"
        ),
        pytest.param({}, GEMINI_429, 35.0, id="Gemini RetryInfo.retryDelay in the error body"),
        pytest.param(
            {"retry-after": "3"}, GEMINI_429, 3.0, id="a standard header wins over the body"
        ),
        pytest.param({}, [GEMINI_429], 35.0, id="Gemini error wrapped in an array"),
        pytest.param(
            {},
            {
                "error": {
                    "details": [
                        {
                            "@type": "x/google.rpc.RetryInfo",
                            "retryDelay": {"seconds": 2, "nanos": 500000000},
                        }
                    ]
                }
            },
            2.5,
            id="RetryInfo as a protobuf object",
        ),
        pytest.param({}, None, None, id="nothing said"),
        pytest.param({"retry-after": "soon"}, None, None, id="nonsense retry-after is ignored"),
        pytest.param({"retry-after": "nan"}, None, None, id="NaN is ignored"),
        pytest.param(
            {"retry-after": "1e309"}, None, None, id="exponents and infinities are ignored"
        ),
        pytest.param({"retry-after": "9" * 500}, None, None, id="absurdly long values are ignored"),
        pytest.param(
            {"retry-after": "soon", "x-ratelimit-reset-tokens": "2s"},
            None,
            2.0,
            id="nonsense falls through to the next source",
        ),
        pytest.param(
            {"x-ratelimit-reset-tokens": "5 parsecs"},
            None,
            None,
            id="an unreadable reset is skipped",
        ),
        pytest.param({}, {"error": {"details": "nope"}}, None, id="a malformed body is ignored"),
        pytest.param({}, b"\xff", None, id="a non-JSON body object is ignored"),
    ],
)
def test_retry_after_formats(headers: dict[str, str], body: object, expected: float | None) -> None:
    got = retry_after_seconds(headers, body, now=NOW)
    assert got == (pytest.approx(expected) if expected is not None else None)


def test_reset_headers_are_ignored_unless_asked_for() -> None:
    headers = {"x-ratelimit-reset-tokens": "6m0s"}
    assert retry_after_seconds(headers, now=NOW, resets=False) is None
    assert retry_after_seconds({**headers, "retry-after": "4"}, now=NOW, resets=False) == 4.0


def test_httpx_headers_are_accepted() -> None:
    assert retry_after_seconds(httpx.Headers({"Retry-After": "7"}), now=NOW) == 7.0


def test_naive_now_is_taken_as_utc() -> None:
    naive = datetime(2025, 8, 21, 12, 40, 0)
    assert retry_after_seconds({"retry-after": "Thu, 21 Aug 2025 12:40:10 GMT"}, now=naive) == 10.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("0s", 0.0),
        ("9ms", 0.009),
        ("1.5s", 1.5),
        ("-1s", -1.0),
        ("250us", 0.00025),
        ("1m", 60.0),
        ("", None),
        ("1.5", None),
        ("s", None),
        ("1x", None),
        ("1s garbage", None),
    ],
)
def test_go_durations(text: str, seconds: float | None) -> None:
    got = parse_duration(text)
    assert got == (pytest.approx(seconds) if seconds is not None else None)
