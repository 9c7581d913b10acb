"""The steps a 2xx answer is sent in: writes, silences, keep-alives and cuts.

Pure: the verdict's body faults turn a body or a `StreamPlan` into a list of
steps, which handler.py plays on the socket. In a stream:

- `never_ending_stream`: keep-alives until the client leaves (or the fault is lifted,
  then the answer follows);
- `queue_keepalive_s`: keep-alives for that long, then the answer;
- `ttft_s`: silence before the first token;
- `stall_mid_stream_s` and `cut_stream` act after half the tokens (at least one):
  silence, then the rest; or (cut) the connection closes there, no terminator;
- `error_event_in_stream`: after the first token, the vendor's error event, then a
  clean end without the terminator;
- `malformed_json`: the middle token event (or the first closing one) has its JSON
  cut in half.
"""

from __future__ import annotations

from dataclasses import dataclass

from routeguard.sim.base import StreamPlan
from routeguard.sim.decide import Verdict
from routeguard.sim.wire_common import broken


@dataclass(frozen=True)
class Write:
    """Send these bytes."""

    data: bytes


@dataclass(frozen=True)
class Pause:
    """Send nothing for this long."""

    seconds: float


@dataclass(frozen=True)
class KeepAlive:
    """Send `frame` every `every_s` for `seconds` (forever when `seconds` is None)."""

    frame: bytes
    every_s: float
    seconds: float | None = None


@dataclass(frozen=True)
class Cut:
    """Close the connection here, mid-body."""


Step = Write | Pause | KeepAlive | Cut

BLANK_LINE = b"\n"
"""What a non-streamed answer is padded with while queued (DeepSeek's blank lines)."""


def _waiting(verdict: Verdict, frame: bytes) -> list[Step]:
    steps: list[Step] = []
    if verdict.never_ending:
        steps.append(KeepAlive(frame, verdict.keepalive_every_s))
    if verdict.queue_s > 0:
        steps.append(KeepAlive(frame, verdict.keepalive_every_s, verdict.queue_s))
    return steps


def body_steps(verdict: Verdict, body: bytes) -> tuple[list[Step], int | None]:
    """A non-streamed 2xx body, and its Content-Length (None when padded while waiting)."""
    steps = _waiting(verdict, BLANK_LINE)
    if verdict.malformed:
        body = broken(body)
    length = None if steps else len(body)
    if verdict.cut:
        return [*steps, Write(body[: len(body) // 2]), Cut()], length
    return [*steps, Write(body)], length


def stream_steps(
    verdict: Verdict, plan: StreamPlan, error_frame: bytes, keepalive: bytes
) -> list[Step]:
    """A streamed 2xx answer."""
    tokens, tail = list(plan.tokens), list(plan.tail)
    if verdict.malformed:
        if tokens:
            tokens[len(tokens) // 2] = broken(tokens[len(tokens) // 2])
        elif tail:
            tail[0] = broken(tail[0])
    steps = _waiting(verdict, keepalive)
    steps.extend(Write(frame) for frame in plan.head)
    if verdict.ttft_s > 0:
        steps.append(Pause(verdict.ttft_s))
    if verdict.error_event:
        return [*steps, *(Write(t) for t in tokens[:1]), Write(error_frame)]
    middle = min(max(1, len(tokens) // 2), len(tokens))
    steps.extend(Write(t) for t in tokens[:middle])
    if verdict.stall_s > 0:
        steps.append(Pause(verdict.stall_s))
    if verdict.cut:
        return [*steps, Cut()]
    steps.extend(Write(t) for t in tokens[middle:])
    steps.extend(Write(t) for t in tail)
    return steps
