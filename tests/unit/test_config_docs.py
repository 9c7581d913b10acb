"""docs/configuration.md keeps up with the code: every key, every built-in provider."""

from __future__ import annotations

from pathlib import Path

import pytest

import routeguard.config
from routeguard.config import BUILTIN_PROVIDERS, BreakerSettings, ProbeSettings, SloSettings
from routeguard.config.loader import TOP_LEVEL_KEYS
from routeguard.config.providers import PROVIDER_KEYS
from routeguard.config.settings import Settings, env_var

DOC = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("model", [ProbeSettings, BreakerSettings, SloSettings])
def test_every_policy_key_is_documented_with_its_default(model: type[ProbeSettings]) -> None:
    for name, field in model.model_fields.items():
        if isinstance(field.default, float):
            default = f"{field.default:g}"
            assert f"| `{name}` | `{default}" in DOC, name
        else:
            assert f"| `{name}` |" in DOC, name


def test_every_catalog_key_and_setting_is_documented() -> None:
    for key in (*TOP_LEVEL_KEYS, *PROVIDER_KEYS):
        assert f"`{key}`" in DOC, key
    for field in Settings.model_fields:
        assert f"`{env_var(field)}`" in DOC, field


@pytest.mark.parametrize("name", sorted(BUILTIN_PROVIDERS))
def test_every_built_in_provider_is_in_the_table(name: str) -> None:
    builtin = BUILTIN_PROVIDERS[name]
    row = next(line for line in DOC.splitlines() if line.startswith(f"| `{name}` |"))
    assert f"`{builtin.base_url}`" in row
    assert f"`{builtin.api_key_env}`" in row
    assert builtin.flavour.value in row
    assert builtin.status_page is None or builtin.status_page in row


def test_the_public_surface_is_sorted_and_importable() -> None:
    exported = routeguard.config.__all__
    assert exported == sorted(exported)
    for name in exported:
        assert hasattr(routeguard.config, name)
