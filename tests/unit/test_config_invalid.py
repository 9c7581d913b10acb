"""One invalid catalog per rule, each checked against the exact message it must give.

Every `tests/testdata/config/invalid-*.yaml` starts with `# expect: <message part>`;
the file must fail with exactly one problem, naming the file, containing that text.

A rule is a place in src/routeguard/config that words a problem (`rule_sites`), or a
catalog floor of a policy. Each must be triggered by at least one invalid file: loading
the files runs under a line tracer, so a rule added without a file fails here.
"""

from __future__ import annotations

import ast
import os
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import FrameType
from typing import Any
from unittest import mock

import pytest

import routeguard.config
from routeguard.config import load_catalog
from routeguard.config.merge import POLICIES
from routeguard.config.problems import Problems
from routeguard.errors import ConfigError

TESTDATA = Path(__file__).parent.parent / "testdata" / "config"
INVALID = sorted(TESTDATA.glob("invalid-*.yaml"))
CONFIG_SRC = Path(routeguard.config.__file__).parent
SRC_PREFIX = f"{CONFIG_SRC}{os.sep}"  # a string: the tracer runs at every call

# Rule sites no catalog file can (or may yet) reach: (function, part of the code) -> why.
NO_FILE = {
    ("_policy_error_text", "_strip_value_error(error['msg']), ''"): (
        "an error of a whole policy section: merge.py drops those and reports them once "
        "merged (invalid-merged-open-max.yaml), and no notify model has a model validator"
    ),
    ("_policy_error_text", "(got {show(value)})"): (
        "reachable (notify.channels.hook.url: 5), but its message is pydantic's own "
        "('Input should be a valid string (got 5)'), which the leak test below forbids"
    ),
}


def expected_message(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
    return first.removeprefix("# expect: ")


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_catalog(path)
    return caught.value.messages


@dataclass(frozen=True)
class Site:
    """One place in src/routeguard/config that words a problem."""

    module: str
    function: str
    line: int
    code: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} ({self.function}) {self.code[:90]}"

    def matches(self, key: tuple[str, str]) -> bool:
        function, part = key
        return self.function == function and part in self.code

    def exempt(self) -> bool:
        return any(self.matches(key) for key in NO_FILE)


def _words_a_problem(function: ast.FunctionDef, node: ast.AST) -> bool:
    """`problems.add(...)` / `problems.unknown_key(...)`; a `return` of a translator of
    pydantic errors (returns `tuple[str, str]`: what and fix); a model validator's `raise`."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        receiver = node.func.value
        called = node.func.attr in ("add", "unknown_key")
        return called and isinstance(receiver, ast.Name) and receiver.id == "problems"
    if isinstance(node, ast.Return) and function.returns is not None:
        return ast.unparse(function.returns) == "tuple[str, str]"
    if isinstance(node, ast.Raise):
        return any("model_validator" in ast.unparse(d) for d in function.decorator_list)
    return False


def rule_sites() -> list[Site]:
    sites: dict[tuple[str, int], Site] = {}
    for path in sorted(CONFIG_SRC.glob("*.py")):
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(function, ast.FunctionDef):
                continue
            for node in ast.walk(function):  # inner functions come later and win
                if _words_a_problem(function, node):
                    line, code = node.lineno, ast.unparse(node)  # type: ignore[attr-defined]
                    sites[path.name, line] = Site(path.name, function.name, line, code)
    return list(sites.values())


def _where(frame: FrameType) -> tuple[str, int]:
    return Path(frame.f_code.co_filename).name, frame.f_lineno


@cache
def lines_run(path: Path) -> frozenset[tuple[str, int]]:
    """The lines of src/routeguard/config that loading `path` runs.

    A line tracer sees them all, unless a RecursionError (a YAML nested thousands
    deep) switches it off: so the callers of `Problems.add` are recorded directly too.
    """
    ran: set[tuple[str, int]] = set()

    def line(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            ran.add(_where(frame))
        return line

    def call(frame: FrameType, event: str, arg: Any) -> Any:
        return line if frame.f_code.co_filename.startswith(SRC_PREFIX) else None

    def add(problems: Problems, *args: Any, **kwargs: Any) -> None:
        ran.update({_where(sys._getframe(1)), _where(sys._getframe(2))})  # 2: unknown_key's
        original(problems, *args, **kwargs)

    original, previous = Problems.add, sys.gettrace()
    with mock.patch.object(Problems, "add", add):
        sys.settrace(call)
        try:
            problems_of(path)
        finally:
            sys.settrace(previous)
    return frozenset(ran)


def triggered(site: Site) -> bool:
    return any((site.module, site.line) in lines_run(path) for path in INVALID)


def test_there_is_an_invalid_file_for_every_rule() -> None:
    sites = rule_sites()
    missing = [str(site) for site in sites if not site.exempt() and not triggered(site)]
    assert missing == [], "add an invalid-*.yaml ('# expect: ...' first) for each of these"
    gone = [key for key in NO_FILE if not any(site.matches(key) for site in sites)]
    assert gone == [], "NO_FILE names code that is no longer there"


def test_every_invalid_file_triggers_a_rule() -> None:
    sites = {(s.module, s.line) for s in rule_sites()}
    blind = [path.name for path in INVALID if not sites & lines_run(path)]
    assert blind == [], "files whose problem comes from no known rule site (is the scan blind?)"


def test_every_catalog_floor_has_an_invalid_file() -> None:
    expected = [expected_message(path) for path in INVALID]
    floors = [
        f"{section}.{field}"
        for section, model in POLICIES.items()
        for field in getattr(model, "catalog_floors", {})
    ]
    assert floors, "the policies declare catalog floors"
    untested = [
        floor
        for floor in floors
        if not any(re.search(rf"(^|\.){re.escape(floor)}: .* below the floor", e) for e in expected)
    ]
    assert untested == [], "floors no invalid file goes below"


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem.removeprefix("invalid-"))
def test_an_invalid_file_fails_with_its_one_expected_message(path: Path) -> None:
    messages = problems_of(path)
    assert len(messages) == 1, messages
    assert expected_message(path) in messages[0]
    assert messages[0].startswith(f"{path}: ")


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem.removeprefix("invalid-"))
def test_no_message_leaks_a_secret_or_pydantic_wording(path: Path) -> None:
    text = "\n".join(problems_of(path))
    for leak in (
        "SECRET",
        "hunter2",
        "pydantic",
        "errors.pydantic.dev",
        "Input should",
        "Traceback",
    ):
        assert leak not in text
