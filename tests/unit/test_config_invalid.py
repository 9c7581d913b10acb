"""One invalid catalog per rule, each checked against the exact message it must give.

Every `tests/testdata/config/invalid-*.yaml` starts with `# expect: <message part>`;
the file must fail with exactly one problem, naming the file, containing that text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from routeguard.config import load_catalog
from routeguard.errors import ConfigError

TESTDATA = Path(__file__).parent.parent / "testdata" / "config"
INVALID = sorted(TESTDATA.glob("invalid-*.yaml"))


def expected_message(path: Path) -> str:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
    return first.removeprefix("# expect: ")


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_catalog(path)
    return caught.value.messages


def test_there_is_an_invalid_file_for_every_rule() -> None:
    assert len(INVALID) >= 25


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
