"""Which answer one request gets: faults and the request's own problems, in one pure function.

The order is the order a real provider checks things in, so that, say, a revoked
key is reported even while the provider is rate limiting:

    wrong key                -> auth_error        (the vendor's auth shape)
    key_revoked              -> key_revoked       (the same shape, for the right key)
    html_502                 -> html_502
    quota_exhausted          -> quota_exhausted
    rate_limit (a draw)      -> rate_limited      (429 + retry hints)
    bad request, bad model   -> bad_request / not_found
    model in model_down      -> model_down        (model_down_status)
    error_rate (a draw)      -> server_error      (error_status)
    otherwise                -> a 2xx, shaped by the body faults

latency_s (+ jitter) delays every answer, errors included. Draws come from the
`random.Random` passed in and are only made for faults that are set, so a seeded
generator gives the same answers run after run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from random import Random

from routeguard.sim.base import Kind, Served
from routeguard.sim.faults import Faults, ModelFaults, overload_status

MIB = 1024 * 1024


@dataclass(frozen=True)
class Facts:
    """What the simulator knows about one request before deciding."""

    kind: Kind
    model: str = ""
    authorised: bool = True
    problem: Served | None = None  # bad_request / not_found found while parsing
    inband_error: bool = False  # the vendor can put an error inside a 2xx body of this kind
    needs_key: bool = True  # False where the vendor asks for no key (OpenRouter's model list)


@dataclass(frozen=True)
class Verdict:
    """The decided answer: the label it is counted under and how to shape it."""

    served: Served
    status: int = 200  # the class of answer; a wire may say it its own way (Gemini's 400 auth)
    delay_s: float = 0.0  # before the response headers
    ttft_s: float = 0.0  # before the first token (streams)
    stall_s: float = 0.0  # silence after half the tokens (streams)
    queue_s: float = 0.0  # keep-alive lines before answering
    keepalive_every_s: float = 1.0
    retry_after_s: float = 0.0  # rate_limited
    quota_status: int | None = None  # quota_exhausted
    cut: bool = False
    error_event: bool = False
    malformed: bool = False
    never_ending: bool = False
    huge_bytes: int = 0

    @property
    def is_error(self) -> bool:
        return self.status >= 400


def decide(
    faults: Faults,
    facts: Facts,
    flavour: str,
    rng: Random,
    *,
    model_faults: ModelFaults | None = None,
) -> Verdict:
    """The answer `facts` gets under `faults` (see the module docstring for the order).

    `model_faults` is `faults.for_model(facts.model)` when the caller has it cached.
    """
    f = model_faults if model_faults is not None else faults.for_model(facts.model)
    delay = f.latency_s + _jitter(f, rng)
    error = _error(faults, f, facts, flavour, rng)
    if error is not None:
        served, status = error
        return Verdict(
            served,
            status,
            delay_s=delay,
            retry_after_s=f.retry_after_s,
            quota_status=f.quota_status,
        )
    return _success(f, facts, delay, rng)


def _error(
    faults: Faults, f: ModelFaults, facts: Facts, flavour: str, rng: Random
) -> tuple[Served, int] | None:
    if not facts.authorised:
        return Served.AUTH_ERROR, 401
    if f.key_revoked and facts.needs_key:
        return Served.KEY_REVOKED, 401
    if f.html_502:
        return Served.HTML_502, 502
    if f.quota_exhausted:
        return Served.QUOTA_EXHAUSTED, f.quota_status or 402
    if f.rate_limit and rng.random() < f.rate_limit:
        return Served.RATE_LIMITED, 429
    if facts.problem is not None:
        return facts.problem, 404 if facts.problem is Served.NOT_FOUND else 400
    if facts.model and facts.model in faults.model_down:
        return Served.MODEL_DOWN, faults.model_down_status
    if f.error_rate and rng.random() < f.error_rate:
        return Served.SERVER_ERROR, f.error_status or overload_status(flavour)
    return None


def _success(f: ModelFaults, facts: Facts, delay: float, rng: Random) -> Verdict:
    generating = facts.kind in (Kind.COMPLETION, Kind.STREAM)
    stream = facts.kind is Kind.STREAM
    verdict = Verdict(
        Served.OK,
        delay_s=delay,
        ttft_s=f.ttft_s + _jitter(f, rng) if stream else 0.0,
        stall_s=f.stall_mid_stream_s if stream else 0.0,
        queue_s=f.queue_keepalive_s if generating else 0.0,
        keepalive_every_s=f.keepalive_every_s,
        cut=f.cut_stream,
        error_event=f.error_event_in_stream and (stream or facts.inband_error),
        malformed=f.malformed_json,
        never_ending=f.never_ending_stream and generating,
        huge_bytes=round(f.huge_body_mb * MIB) if generating else 0,
    )
    return _labelled(verdict)


def _labelled(v: Verdict) -> Verdict:
    """The verdict under the label of its most visible fault."""
    for served, present in (
        (Served.NEVER_ENDING, v.never_ending),
        (Served.ERROR_EVENT, v.error_event),
        (Served.CUT_STREAM, v.cut),
        (Served.MALFORMED_JSON, v.malformed),
        (Served.HUGE_BODY, v.huge_bytes > 0),
        (Served.STALLED, v.stall_s > 0),
        (Served.QUEUED, v.queue_s > 0),
    ):
        if present:
            return replace(v, served=served)
    return v


def _jitter(f: ModelFaults, rng: Random) -> float:
    return rng.uniform(0.0, f.jitter_s) if f.jitter_s else 0.0
