"""The simulator's config file: which fake providers to run, on which ports.

```yaml
admin_port: 9600              # optional; 0 or absent picks a free port
seed: 7                       # optional; makes every random fault draw repeatable
providers:
  - name: openai-sim
    flavour: openai           # openai | anthropic | gemini
    vendor: openai            # optional vendor quirks (together, deepseek, groq, ...)
    models: [gpt-4o-mini, o3-mini]
    api_key_env: SIM_OPENAI_KEY   # or api_key: sk-sim-... (it is a fake key)
    port: 0                   # optional; 0 picks a free port
    faults: {latency_s: 0.2}  # optional faults to start with
```

Unknown keys are errors; every error names the file and the key path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from routeguard.sim.faults import FaultError, Faults, check_faults, parse_faults
from routeguard.sim.wires import VENDORS

Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=100)]
Port = Annotated[int, Field(ge=0, le=65535, strict=True)]


class SimConfigError(ValueError):
    """A config or timeline file that cannot be used; the message is one line to show."""


class ProviderSpec(BaseModel):
    """One fake provider to run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    flavour: Literal["openai", "anthropic", "gemini"]
    vendor: str = ""
    models: tuple[Annotated[str, StringConstraints(min_length=1)], ...] = Field(min_length=1)
    api_key: str | None = Field(default=None, min_length=1)
    api_key_env: str | None = Field(default=None, min_length=1)
    port: Port = 0
    faults: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.vendor not in VENDORS[self.flavour]:
            known = ", ".join(sorted(v for v in VENDORS[self.flavour] if v))
            raise ValueError(
                f"vendor: {self.vendor!r} is not a {self.flavour} vendor (known: {known})"
            )
        if len(set(self.models)) != len(self.models):
            raise ValueError("models: a model is listed twice")
        if (self.api_key is None) == (self.api_key_env is None):
            raise ValueError("give exactly one of api_key and api_key_env")
        return self

    def key(self, env: Mapping[str, str]) -> str:
        """The API key clients must send (read from `api_key_env` when given)."""
        if self.api_key is not None:
            return self.api_key
        value = env.get(str(self.api_key_env), "")
        if not value:
            raise SimConfigError(f"api_key_env: environment variable {self.api_key_env} is not set")
        return value

    def initial_faults(self) -> Faults:
        """The faults to start with; raises FaultError."""
        faults = parse_faults(self.faults)
        check_faults(faults, self.models, self.flavour, self.vendor)
        return faults


class SimConfig(BaseModel):
    """A whole simulator config file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    providers: tuple[ProviderSpec, ...] = Field(min_length=1)
    admin_port: Port | None = None
    seed: int | None = None

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        names = [p.name for p in self.providers]
        if dup := next((n for n in names if names.count(n) > 1), None):
            raise ValueError(f"providers: two providers are named {dup!r}")
        ports = [p.port for p in self.providers if p.port] + [self.admin_port or 0]
        if dup_port := next((p for p in ports if p and ports.count(p) > 1), None):
            raise ValueError(f"port {dup_port} is given twice")
        return self


def load_sim_config(
    path: str | Path, env: Mapping[str, str] | None = None
) -> tuple[SimConfig, dict[str, str]]:
    """The config in `path` and each provider's key; raises SimConfigError (one line)."""
    doc = read_yaml(path)
    try:
        config = SimConfig.model_validate(doc)
    except ValidationError as exc:
        raise SimConfigError(f"{path}: {describe(exc)}") from None
    keys: dict[str, str] = {}
    for index, spec in enumerate(config.providers):
        try:
            keys[spec.name] = spec.key(os.environ if env is None else env)
            spec.initial_faults()
        except (SimConfigError, FaultError) as exc:
            raise SimConfigError(f"{path}: providers[{index}].{_field_of(exc)}") from None
    return config, keys


def _field_of(exc: Exception) -> str:
    if isinstance(exc, FaultError):
        return f"faults.{exc.field}: {exc.message}" if exc.field else f"faults: {exc.message}"
    return str(exc)


def read_yaml(path: str | Path) -> object:
    """A YAML file's document; raises SimConfigError for a missing or unreadable file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SimConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise SimConfigError(f"{path}: {where}not valid YAML") from None


def describe(exc: ValidationError) -> str:
    """The first problem of a validation error as `key.path: what is wrong`."""
    first = exc.errors()[0]
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] == "too_short":
        message = f"needs at least {first.get('ctx', {}).get('min_length', 1)} item(s)"
    return f"{path}: {message}" if path else message
