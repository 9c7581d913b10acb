"""Many simulated providers in one event loop, with the admin API beside them.

```python
async with SimCluster([openai_spec, anthropic_spec], seed=7) as cluster:
    cluster["openai-sim"].base_url       # http://127.0.0.1:PORT/v1
    await cluster["openai-sim"].down()   # connections refused
    cluster.admin_url                    # http://127.0.0.1:PORT/admin
```
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from random import Random
from types import TracebackType

from routeguard.sim.admin import AdminServer
from routeguard.sim.config import ProviderSpec, SimConfig
from routeguard.sim.server import SimProvider


class SimCluster(Mapping[str, SimProvider]):
    """Simulated providers by name; starts and stops them (and the admin API) together."""

    def __init__(
        self,
        providers: Iterable[SimProvider | ProviderSpec],
        *,
        keys: Mapping[str, str] | None = None,
        admin: bool = True,
        admin_port: int = 0,
        seed: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`keys` gives the API key of specs that name an `api_key_env` (by provider name)."""
        self._providers: dict[str, SimProvider] = {}
        for item in providers:
            provider = item if isinstance(item, SimProvider) else _build(item, keys, seed, clock)
            if provider.name in self._providers:
                raise ValueError(f"two providers are named {provider.name!r}")
            self._providers[provider.name] = provider
        self.admin = AdminServer(self._providers, port=admin_port) if admin else None

    @classmethod
    def from_config(
        cls,
        config: SimConfig,
        keys: Mapping[str, str],
        *,
        admin_port: int | None = None,
        seed: int | None = None,
    ) -> SimCluster:
        """The cluster a sim config file describes (keys from `load_sim_config`); the
        arguments, when given, win over the file's `admin_port` and `seed`."""
        port = admin_port if admin_port is not None else config.admin_port or 0
        return cls(
            config.providers,
            keys=keys,
            admin_port=port,
            seed=seed if seed is not None else config.seed,
        )

    def __getitem__(self, name: str) -> SimProvider:
        return self._providers[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._providers)

    def __len__(self) -> int:
        return len(self._providers)

    @property
    def admin_url(self) -> str:
        """Base URL of the admin API (`…/admin`); '' when the cluster has none."""
        return self.admin.url if self.admin is not None else ""

    async def start(self) -> None:
        """Start every provider, then the admin API; on failure, stop what started."""
        try:
            await asyncio.gather(*(p.start() for p in self._providers.values()))
            if self.admin is not None:
                await self.admin.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop the admin API and every provider."""
        if self.admin is not None:
            await self.admin.stop()
        await asyncio.gather(*(p.stop() for p in self._providers.values()))

    async def reset(self) -> None:
        """Every provider healthy, up and with zeroed counts."""
        await asyncio.gather(*(p.reset() for p in self._providers.values()))

    async def __aenter__(self) -> SimCluster:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


def _build(
    spec: ProviderSpec,
    keys: Mapping[str, str] | None,
    seed: int | None,
    clock: Callable[[], float],
) -> SimProvider:
    key = spec.api_key if spec.api_key is not None else (keys or {}).get(spec.name, "")
    if not key:
        raise ValueError(f"provider {spec.name!r}: no API key (pass keys= for api_key_env)")
    return SimProvider(
        spec.name,
        spec.flavour,
        spec.models,
        key,
        spec.vendor,
        port=spec.port,
        faults=spec.initial_faults(),
        rng=Random(f"{seed}:{spec.name}") if seed is not None else Random(),
        clock=clock,
    )
