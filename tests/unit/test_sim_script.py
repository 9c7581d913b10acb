"""How body faults turn an answer into steps: writes, pauses, keep-alives, cuts."""

from __future__ import annotations

from routeguard.sim.base import Served, StreamPlan
from routeguard.sim.decide import Verdict
from routeguard.sim.script import BLANK_LINE, Cut, KeepAlive, Pause, Write, body_steps, stream_steps

PLAN = StreamPlan(
    head=(b"H",),
    tokens=(b'data: {"t":1}\n\n', b'data: {"t":2}\n\n', b'data: {"t":3}\n\n', b'data: {"t":4}\n\n'),
    tail=(b"data: [DONE]\n\n",),
)
ERROR = b"E"
PING = b": keep-alive\n\n"


def steps(**faults: object) -> list[object]:
    return list(stream_steps(Verdict(Served.OK, **faults), PLAN, ERROR, PING))  # type: ignore[arg-type]


def written(items: list[object]) -> list[bytes]:
    return [s.data for s in items if isinstance(s, Write)]


def test_a_healthy_stream_is_head_tokens_tail() -> None:
    assert written(steps()) == [b"H", *PLAN.tokens, *PLAN.tail]
    assert not any(isinstance(s, Pause | Cut | KeepAlive) for s in steps())


def test_ttft_is_silence_after_the_head_and_before_the_first_token() -> None:
    items = steps(ttft_s=0.5)
    assert items[0] == Write(b"H")
    assert items[1] == Pause(0.5)
    assert items[2] == Write(PLAN.tokens[0])


def test_a_stall_comes_after_half_the_tokens_and_the_rest_follows() -> None:
    items = steps(stall_s=2.0)
    pause = items.index(Pause(2.0))
    assert written(items[:pause]) == [b"H", *PLAN.tokens[:2]]
    assert written(items[pause:]) == [*PLAN.tokens[2:], *PLAN.tail]


def test_a_cut_stream_stops_after_half_the_tokens_without_terminator() -> None:
    items = steps(cut=True)
    assert items[-1] == Cut()
    assert written(items) == [b"H", *PLAN.tokens[:2]]


def test_a_stall_then_cut_goes_silent_before_closing() -> None:
    items = steps(stall_s=1.0, cut=True)
    assert items[-2:] == [Pause(1.0), Cut()]


def test_an_error_event_follows_the_first_token_and_ends_the_stream() -> None:
    assert written(steps(error_event=True)) == [b"H", PLAN.tokens[0], ERROR]


def test_malformed_json_breaks_the_middle_token_only() -> None:
    sent = written(steps(malformed=True))
    assert sent[3] == b'data: {"t\n\n'
    assert sent[1] == PLAN.tokens[0]
    assert sent[-1] == b"data: [DONE]\n\n"


def test_queueing_sends_keep_alives_before_anything_else() -> None:
    items = steps(queue_s=3.0, keepalive_every_s=0.5)
    assert items[0] == KeepAlive(PING, 0.5, 3.0)
    assert items[1] == Write(b"H")


def test_a_never_ending_stream_keeps_alive_without_end_then_answers() -> None:
    items = steps(never_ending=True, keepalive_every_s=0.1)
    assert items[0] == KeepAlive(PING, 0.1, None)
    assert written(items) == [b"H", *PLAN.tokens, *PLAN.tail]


def test_a_plain_body_has_its_content_length() -> None:
    items, length = body_steps(Verdict(Served.OK), b'{"ok":true}')
    assert (items, length) == ([Write(b'{"ok":true}')], 11)


def test_a_cut_body_promises_the_whole_length_and_sends_half() -> None:
    items, length = body_steps(Verdict(Served.CUT_STREAM, cut=True), b"0123456789")
    assert length == 10
    assert items == [Write(b"01234"), Cut()]


def test_a_queued_body_is_padded_with_blank_lines_and_has_no_length() -> None:
    items, length = body_steps(Verdict(Served.QUEUED, queue_s=1.0, keepalive_every_s=0.2), b"{}")
    assert length is None
    assert items == [KeepAlive(BLANK_LINE, 0.2, 1.0), Write(b"{}")]


def test_a_malformed_body_is_cut_json() -> None:
    items, _ = body_steps(Verdict(Served.MALFORMED_JSON, malformed=True), b'{"a":"bcdefgh"}')
    assert items == [Write(b'{"a":"b')]
