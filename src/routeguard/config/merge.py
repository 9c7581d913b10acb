"""Policy overrides at three levels, merged field by field and checked at each level.

The order is: built-in defaults of the policy models -> top-level `probes`,
`breaker`, `slo` -> `providers.<name>` -> `routes.<route id>`. A level's own
values are checked where they are written (unknown key, type, range); then each
level, merged over the levels above it, must be valid as a whole (for example
`open_max_s >= open_s`), and a failure is reported once, at the level that broke it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ValidationError

from routeguard.config.policies import BreakerSettings, ProbeSettings, SloSettings
from routeguard.config.problems import KeyPath, Problems, format_path, policy_problems, show

POLICIES: Mapping[str, type[BaseModel]] = MappingProxyType(
    {"probes": ProbeSettings, "breaker": BreakerSettings, "slo": SloSettings}
)


@dataclass(frozen=True)
class Layer:
    """The policy values written at one level; a section is None if it has errors."""

    path: KeyPath  # where the level lives: (), ("providers", "openai"), ("routes", "a/b")
    sections: Mapping[str, Mapping[str, Any] | None] = field(
        default_factory=lambda: MappingProxyType({name: {} for name in POLICIES})
    )


@dataclass(frozen=True)
class Policies:
    """The merged policies of one route."""

    probes: ProbeSettings
    breaker: BreakerSettings
    slo: SloSettings


def read_layer(path: KeyPath, entry: Mapping[str, Any], problems: Problems) -> Layer:
    """The `probes`/`breaker`/`slo` values of `entry` (a mapping found at `path`)."""
    sections: dict[str, Mapping[str, Any] | None] = {}
    for name, model in POLICIES.items():
        sections[name] = _read_section((*path, name), entry.get(name), model, problems)
    return Layer(path, MappingProxyType(sections))


def _read_section(
    path: KeyPath, raw: Any, model: type[BaseModel], problems: Problems
) -> Mapping[str, Any] | None:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(path, f"must be a mapping of settings (got {show(raw)})", _example(model))
        return None
    before = len(problems)
    checked = {
        k: v for k, v in raw.items() if _plain_value_ok((*path, str(k)), k, v, model, problems)
    }
    try:
        model.model_validate(checked)
    except ValidationError as exc:
        field_errors = [e for e in exc.errors() if e["loc"]]
        policy_problems(problems, path, model, field_errors)
    return dict(raw) if len(problems) == before else None


def _plain_value_ok(
    path: KeyPath, key: Any, value: Any, model: type[BaseModel], problems: Problems
) -> bool:
    """Refuse what pydantic would quietly accept: non-text keys, true as 1.0, inf, nan."""
    field = model.model_fields.get(key) if isinstance(key, str) else None
    if not isinstance(key, str):
        problems.add(path, "keys must be text", "write the setting's name")
    elif isinstance(value, bool) and field is not None and field.annotation is not bool:
        problems.add(path, f"must be a number, not {show(value)}")
    elif isinstance(value, float) and not math.isfinite(value):
        problems.add(path, f"must be a finite number, not {show(value)}")
    elif not _above_floor(path, key, value, model, problems):
        pass
    else:
        return True
    return False


def _above_floor(
    path: KeyPath, key: str, value: Any, model: type[BaseModel], problems: Problems
) -> bool:
    """A duration a catalog may not set as low as pydantic's range alone allows."""
    floor = getattr(model, "catalog_floors", {}).get(key)
    number = _as_number(value)
    if floor is None or number is None or not number < floor.seconds:
        return True
    problems.add(
        path,
        f"{number:g} s is below the floor of {floor.seconds:g} s ({floor.why})",
        f"use at least {floor.seconds:g}",
    )
    return False


def _as_number(value: Any) -> float | None:
    """`value` as pydantic will read it (numbers, and numbers written as text)."""
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None


def merge(layers: list[Layer], problems: Problems, reported: set[KeyPath]) -> Policies | None:
    """Merge `layers` (top level first); None if any level, or any merged level, is invalid.

    `reported` holds the paths whose merged-level problem was already recorded, so
    a provider shared by many routes is reported once.
    """
    values: dict[str, dict[str, Any]] = {}
    for name, model in POLICIES.items():
        merged = _merge_section(name, model, layers, problems, reported)
        if merged is None:
            return None
        values[name] = merged
    return Policies(
        probes=ProbeSettings.model_validate(values["probes"]),
        breaker=BreakerSettings.model_validate(values["breaker"]),
        slo=SloSettings.model_validate(values["slo"]),
    )


def _merge_section(
    name: str,
    model: type[BaseModel],
    layers: list[Layer],
    problems: Problems,
    reported: set[KeyPath],
) -> dict[str, Any] | None:
    values: dict[str, Any] = {}
    above: list[str] = []
    for layer in layers:
        section = layer.sections[name]
        if section is None:
            return None
        if not section:
            continue
        values.update(section)
        path = (*layer.path, name)
        if not _merged_ok(path, model, values, above, problems, reported):
            return None
        above.append(format_path(path))
    return values


def _merged_ok(
    path: KeyPath,
    model: type[BaseModel],
    values: dict[str, Any],
    above: list[str],
    problems: Problems,
    reported: set[KeyPath],
) -> bool:
    try:
        model.model_validate(values)
    except ValidationError as exc:
        if path not in reported:
            reported.add(path)
            merged = f" once merged over {', '.join(above)}" if above else ""
            for error in exc.errors():
                what = str(error["msg"]).removeprefix("Value error, ")
                problems.add(path, what + merged, "change the values so they agree")
        return False
    return True


def _example(model: type[BaseModel]) -> str:
    first = next(iter(model.model_fields))
    return f"write it as a mapping, e.g. {{{first}: ...}}"
