"""Incidents from transitions: hysteresis, one incident per provider outage, reminders, resolve.

Pure: every transition carries its Redis time, and `advance` is given the time.
"""

from __future__ import annotations

from routeguard.breaker.types import BreakerState, Reason, Transition, WindowFigures
from routeguard.notify.base import Action, IncidentKind, Notification, Scope
from routeguard.notify.incidents import IncidentPolicy, TrackerState, advance, dedup_key, observe

OPEN, HALF, CLOSED = BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED
FORCED_OPEN = BreakerState.FORCED_OPEN
T0 = 1_800_000_000_000
POLICY = IncidentPolicy(
    page_after_ms=60_000,
    remind_every_ms=600_000,
    resolve_after_ms=0,
    group_window_ms=10_000,
    provider_routes={"oa": 3, "an": 1},
)


class Routes:
    """Feeds transitions of several routes to the tracker, with per-route versions."""

    def __init__(self, policy: IncidentPolicy = POLICY) -> None:
        self.state = TrackerState()
        self.policy = policy
        self.states: dict[str, BreakerState] = {}
        self.versions: dict[str, int] = {}

    def move(
        self,
        route: str,
        to: BreakerState,
        at_s: float,
        reason: Reason = Reason.CONSECUTIVE_FAILURES,
    ) -> list[Notification]:
        version = self.versions.get(route, 0) + 1
        transition = Transition(
            route=route,
            from_state=self.states.get(route, CLOSED),
            to_state=to,
            reason=reason,
            detail="3 x connect_error" if to is OPEN else "",
            version=version,
            at_ms=T0 + round(at_s * 1000),
            open_until_ms=0,
            trips=1,
            window=WindowFigures(),
        )
        self.versions[route], self.states[route] = version, to
        self.state, notes = observe(self.state, transition, self.policy)
        return notes

    def at(self, at_s: float) -> list[Notification]:
        self.state, notes = advance(self.state, T0 + round(at_s * 1000), self.policy)
        return notes


def actions(notes: list[Notification]) -> list[Action]:
    return [n.action for n in notes]


def test_a_route_open_for_less_than_page_after_s_is_never_told() -> None:
    r = Routes()
    assert r.move("oa/gpt-4o", OPEN, 0) == []
    assert r.at(59.9) == []
    assert r.move("oa/gpt-4o", HALF, 30) == []
    assert r.move("oa/gpt-4o", CLOSED, 31) == []
    assert r.at(3600) == [], "a recovery before the page forgets the incident"
    assert r.state.incidents == {}


def test_a_route_down_for_page_after_s_pages_once_then_resolves_when_it_closes() -> None:
    r = Routes()
    r.move("oa/gpt-4o", OPEN, 0)
    r.move("oa/gpt-4o", HALF, 5)  # trials failing keep it cycling: still down
    r.move("oa/gpt-4o", OPEN, 6, Reason.TRIAL_FAILED)
    [trigger] = r.at(60)
    assert trigger.action is Action.TRIGGER
    assert trigger.dedup_key == "routeguard:oa/gpt-4o"
    assert trigger.scope is Scope.ROUTE and trigger.severity.value == "critical"
    assert trigger.started_ms == T0, "the outage started at the first open, not the reopen"
    assert trigger.routes[0].reason == "consecutive_failures"
    assert r.at(61) == [], "paged once"

    r.move("oa/gpt-4o", HALF, 90)
    [resolve] = r.move("oa/gpt-4o", CLOSED, 91, Reason.TRIAL_SUCCEEDED)
    assert resolve.action is Action.RESOLVE
    assert resolve.dedup_key == trigger.dedup_key, "trigger and resolve pair up"
    assert resolve.prev_id == trigger.id and resolve.id == f"{trigger.incident_id}#resolve"
    assert "recovered after 1 min 31 s" in resolve.summary


def test_resolve_after_s_waits_for_the_route_to_stay_closed() -> None:
    r = Routes(IncidentPolicy(page_after_ms=0, resolve_after_ms=30_000))
    [trigger] = r.move("oa/gpt-4o", OPEN, 0)
    assert trigger.action is Action.TRIGGER, "page_after_s 0 pages at once"
    assert r.move("oa/gpt-4o", CLOSED, 10) == []
    assert r.move("oa/gpt-4o", OPEN, 20) == [], "reopened within resolve_after_s: same incident"
    assert r.move("oa/gpt-4o", CLOSED, 25) == []
    assert r.at(54.9) == []
    [resolve] = r.at(55)
    assert resolve.action is Action.RESOLVE and resolve.incident_id == trigger.incident_id


def test_a_provider_wide_outage_is_one_incident_naming_its_routes() -> None:
    r = Routes()
    for i, route in enumerate(("oa/gpt-4o", "oa/gpt-4o-mini", "oa/o3")):
        assert r.move(route, OPEN, i * 0.5) == []
    [trigger] = r.at(60.5)
    assert trigger.scope is Scope.PROVIDER and trigger.subject == "oa"
    assert trigger.dedup_key == "routeguard:oa"
    assert [x.route for x in trigger.routes] == ["oa/gpt-4o", "oa/gpt-4o-mini", "oa/o3"]
    assert trigger.summary.startswith("oa is down: 3 of 3 routes out of service")
    assert r.at(61) == []

    r.move("oa/gpt-4o", CLOSED, 100)
    r.move("oa/o3", CLOSED, 101)
    assert r.at(200) == [], "not resolved while one route is still down"
    [resolve] = r.move("oa/gpt-4o-mini", CLOSED, 300)
    assert resolve.action is Action.RESOLVE and resolve.dedup_key == "routeguard:oa"
    assert len(resolve.routes) == 3, "the resolve names every route it involved"


