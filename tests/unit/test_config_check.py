"""check_config and load_catalog on files: reading problems, warnings, keys from env."""

from __future__ import annotations

from pathlib import Path

import pytest

from routeguard.config import check_config, load_catalog
from routeguard.errors import ConfigError

TESTDATA = Path(__file__).parent.parent / "testdata" / "config"
MINIMAL = TESTDATA / "valid-minimal.yaml"
ALL_KEYS = {
    "OPENAI_API_KEY": "sk-1",
    "ANTHROPIC_API_KEY": "sk-ant-1",
    "TOGETHER_API_KEY": "t",
    "VLLM_KEY": "v",
}


def test_a_valid_file_checks_clean_when_every_key_is_set() -> None:
    catalog, errors, warnings = check_config(
        TESTDATA / "valid-full.yaml",
        env=ALL_KEYS
        | {
            "OPENROUTER_API_KEY": "o",
            "CLAUDE_PROXY_KEY": "c",
        },
    )
    assert catalog is not None
    assert errors == []
    assert warnings == []


def test_an_unset_key_variable_is_a_warning_not_an_error() -> None:
    env = dict(ALL_KEYS)
    del env["ANTHROPIC_API_KEY"]
    catalog, errors, warnings = check_config(MINIMAL, env=env)
    assert catalog is not None
    assert errors == []
    unset = f"{MINIMAL}: providers.anthropic: ANTHROPIC_API_KEY is not set in the environment"
    assert [w for w in warnings if w.startswith(unset)] == [
        f"{unset}; calls to this provider will fail with auth_error until it is"
    ]


def test_a_declared_provider_no_model_uses_is_a_warning() -> None:
    _, _, warnings = check_config(MINIMAL, env=ALL_KEYS)
    assert warnings == [f"{MINIMAL}: providers.openai: no model lists a route of this provider"]


def test_an_invalid_file_gives_its_errors_and_no_catalog() -> None:
    catalog, errors, warnings = check_config(TESTDATA / "invalid-bad-flavour.yaml")
    assert catalog is None
    assert len(errors) == 1
    assert warnings == []


def test_a_missing_file_is_one_clear_message(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    catalog, errors, _ = check_config(missing)
    assert catalog is None
    assert errors == [f"{missing}: no such file; check the path"]


def test_a_directory_is_not_a_catalog(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory, not a catalog file"):
        load_catalog(tmp_path)


def test_a_file_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"providers:\n  caf\xe9: {}\n")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_catalog(latin)


def test_the_api_key_is_read_from_the_environment_at_call_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vllm = load_catalog(MINIMAL).providers["local-vllm"]
    monkeypatch.delenv("VLLM_KEY", raising=False)
    assert vllm.api_key() is None
    monkeypatch.setenv("VLLM_KEY", "first")
    assert vllm.api_key() == "first"
    monkeypatch.setenv("VLLM_KEY", "rotated")
    assert vllm.api_key() == "rotated"
    assert vllm.request_headers() == {"authorization": "Bearer rotated"}


def test_an_empty_key_variable_counts_as_unset() -> None:
    openai = load_catalog(MINIMAL).providers["openai"]
    assert openai.api_key({"OPENAI_API_KEY": ""}) is None
    assert openai.request_headers({"OPENAI_API_KEY": ""}) == {}


def test_the_provider_never_holds_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-print")
    openai = load_catalog(MINIMAL).providers["openai"]
    assert "sk-do-not-print" not in repr(openai)


def test_a_read_error_is_a_message_even_when_running_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: Path, encoding: str | None = None) -> str:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", refuse)
    catalog, errors, _ = check_config(tmp_path / "catalog.yaml")
    assert catalog is None
    assert errors == [
        f"{tmp_path / 'catalog.yaml'}: cannot read the file (permission denied); check its permissions"
    ]
