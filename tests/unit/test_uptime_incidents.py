"""Incidents: one per provider outage, merged over its routes."""

from __future__ import annotations

from routeguard.uptime.incidents import merge_incidents
from routeguard.uptime.timeline import Outage

NOW = 1_800_000_000_000


def test_overlapping_and_touching_intervals_of_a_providers_routes_are_one_incident() -> None:
    found = merge_incidents(
        [
            ("oa", "oa/a", Outage(1000, 5000, "down", "consecutive_failures")),
            ("oa", "oa/b", Outage(3000, 8000, "down", "failure_rate")),
            ("oa", "oa/a", Outage(8000, 9000, "down", "trial_failed")),  # touches
            ("oa", "oa/a", Outage(20_000, 21_000, "down", "consecutive_failures")),
        ]
    )
    assert [(i.start_ms, i.end_ms) for i in found] == [(20_000, 21_000), (1000, 9000)]
    assert found[1].routes == ["oa/a", "oa/b"]
    assert found[1].reasons == ["consecutive_failures", "failure_rate", "trial_failed"]


def test_providers_and_classes_are_never_merged() -> None:
    found = merge_incidents(
        [
            ("oa", "oa/a", Outage(1000, 5000, "down", "consecutive_failures")),
            ("an", "an/x", Outage(1000, 5000, "down", "consecutive_failures")),
            ("oa", "oa/b", Outage(2000, 3000, "forced", "forced")),
        ]
    )
    assert sorted((i.provider, i.time_class) for i in found) == [
        ("an", "down"),
        ("oa", "down"),
        ("oa", "forced"),
    ]


def test_an_ongoing_outage_makes_its_incident_ongoing_with_duration_to_now() -> None:
    [incident] = merge_incidents(
        [
            ("oa", "oa/a", Outage(NOW - 60_000, None, "down", "consecutive_failures")),
            ("oa", "oa/b", Outage(NOW - 30_000, NOW - 10_000, "down", "failure_rate")),
        ]
    )
    record = incident.as_record(NOW)
    assert record["ended"] is None and record["duration_s"] == 60
    assert record["class"] == "down" and record["routes"] == ["oa/a", "oa/b"]
