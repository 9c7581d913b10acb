"""The shipped Prometheus rules and Alertmanager example (alerts/), checked.

promtool and amtool run the real checks and unit tests (tests/alerts/*.test.yaml);
the pure-Python tests pin what the tools cannot see: severities, annotations,
runbook anchors in docs/alerting.md, and that every metric a rule reads is one
routeguard really exports.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from routeguard import metric_names
from routeguard.client.metrics import WorkerMetrics
from routeguard.config import load_catalog
from routeguard.daemon.metrics import (
    BreakerCollector,
    SchedulerMetrics,
    WatchMetrics,
    store_up_gauge,
)
from routeguard.integrations.litellm.metrics import PluginMetrics
from routeguard.notify.delivery import NotificationMetrics
from routeguard.probes import ProbeMetrics

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "alerts"
RULE_FILES = [ALERTS / "recording.yaml", ALERTS / "alerts.yaml"]
TEST_FILES = sorted((ROOT / "tests" / "alerts").glob("*.test.yaml"))
ALERTMANAGER = ALERTS / "alertmanager.example.yml"
ALERTING_DOC = ROOT / "docs" / "alerting.md"
SEVERITIES = {"critical", "page", "ticket"}
WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]
# A metric name, not a recorded series that names one (provider_model:routeguard_...:bool).
METRIC = re.compile(r"(?<![:\w])routeguard_[a-z_]+")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(
            f"{name} is not installed (Debian packages prometheus and "
            "prometheus-alertmanager); CI installs them and fails on any skip"
        )
    return path


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)


def _assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, (
        f"{' '.join(result.args)} exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )


def _groups(path: Path) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(path.read_text())["groups"]
    return groups


def _alert_rules() -> list[dict[str, Any]]:
    return [rule for g in _groups(ALERTS / "alerts.yaml") for rule in g["rules"] if "alert" in rule]


def _recording_rules() -> list[dict[str, Any]]:
    return [rule for g in _groups(ALERTS / "recording.yaml") for rule in g["rules"]]


def _anchor(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _registered() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Name -> (type, labels) of every family the daemon's and a worker's metrics register."""
    registry = CollectorRegistry()
    catalog = load_catalog(ROOT / "tests" / "testdata" / "config" / "valid-minimal.yaml")
    ProbeMetrics(registry).initialise(catalog)
    SchedulerMetrics(registry)
    WatchMetrics(registry)
    store_up_gauge(registry)
    NotificationMetrics(registry, ["pager"])
    WorkerMetrics(registry, lambda: 0.0).initialise(catalog)
    PluginMetrics(registry)
    collector = BreakerCollector(catalog)
    registry.register(collector)
    families: dict[str, tuple[str, tuple[str, ...]]] = {}
    for family in registry.collect():
        labels = {name for s in family.samples for name in s.labels if name != "le"}
        families[family.name] = (family.type, tuple(sorted(labels)))
    return families


def test_the_metric_modules_register_exactly_the_conventions() -> None:
    # Every family with a sample shows its labels; the conventions module declares them.
    declared = {
        m.name.removesuffix("_total"): (m.kind, tuple(sorted(m.labels)))
        for m in metric_names.ALL_METRICS
    }
    registered = _registered()
    assert set(registered) == set(declared)
    for name, (kind, labels) in registered.items():
        assert kind == declared[name][0], name
        assert labels in ((), declared[name][1]), f"{name}: {labels} != {declared[name][1]}"


# -- the tools ------------------------------------------------------------------


def test_promtool_accepts_the_rule_files() -> None:
    promtool = _tool("promtool")
    _assert_ok(_run(promtool, "check", "rules", *map(str, RULE_FILES)))


def test_promtool_unit_tests_pass() -> None:
    promtool = _tool("promtool")
    assert TEST_FILES, "no tests/alerts/*.test.yaml"
    _assert_ok(_run(promtool, "test", "rules", *map(str, TEST_FILES)))


def test_amtool_accepts_the_alertmanager_example() -> None:
    amtool = _tool("amtool")
    _assert_ok(_run(amtool, "check-config", str(ALERTMANAGER)))


@pytest.mark.parametrize(
    ("severity", "receiver"),
    [("critical", "pager"), ("page", "pager"), ("ticket", "ticket")],
)
def test_alertmanager_example_routes_on_severity(severity: str, receiver: str) -> None:
    amtool = _tool("amtool")
    _assert_ok(
        _run(
            amtool,
            "config",
            "routes",
            "test",
            f"--config.file={ALERTMANAGER}",
            f"--verify.receivers={receiver}",
            "alertname=RouteOpen",
            "provider=openai",
            f"severity={severity}",
        )
    )


