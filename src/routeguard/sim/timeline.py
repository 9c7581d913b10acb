"""Scripted fault timelines: a YAML list of fault changes at offsets from the start.

```yaml
- {at: 5,  provider: anthropic-sim, faults: {down: true}}
- {at: 20, provider: anthropic-sim, faults: {}}                     # healthy again
- {at: 30, provider: openai-sim, model: gpt-4o-mini, faults: {error_rate: 0.5}}
```

An entry without `model` replaces the provider's faults; with `model`, only that
model's override (`faults: {}` removes it). Entries run in the order of `at`
(seconds, fractions allowed), ties in file order. Every error names the file, the
entry index and the key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from routeguard.sim.config import SimConfigError, describe, read_yaml
from routeguard.sim.faults import (
    FaultError,
    Faults,
    check_faults,
    parse_faults,
    parse_model_faults,
)
from routeguard.sim.server import SimProvider

log = logging.getLogger(__name__)


class Described(Protocol):
    """What validating an entry needs to know of a provider (a SimProvider or a spec)."""

    @property
    def flavour(self) -> str: ...
    @property
    def vendor(self) -> str: ...
    @property
    def models(self) -> Sequence[str]: ...


class TimelineEntry(BaseModel):
    """One fault change."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: Annotated[float, Strict(), Field(ge=0.0, le=7 * 86_400.0)]
    provider: str
    model: str | None = None
    faults: dict[str, Any]


@dataclass(frozen=True)
class Timeline:
    """A validated timeline, sorted by `at`."""

    entries: tuple[TimelineEntry, ...]
    source: str = "<timeline>"

    @property
    def duration_s(self) -> float:
        """Offset of the last entry."""
        return self.entries[-1].at if self.entries else 0.0


def load_timeline(path: str | Path, providers: Mapping[str, Described] | None = None) -> Timeline:
    """The timeline in `path`, checked against `providers` when given; raises SimConfigError."""
    return parse_timeline(read_yaml(path), str(path), providers)


def parse_timeline(
    doc: object, source: str = "<timeline>", providers: Mapping[str, Described] | None = None
) -> Timeline:
    """A timeline from its YAML document; raises SimConfigError naming file, entry and key."""
    if doc is None:
        doc = []
    if not isinstance(doc, list):
        raise SimConfigError(
            f"{source}: a timeline is a list of entries ({{at, provider, faults}})"
        )
    entries = [_entry(item, index, source, providers) for index, item in enumerate(doc)]
    order = sorted(range(len(entries)), key=lambda i: (entries[i].at, i))
    return Timeline(tuple(entries[i] for i in order), source)


def _entry(
    item: object, index: int, source: str, providers: Mapping[str, Described] | None
) -> TimelineEntry:
    where = f"{source}: entry {index}"
    try:
        entry = TimelineEntry.model_validate(item)
    except ValidationError as exc:
        raise SimConfigError(f"{where}: {describe(exc)}") from None
    try:
        faults = entry_faults(entry)
        if providers is not None:
            _check(entry, faults, providers)
    except FaultError as exc:
        key = f"faults.{exc.field}" if exc.field else "faults"
        raise SimConfigError(f"{where}: {key}: {exc.message}") from None
    except KeyError as exc:
        raise SimConfigError(f"{where}: {exc.args[0]}") from None
    return entry


def entry_faults(entry: TimelineEntry) -> Faults:
    """What the entry sets, as a provider's faults (a model entry: an override of that model)."""
    if entry.model is None:
        return parse_faults(entry.faults)
    if not entry.faults:
        return Faults()
    return Faults(models={entry.model: parse_model_faults(entry.faults)})


def _check(entry: TimelineEntry, faults: Faults, providers: Mapping[str, Described]) -> None:
    described = providers.get(entry.provider)
    if described is None:
        known = ", ".join(sorted(providers))
        raise KeyError(f"provider: no provider named {entry.provider!r} (known: {known})")
    if entry.model is not None and entry.model not in described.models:
        known = ", ".join(described.models)
        raise KeyError(
            f"model: provider {entry.provider!r} has no model {entry.model!r} (it has: {known})"
        )
    try:
        check_faults(faults, described.models, described.flavour, described.vendor)
    except FaultError as exc:
        raise FaultError(exc.field.removeprefix(f"models.{entry.model}."), exc.message) from None


@dataclass
class Applied:
    """One entry as the player applied it."""

    entry: TimelineEntry
    elapsed_s: float  # when it was applied, from the start
    error: str = ""  # why it could not be applied ("" when it was)


@dataclass
class TimelinePlayer:
    """Applies a timeline's entries to live providers at their offsets."""

    providers: Mapping[str, SimProvider]
    timeline: Timeline
    applied: list[Applied] = field(default_factory=list)

    async def run(self) -> None:
        """Apply every entry at its time; returns after the last one."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for entry in self.timeline.entries:
            wait = start + entry.at - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            error = await self._apply(entry)
            self.applied.append(Applied(entry, loop.time() - start, error))

    def start(self) -> asyncio.Task[None]:
        """Run in a task (cancel it to stop early)."""
        return asyncio.get_running_loop().create_task(self.run(), name="routeguard-sim-timeline")

    async def _apply(self, entry: TimelineEntry) -> str:
        provider = self.providers.get(entry.provider)
        if provider is None:
            return f"no provider named {entry.provider!r}"
        try:
            if entry.model is None:
                await provider.set_faults(entry.faults)
            else:
                await provider.set_model_faults(entry.model, entry.faults)
        except (FaultError, OSError) as exc:
            log.warning(
                "timeline %s: at %ss, %s: %s", self.timeline.source, entry.at, entry.provider, exc
            )
            return str(exc)
        log.info(
            "timeline: at %ss, %s%s: faults %s",
            entry.at,
            entry.provider,
            f"/{entry.model}" if entry.model else "",
            entry.faults or "cleared",
        )
        return ""
