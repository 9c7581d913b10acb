"""The LiteLLM plug-in: routeguard's fleet view decides which deployments LiteLLM may
pick, and every call LiteLLM makes teaches the fleet breaker (docs/integrations.md).

`async_filter_deployments` runs before LiteLLM picks a deployment. It takes out the
deployments whose route is unusable (open, half-open with the daemon's trials
deciding, forced open, or locally suspected) and keeps LiteLLM's order otherwise.
When none is usable it returns nothing if the model group has fallbacks (LiteLLM
moves on to them without a doomed attempt), else the whole list (panic: a breaker
that may be wrong must not turn into a certain failure). It never raises into
LiteLLM: without a view it returns the list unchanged and counts it.

`async_log_success_event` / `async_log_failure_event` classify each call with the
route's own codec (`outcomes.py`) and report it through the HealthClient.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import litellm
from litellm.integrations.custom_logger import CustomLogger
from prometheus_client import REGISTRY, CollectorRegistry

from routeguard.client import HealthClient
from routeguard.client.chat import ChatRoute
from routeguard.integrations.litellm.deployments import Deployment, RouteMap
from routeguard.integrations.litellm.metrics import PluginMetrics
from routeguard.integrations.litellm.outcomes import CallFigures, classify_litellm_failure
from routeguard.outcomes import Outcome
from routeguard.providers import Classified

log = logging.getLogger(__name__)
START_WAIT_S = 1.0
"""How long a request waits for the view's first load before going ahead without it."""
PROXY_MODULE = "litellm.proxy.proxy_server"
CALLBACK_LISTS = (
    "callbacks",
    "success_callback",
    "failure_callback",
    "_async_success_callback",
    "_async_failure_callback",
    "input_callback",
    "_async_input_callback",
)
"""LiteLLM's lists a CustomLogger ends up in (it copies `callbacks` into the others)."""


def _unregister(keep: object = None) -> None:
    """Take every RouteguardCallback but `keep` out of LiteLLM's callback lists: LiteLLM
    keeps one instance per class, so a stale one would hide a new one."""
    for name in CALLBACK_LISTS:
        found = getattr(litellm, name, None)
        if isinstance(found, list):
            found[:] = [c for c in found if not isinstance(c, RouteguardCallback) or c is keep]