def test_alertmanager_example_inhibits_route_alerts_during_provider_down() -> None:
    config = yaml.safe_load(ALERTMANAGER.read_text())
    rules = config["inhibit_rules"]
    assert {
        "source_matchers": ['alertname="ProviderDown"'],
        "target_matchers": ['alertname=~"RouteOpen|RouteErrorBudgetBurn"'],
        "equal": ["provider"],
    } in rules
    assert not re.search(
        r"(?i)(routing_key|api_key|token|password|secret)\s*:", ALERTMANAGER.read_text()
    )


# -- the alerts themselves ------------------------------------------------------


def test_every_alert_has_a_severity_and_its_annotations() -> None:
    problems = []
    for rule in _alert_rules():
        name = rule["alert"]
        if rule.get("labels", {}).get("severity") not in SEVERITIES:
            problems.append(f"{name}: severity must be one of {sorted(SEVERITIES)}")
        missing = {"summary", "description", "runbook_url"} - set(rule.get("annotations", {}))
        if missing:
            problems.append(f"{name}: missing annotations {sorted(missing)}")
    assert not problems, "\n".join(problems)


def test_every_runbook_url_points_to_a_heading_in_docs_alerting() -> None:
    headings = re.findall(r"^#{2,3} (.+)$", ALERTING_DOC.read_text(), flags=re.MULTILINE)
    anchors = {_anchor(h) for h in headings}
    problems = []
    for rule in _alert_rules():
        url = rule["annotations"]["runbook_url"]
        page, _, anchor = url.partition("#")
        if page != "docs/alerting.md" or anchor not in anchors:
            problems.append(f"{rule['alert']}: {url} has no heading in docs/alerting.md")
    assert not problems, "\n".join(problems)


def test_every_metric_the_rules_read_is_exported() -> None:
    exported = metric_names.sample_names()
    used = {
        name
        for path in RULE_FILES
        for rule in [r for g in _groups(path) for r in g["rules"]]
        for name in METRIC.findall(rule["expr"])
    }
    assert used, "no routeguard_ metric found in the rules"
    assert used <= exported, f"not exported by the daemon or a worker: {sorted(used - exported)}"


def test_every_alert_is_tested_firing_and_silent() -> None:
    firing: set[str] = set()
    silent: set[str] = set()
    for path in TEST_FILES:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else silent).add(check["alertname"])
    names = {rule["alert"] for rule in _alert_rules()}
    assert names <= firing, f"never tested firing: {sorted(names - firing)}"
    assert names <= silent, f"never tested silent: {sorted(names - silent)}"


def test_unit_tests_evaluate_groups_in_file_order() -> None:
    # promtool evaluates groups in map order unless told: alerts could read the
    # recording rules' previous minute, and the tests would flip between runs.
    groups = [g["name"] for path in RULE_FILES for g in _groups(path)]
    for path in TEST_FILES:
        test = yaml.safe_load(path.read_text())
        files = [(path.parent / f).resolve() for f in test["rule_files"]]
        expected = [g["name"] for f in files for g in _groups(f)]
        assert set(expected) <= set(groups), f"{path.name}: unknown rule file"
        assert test.get("group_eval_order") == expected, (
            f"{path.name}: group_eval_order must list {expected}"
        )


def test_every_sli_has_every_window() -> None:
    # Each (slo, source) SLI exists per route and per provider (model="*") for
    # every window the burn-rate alerts and the period figures read.
    found: dict[tuple[str, str, bool], set[str]] = {}
    for rule in _recording_rules():
        match = re.fullmatch(r"slo:sli_error:ratio_rate(\w+)", rule.get("record", ""))
        if match is None:
            continue
        labels = rule.get("labels", {})
        key = (labels["slo"], labels["source"], labels.get("model") == "*")
        found.setdefault(key, set()).add(match.group(1))
    expected = {
        (slo, source, per_provider)
        for slo, source in [
            ("availability", "probe"),
            ("ttft", "probe"),
            ("availability", "traffic"),
            ("uptime", "breaker"),
        ]
        for per_provider in (False, True)
    }
    assert set(found) == expected
    problems = [
        f"{key}: {sorted(set(WINDOWS) - w)}" for key, w in found.items() if w != set(WINDOWS)
    ]
    assert not problems, "missing windows:\n" + "\n".join(problems)
