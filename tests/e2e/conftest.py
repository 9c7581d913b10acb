"""Fixtures of the end-to-end tests: one real Prometheus + Alertmanager per session."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from .promstack import PromStack, StackError, missing_reason, shipped_rule_files


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "prometheus: runs a real Prometheus and Alertmanager (README, `make test`); select with -m prometheus",
    )


@pytest.fixture(scope="session")
def prom_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromStack]:
    """Prometheus with the shipped rules and an Alertmanager with a webhook receiver."""
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    stack = PromStack(tmp_path_factory.mktemp("promstack"), shipped_rule_files())
    try:
        stack.start()
    except StackError as exc:
        stack.stop()
        pytest.fail(f"the Prometheus stack did not start: {exc}", pytrace=False)
    try:
        yield stack
    finally:
        stack.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that used the stack shows Prometheus's and Alertmanager's logs."""
    report = yield
    stack = getattr(item, "funcargs", {}).get("prom_stack")
    if report.failed and isinstance(stack, PromStack):
        report.sections.append(("Prometheus and Alertmanager logs", stack.logs()))
    return report