class RouteguardCallback(CustomLogger):
    """A LiteLLM `CustomLogger` backed by a routeguard `HealthClient`."""

    def __init__(
        self,
        health: HealthClient,
        *,
        registry: CollectorRegistry | None = None,
        owns_health: bool = False,
    ) -> None:
        super().__init__()
        self.health = health
        self.route_map = RouteMap(health.catalog)
        self.metrics = PluginMetrics(registry) if registry is not None else None
        self.router: Any = None
        self._owns_health = owns_health
        self._by_id: dict[str, str] = {}
        self._chat_routes: dict[str, ChatRoute] = {}
        self._start: asyncio.Task[None] | None = None
        self._warned: set[str] = set()

    # -- set-up ------------------------------------------------------------------------

    def check_deployments(self, model_list: Iterable[Mapping[str, Any]]) -> dict[str, str]:
        """Map every deployment to its route; ConfigError naming each that has none."""
        mapped = self.route_map.check(Deployment.of(d) for d in model_list)
        for deployment, route in mapped.items():
            if deployment.deployment_id:
                self._by_id[deployment.deployment_id] = route
        return {d.group: r for d, r in mapped.items()}

    def attach(self, router: Any, *, disable_cooldowns: bool = True) -> RouteguardCallback:
        """Check `router`'s deployments, register with LiteLLM, and (by default) turn
        LiteLLM's own cooldowns off so that one breaker decides, not two."""
        self.check_deployments(router.model_list)
        self.router = router
        if disable_cooldowns:
            router.disable_cooldowns = True
        _unregister(keep=self)  # one plug-in per process: the newest
        litellm.logging_callback_manager.add_litellm_callback(self)
        return self

    @classmethod
    async def for_router(
        cls,
        router: Any,
        health: HealthClient | None = None,
        *,
        disable_cooldowns: bool = True,
        registry: CollectorRegistry | None = REGISTRY,
    ) -> RouteguardCallback:
        """The one line for a Python `Router`: `await RouteguardCallback.for_router(router)`.

        Without `health`, a HealthClient configured from the environment (as the daemon
        is) is made, started and closed by `aclose()`; a `health` passed in is the
        caller's to start and close. The plug-in's counters (and those of the HealthClient
        it makes) go to `registry`: the process's default one unless told otherwise
        (None: no metrics).
        """
        own = health is None
        client = health if health is not None else HealthClient.from_env(registry=registry)
        callback = cls(client, registry=registry, owns_health=own)
        callback.attach(router, disable_cooldowns=disable_cooldowns)
        if own:
            await callback.start()
        return callback

    async def start(self) -> None:
        """Start the HealthClient this plug-in owns (once; later calls wait for it)."""
        if self._start is None:
            self._start = asyncio.create_task(self.health.start())
        await asyncio.shield(self._start)

    async def aclose(self) -> None:
        """Leave LiteLLM's callbacks; stop the HealthClient if this plug-in started it."""
        for name in CALLBACK_LISTS:
            found = getattr(litellm, name, None)
            if isinstance(found, list) and self in found:
                found.remove(self)
        if self._owns_health and self._start is not None:
            await self.health.close()

    # -- before LiteLLM picks ----------------------------------------------------------

    async def async_filter_deployments(
        self,
        model: str,
        healthy_deployments: list[Any],
        messages: Any,
        request_kwargs: dict[str, Any] | None = None,
        parent_otel_span: Any = None,
    ) -> list[Any]:
        try:
            if not await self._view_ready():
                self._fail_open("view_unavailable")
                return healthy_deployments
            return self._filtered(model, healthy_deployments, request_kwargs or {})
        except Exception as exc:  # never into LiteLLM: its list stands
            self._warn_once("filter", f"deployment filter failed, LiteLLM's list kept: {exc!r}")
            self._fail_open("error")
            return healthy_deployments

    async def _view_ready(self) -> bool:
        if self._owns_health and self._start is None:
            self._start = asyncio.create_task(self.health.start())
        if self._start is not None and not self._start.done():
            await asyncio.wait({self._start}, timeout=START_WAIT_S)
        return self.health.staleness_s() != float("inf")

    def _filtered(self, group: str, deployments: list[Any], kwargs: Mapping[str, Any]) -> list[Any]:
        kept, skipped = [], []
        for deployment in deployments:
            route = self._route_of_deployment(deployment)
            if route is not None and self.health.unusable(route) is not None:
                skipped.append(route)
            else:
                kept.append(deployment)
        if kept or not deployments:
            self._count_skipped(skipped, group)
            return kept
        if self._has_fallbacks(group, kwargs):
            self._count_skipped(skipped, group)
            return []
        if self.metrics:
            self.metrics.panics.labels(group).inc()
        return deployments

    def _route_of_deployment(self, deployment: Any) -> str | None:
        """The route of a deployment LiteLLM offers; None (kept, counted) if it has none."""
        raw = deployment if isinstance(deployment, Mapping) else {}
        known = self._by_id.get(str((raw.get("model_info") or {}).get("id") or ""))
        if known is not None:
            return known
        found = Deployment.of(raw)
        try:
            route = self.route_map.route_of(found)
        except Exception as exc:  # added after start-up (LiteLLM's DB or API)
            self._warn_once(found.describe(), f"{exc}; LiteLLM may still pick it")
            self._fail_open("unmapped_deployment")
            return None
        if found.deployment_id:
            self._by_id[found.deployment_id] = route
        return route

    def _has_fallbacks(self, group: str, kwargs: Mapping[str, Any]) -> bool:
        """Would LiteLLM move on to another model group if this one had no deployment?"""
        router = self.router or getattr(sys.modules.get(PROXY_MODULE), "llm_router", None)
        if kwargs.get("fallbacks"):
            return True
        if getattr(router, "default_fallbacks", None):
            return True
        entries = getattr(router, "fallbacks", None) or []
        return any(isinstance(e, Mapping) and e.get(group) for e in entries)

    def _count_skipped(self, routes: list[str], group: str) -> None:
        if not self.metrics:
            return
        for route in routes:
            spec = self.health.catalog.routes[route]
            self.metrics.skipped.labels(spec.provider, spec.model, group).inc()

    # -- after each call ---------------------------------------------------------------

    async def async_log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._report(kwargs, None, start_time, end_time)

    async def async_log_failure_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        exc = kwargs.get("exception")
        if not isinstance(exc, BaseException) and isinstance(response_obj, BaseException):
            exc = response_obj
        self._report(kwargs, exc if isinstance(exc, BaseException) else None, start_time, end_time)

    def _report(
        self, kwargs: Mapping[str, Any], exc: BaseException | None, start: Any, end: Any
    ) -> None:
        try:
            route = self._route_of_call(kwargs)
            if route is None:
                return  # not a deployment LiteLLM chose (e.g. "no deployments available")
            figures = CallFigures.of(kwargs, start, end)
            judged = Classified(Outcome.OK) if exc is None else self._judge(route, exc, kwargs)
            self.health.report(
                route,
                judged.outcome,
                latency_s=figures.latency_s,
                ttft_s=figures.ttft_s,
                retry_after_s=judged.retry_after_s,
            )
        except Exception as exc_report:  # never into LiteLLM
            self._warn_once("report", f"could not report a LiteLLM call: {exc_report!r}")

    def _route_of_call(self, kwargs: Mapping[str, Any]) -> str | None:
        params = kwargs.get("litellm_params") or {}
        info = params.get("model_info") or {}
        return self._by_id.get(str(info.get("id") or ""))

    def _judge(self, route: str, exc: BaseException, kwargs: Mapping[str, Any]) -> Classified:
        chat_route = self._chat_routes.get(route)
        if chat_route is None:
            chat_route = ChatRoute.of(self.health.catalog, route, env={})
            self._chat_routes[route] = chat_route
        params = kwargs.get("litellm_params") or {}
        key = params.get("api_key") or kwargs.get("api_key")
        started = bool(kwargs.get("stream")) and kwargs.get("completion_start_time") is not None
        return classify_litellm_failure(
            exc,
            chat_route,
            stream_started=started,
            api_key=key if isinstance(key, str) else None,
        )

    # -- telling -----------------------------------------------------------------------

    def _fail_open(self, reason: str) -> None:
        if self.metrics:
            self.metrics.fail_open.labels(reason).inc()

    def _warn_once(self, what: str, message: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            log.warning("routeguard LiteLLM plug-in: %s", message)
