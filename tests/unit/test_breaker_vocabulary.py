"""One vocabulary: the Lua scripts and the Python types name every field alike."""

from __future__ import annotations

import re
from dataclasses import fields

from routeguard.breaker.model import OUTAGE_CAP, OUTAGE_KEEP_MS, RouteRecord
from routeguard.breaker.scripts import script_source
from routeguard.breaker.types import (
    LEGACY_FIELDS,
    BreakerParams,
    BreakerState,
    Reason,
    RouteStatus,
    Transition,
    WindowFigures,
    with_current_names,
)

PRELUDE = script_source("record")


def _lua_table(name: str) -> str:
    found = re.search(rf"\b{name} = \{{(.*?)\}}", PRELUDE, flags=re.DOTALL)
    assert found, f"no table {name} in the prelude"
    return found.group(1)


def test_the_scripts_hash_fields_are_the_route_records() -> None:
    lua_fields = re.findall(r"'(\w+)'", _lua_table("FIELDS"))
    assert lua_fields == [f.name for f in fields(RouteRecord)]


def test_the_scripts_legacy_map_is_pythons() -> None:
    assert dict(re.findall(r"(\w+) = '(\w+)'", _lua_table("LEGACY"))) == LEGACY_FIELDS


def test_the_scripts_parameters_unpack_in_as_arg_order_under_pythons_names() -> None:
    unpacked = {int(i): name for name, i in re.findall(r"(\w+) = v\[(\d+)\]", _lua_table("P"))}
    assert [unpacked[i] for i in sorted(unpacked)] == [f.name for f in fields(BreakerParams)]


def test_current_names_win_and_old_ones_are_read_when_alone() -> None:
    got = with_current_names({"since": 1, "consecutive": 4, "consecutive_failures": 2, "x": 0})
    assert got == {"since_ms": 1, "consecutive_failures": 2, "x": 0}


def test_an_old_daemons_published_event_decodes_like_a_new_one() -> None:
    new = {"route": "p/m", "from": "closed", "to": "open", "reason": "consecutive_failures"}
    new |= {"detail": "5 consecutive failures, last timeout", "version": 9, "at_ms": 1_000}
    new |= {"open_until_ms": 6_000, "trips": 1, "calls": 7, "failures": 5, "slow": 0}
    old = new | {"consecutive": 5}
    new |= {"consecutive_failures": 5}
    assert Transition.from_fields(old) == Transition.from_fields(new)
    assert Transition.from_fields(new) == Transition(
        route="p/m",
        from_state=BreakerState.CLOSED,
        to_state=BreakerState.OPEN,
        reason=Reason.CONSECUTIVE_FAILURES,
        detail="5 consecutive failures, last timeout",
        version=9,
        at_ms=1_000,
        open_until_ms=6_000,
        trips=1,
        window=WindowFigures(calls=7, failures=5, slow=0, consecutive_failures=5),
    )


def test_a_snapshot_decodes_every_field_it_names() -> None:
    snapshot = {"state": "half_open", "reason": "open_expired", "detail": "open time ended"}
    snapshot |= {"since_ms": 10, "version": 2, "open_until_ms": 0, "trips": 1}
    snapshot |= {"decay_from_ms": 5, "consecutive_failures": 0, "trial_successes": 1}
    snapshot |= {"rate_open_ms": 0, "calls": 3, "failures": 1, "slow": 1, "now_ms": 12}
    status = RouteStatus.from_fields("p/m", snapshot)
    assert (status.since_ms, status.now_ms, status.trial_successes) == (10, 12, 1)
    assert status.window == WindowFigures(calls=3, failures=1, slow=1, consecutive_failures=0)


def test_the_scripts_outage_bounds_are_the_models() -> None:
    found = re.search(r"OUTAGE_KEEP_MS, OUTAGE_CAP = (\d+) \* (\d+), (\d+)", PRELUDE)
    assert found, "the prelude names its outage bounds"
    keep_days, day_ms, cap = map(int, found.groups())
    assert (keep_days * day_ms, cap) == (OUTAGE_KEEP_MS, OUTAGE_CAP)