def test_routes_of_another_provider_make_their_own_incident() -> None:
    r = Routes()
    r.move("oa/gpt-4o", OPEN, 0)
    r.move("an/claude-haiku-4-5", OPEN, 1)
    notes = r.at(61)
    assert sorted(n.dedup_key for n in notes) == [
        "routeguard:an/claude-haiku-4-5",
        "routeguard:oa/gpt-4o",
    ]


def test_a_route_that_joins_a_paged_incident_is_told_in_one_update_after_the_group_window() -> None:
    r = Routes()
    r.move("oa/gpt-4o", OPEN, 0)
    [trigger] = r.at(60)
    assert r.move("oa/gpt-4o-mini", OPEN, 100) == []
    assert r.move("oa/o3", OPEN, 105) == []
    assert r.at(109.9) == []
    [update] = r.at(110)
    assert update.action is Action.UPDATE and update.dedup_key == trigger.dedup_key
    assert update.seq == 1 and update.prev_id == trigger.id
    assert len(update.routes) == 3


def test_reminders_follow_remind_every_s_while_the_incident_lasts() -> None:
    r = Routes()
    r.move("oa/gpt-4o", OPEN, 0)
    [trigger] = r.at(60)
    assert r.at(659) == []
    [first] = r.at(660)
    assert first.action is Action.REMIND and first.seq == 1 and first.prev_id == trigger.id
    assert r.at(1259) == []
    [second] = r.at(1260)
    assert second.action is Action.REMIND and second.seq == 2
    [resolve] = r.move("oa/gpt-4o", CLOSED, 1300)
    assert resolve.prev_id == second.id


def test_forced_open_is_an_operator_act_and_never_pages() -> None:
    r = Routes()
    assert r.move("oa/gpt-4o", FORCED_OPEN, 0, Reason.FORCED) == []
    assert r.at(10_000) == []
    assert r.state.incidents == {}


def test_forcing_a_pending_route_open_drops_its_page() -> None:
    r = Routes()
    r.move("oa/gpt-4o", OPEN, 0)
    r.move("oa/gpt-4o", FORCED_OPEN, 30, Reason.FORCED)
    assert r.at(120) == []


def test_a_forced_route_in_a_paged_incident_is_held_no_reminder_no_resolve() -> None:
    r = Routes()
    r.move("oa/gpt-4o", OPEN, 0)
    r.at(60)
    assert r.move("oa/gpt-4o", FORCED_OPEN, 70, Reason.FORCED) == []
    assert r.at(5000) == [], "held: neither reminded nor resolved"
    [resolve] = r.move("oa/gpt-4o", CLOSED, 6000, Reason.RELEASED)
    assert resolve.action is Action.RESOLVE


def test_auth_errors_make_a_configuration_incident_of_severity_warning() -> None:
    r = Routes()
    r.move("oa/gpt-4o", OPEN, 0, Reason.AUTH_ERROR)
    [trigger] = r.at(60)
    assert trigger.kind is IncidentKind.CONFIGURATION
    assert trigger.severity.value == "warning"
    assert trigger.dedup_key == "routeguard:oa/gpt-4o:config"
    assert "configuration problem, not an outage" in trigger.summary


def test_a_replayed_transition_changes_nothing() -> None:
    r = Routes()
    r.move("oa/gpt-4o", OPEN, 0)
    before = r.state.model_copy(deep=True)
    replay = Transition(
        route="oa/gpt-4o",
        from_state=CLOSED,
        to_state=OPEN,
        reason=Reason.CONSECUTIVE_FAILURES,
        detail="",
        version=1,
        at_ms=T0,
        open_until_ms=0,
        trips=1,
        window=WindowFigures(),
    )
    state, notes = observe(r.state, replay, POLICY)
    assert notes == [] and state == before


def test_a_backlog_replayed_after_a_restart_still_pages_and_resolves_a_long_outage() -> None:
    r = Routes()
    r.move("oa/gpt-4o", OPEN, 0)
    notes = r.move("oa/gpt-4o", CLOSED, 120)  # the notifier was down the whole time
    assert actions(notes) == [Action.TRIGGER, Action.RESOLVE]
    assert notes[1].prev_id == notes[0].id


def test_every_notification_of_an_incident_has_a_distinct_id_in_order() -> None:
    r = Routes()
    r.move("oa/gpt-4o", OPEN, 0)
    notes = r.at(60) + r.at(660) + r.move("oa/gpt-4o", CLOSED, 700)
    assert [n.seq for n in notes] == [0, 1, 2]
    assert len({n.id for n in notes}) == 3
    assert [n.prev_id for n in notes[1:]] == [n.id for n in notes[:-1]]


def test_a_second_outage_after_a_resolve_is_a_new_incident_with_the_same_dedup_key() -> None:
    r = Routes(IncidentPolicy(page_after_ms=0))
    [first] = r.move("oa/gpt-4o", OPEN, 0)
    r.move("oa/gpt-4o", CLOSED, 10)
    [second] = r.move("oa/gpt-4o", OPEN, 20)
    assert second.dedup_key == first.dedup_key
    assert second.incident_id != first.incident_id


def test_a_dedup_key_longer_than_pagerdutys_limit_is_shortened_stably() -> None:
    long = "routeguard:p/" + "m" * 400
    assert len(dedup_key(long)) == 255
    assert dedup_key(long) == dedup_key(long)
    assert dedup_key(long) != dedup_key(long + "x")
    assert dedup_key("routeguard:oa") == "routeguard:oa"
