"""The incremental SSE parser, and the loop that feeds stream interpreters."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import httpx
import pytest

from routeguard.outcomes import Outcome
from routeguard.providers import CODECS, OPENAI, Endpoint, Flavour, read_stream
from routeguard.providers.sse import SSEEvent, SSEKind, SSEParser, SSEProtocolError

EP = Endpoint("p", "https://p.test/v1")


def parse(*chunks: bytes, max_chars: int = 1 << 20) -> list[SSEEvent]:
    parser = SSEParser(max_chars=max_chars)
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events + parser.close()


def ev(data: str, event: str = "message", id: str | None = None) -> SSEEvent:
    return SSEEvent(SSEKind.EVENT, event, data, id)


def comment(text: str) -> SSEEvent:
    return SSEEvent(SSEKind.COMMENT, "message", text)


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        pytest.param(b"data: hi\n\n", [ev("hi")], id="one event"),
        pytest.param(
            b"data: a\ndata: b\n\n", [ev("a\nb")], id="multi-line data joins with newline"
        ),
        pytest.param(
            b"data: a\r\n\r\ndata: b\r\rdata: c\n\n",
            [ev("a"), ev("b"), ev("c")],
            id="CRLF, CR and LF line endings",
        ),
        pytest.param(b"event: ping\ndata: {}\n\n", [ev("{}", "ping")], id="named event"),
        pytest.param(
            b"id: 7\ndata: x\n\ndata: y\n\n",
            [ev("x", id="7"), ev("y", id="7")],
            id="id persists across events",
        ),
        pytest.param(
            b": keep-alive\n\n", [comment("keep-alive")], id="a DeepSeek keep-alive is a comment"
        ),
        pytest.param(
            b": OPENROUTER PROCESSING\n\ndata: x\n\n",
            [comment("OPENROUTER PROCESSING"), ev("x")],
            id="OpenRouter processing comment",
        ),
        pytest.param(
            b"\n\n\n\ndata: x\n\n", [ev("x")], id="blank keep-alive lines dispatch nothing"
        ),
        pytest.param(
            b"event: lonely\n\ndata: x\n\n",
            [ev("x")],
            id="an event without data is dropped and its name forgotten",
        ),
        pytest.param(
            b"data:no-space\n\ndata:  two\n\n",
            [ev("no-space"), ev(" two")],
            id="only one leading space is removed",
        ),
        pytest.param(b"data\n\n", [ev("")], id="a field without colon has an empty value"),
        pytest.param(
            b"retry: 10\nfoo: bar\ndata: x\n\n",
            [ev("x")],
            id="retry and unknown fields are ignored",
        ),
        pytest.param(b"\xef\xbb\xbfdata: bom\n\n", [ev("bom")], id="a leading BOM is dropped"),
        pytest.param(
            b"data: tail", [ev("tail")], id="close() dispatches a trailing event without blank line"
        ),
        pytest.param(
            b"data: \xff\xfe\n\n",
            [ev("\ufffd\ufffd")],
            id="invalid UTF-8 is replaced, never raised",
        ),
    ],
)
def test_parser_reads_the_event_stream_format(stream: bytes, expected: list[SSEEvent]) -> None:
    assert parse(stream) == expected


STREAM = (
    ": keep-alive\r\n\r\n"
    'event: content_block_delta\r\ndata: {"text":"héllo 世界 😀"}\r\n\r\n'
    "data: [DONE]\r\n\r\n"
).encode()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7])
def test_chunk_boundaries_anywhere_even_inside_utf8_and_crlf(size: int) -> None:
    chunks = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    assert (
        parse(*chunks)
        == parse(STREAM)
        == [
            comment("keep-alive"),
            ev('{"text":"héllo 世界 😀"}', "content_block_delta"),
            ev("[DONE]"),
        ]
    )


def test_cr_at_a_chunk_end_and_lf_at_the_next_start_are_one_line_ending() -> None:
    assert parse(b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n") == [ev("a"), ev("b")]


@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param([b"data: " + b"x" * 100], id="one line over the guard"),
        pytest.param([b"x" * 60, b"x" * 60], id="a line growing over the guard across chunks"),
        pytest.param([b"data: " + b"x" * 40 + b"\n"] * 3, id="an event growing over the guard"),
    ],
)
def test_a_line_or_event_over_the_guard_raises_instead_of_growing(chunks: list[bytes]) -> None:
    parser = SSEParser(max_chars=100)
    with pytest.raises(SSEProtocolError):
        for chunk in chunks:
            parser.feed(chunk)


def counter() -> itertools.count[float]:
    return itertools.count(1.0)


def streamed(*chunks: bytes, cut: BaseException | None = None) -> httpx.AsyncClient:
    async def body() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk
        if cut is not None:
            raise cut

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body())

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


async def drive(
    client: httpx.AsyncClient, flavour_name: str
) -> tuple[Outcome, str, float | None, bool]:
    codec = CODECS[Flavour(flavour_name)]
    clock = counter()
    async with client, client.stream("POST", "https://p.test/v1/x") as response:
        interpreter = codec.new_stream_interpreter(EP, started_s=0.0)
        result = await read_stream(response, interpreter, clock=lambda: next(clock))
    return result.outcome, result.classified.error_type, result.ttft_s, result.terminated


OPENAI_OK = [
    b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\n\n',
    b'data: {"choices":[{"index":0,"delta":{"content":"po"}}]}\n\n',
    b"data: [DONE]\n\n",
]


async def test_read_stream_drives_a_complete_stream_through_mock_transport() -> None:
    assert await drive(streamed(*OPENAI_OK), "openai") == (Outcome.OK, "", 2.0, True)


async def test_read_stream_stops_at_the_terminator_and_ignores_what_follows() -> None:
    client = streamed(*OPENAI_OK, b"data: garbage\n\n", cut=httpx.ReadError("reset"))
    assert await drive(client, "openai") == (Outcome.OK, "", 2.0, True)


async def test_a_stream_cut_by_a_reset_before_its_terminator_is_bad_response() -> None:
    client = streamed(*OPENAI_OK[:2], cut=httpx.RemoteProtocolError("peer closed connection"))
    outcome, error_type, ttft, terminated = await drive(client, "openai")
    assert (outcome, error_type, ttft, terminated) == (
        Outcome.BAD_RESPONSE,
        "stream_incomplete",
        2.0,
        False,
    )


async def test_a_gemini_stream_cut_after_finish_reason_is_still_incomplete() -> None:
    chunk = b'data: {"candidates":[{"content":{"parts":[{"text":"p"}]},"finishReason":"STOP"}]}\n\n'
    assert (await drive(streamed(chunk, cut=httpx.ReadError("x")), "gemini"))[:2] == (
        Outcome.BAD_RESPONSE,
        "stream_incomplete",
    )
    assert (await drive(streamed(chunk), "gemini")) == (Outcome.OK, "", 1.0, True)


async def test_a_read_timeout_mid_stream_propagates_to_the_runner() -> None:
    client = streamed(*OPENAI_OK[:1], cut=httpx.ReadTimeout("slow"))
    with pytest.raises(httpx.ReadTimeout):
        await drive(client, "openai")


async def test_a_runaway_line_mid_stream_is_bad_response() -> None:
    client = streamed(b"data: " + b"x" * 300)
    async with client, client.stream("GET", "https://p.test/") as response:
        result = await read_stream(
            response, OPENAI.new_stream_interpreter(EP), clock=lambda: 0.0, max_chars=100
        )
    assert (result.outcome, result.classified.error_type) == (
        Outcome.BAD_RESPONSE,
        "stream_incomplete",
    )
    assert "SSEProtocolError" in result.classified.detail
