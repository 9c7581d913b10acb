"""The public surface changes only on purpose (httpx's habit)."""

from __future__ import annotations

import types

import routeguard


def test_all_exports_are_sorted_and_exist() -> None:
    assert routeguard.__all__ == sorted(routeguard.__all__)
    for name in routeguard.__all__:
        assert getattr(routeguard, name) is not None, name


def test_the_public_surface_is_what_we_meant() -> None:
    public = {
        name
        for name in dir(routeguard)
        if not name.startswith("_") and not isinstance(getattr(routeguard, name), types.ModuleType)
    }
    assert public == set(routeguard.__all__)
