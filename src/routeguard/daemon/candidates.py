"""`GET /v1/models/{model}/candidates`: the client library's ranking, over HTTP.

A gateway in any language asks the daemon which routes to try for a public
model, with the preferences of `HealthClient.candidates()` as query
parameters. The daemon ranks with the same `rank_candidates`, over a view built
from the breaker states it reads from Redis at request time. It has no local
suspicion and no latency or throughput samples of user traffic, so
`sort=latency|throughput` (and `price`: no prices are configured) keep the
catalog's order among the healthy routes (docs/daemon.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from routeguard.breaker.types import RouteStatus
from routeguard.client.candidates import Candidates, Preferences, Sort, rank_candidates
from routeguard.client.view import LocalView
from routeguard.config import Catalog
from routeguard.errors import RouteError, RouteguardError
from routeguard.routes import model_of, provider_of
from routeguard.status_view import iso_ms

PARAMETERS = ("order", "only", "ignore", "allow_fallbacks", "sort")
_BOOLEANS = {"true": True, "false": False}


class BadParameter(RouteguardError):
    """A query parameter the endpoint cannot use; the message names it."""


def routes_of(catalog: Catalog, model: str) -> tuple[str, ...]:
    """The public model's routes in failover order; RouteError when it is not in the catalog."""
    found = catalog.models.get(model)
    if found is None:
        known = ", ".join(sorted(catalog.models)[:10]) or "none"
        raise RouteError(f"unknown model {model!r}: models in the catalog are {known}")
    return found


def parse_preferences(catalog: Catalog, query: Mapping[str, str], keys: list[str]) -> Preferences:
    """Preferences from the query string (`keys`: every name given, repeats included)."""
    for name in keys:
        if name not in PARAMETERS:
            raise BadParameter(
                f"unknown parameter {name!r}: use {', '.join(PARAMETERS)} "
                "(order, only, ignore: comma-separated provider names)"
            )
        if keys.count(name) > 1:
            raise BadParameter(f"{name} is given more than once: give it once, comma-separated")
    lists = {
        name: _providers(catalog, name, query.get(name)) for name in ("order", "only", "ignore")
    }
    fallbacks = query.get("allow_fallbacks", "true")
    if fallbacks.lower() not in _BOOLEANS:
        raise BadParameter(f"allow_fallbacks must be true or false, not {fallbacks!r}")
    sort_text = query.get("sort")
    try:
        sort = Sort(sort_text) if sort_text is not None else None
    except ValueError:
        choices = ", ".join(s.value for s in Sort)
        raise BadParameter(f"sort must be one of {choices}, not {sort_text!r}") from None
    return Preferences(
        order=lists["order"],
        only=lists["only"],
        ignore=lists["ignore"],
        allow_fallbacks=_BOOLEANS[fallbacks.lower()],
        sort=sort,
    )


def _providers(catalog: Catalog, name: str, raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    names = [p.strip() for p in raw.split(",") if p.strip()]
    if not names:
        raise BadParameter(f"{name} is empty: name at least one provider, comma-separated")
    unknown = [p for p in names if p not in catalog.providers]
    if unknown:
        known = ", ".join(catalog.providers) or "none"
        raise BadParameter(
            f"{name}: unknown provider {unknown[0]!r}: providers in the catalog are {known}"
        )
    return names


def rank_from_store(
    routes: tuple[str, ...], statuses: list[RouteStatus], prefs: Preferences
) -> tuple[Candidates, LocalView]:
    """Rank `routes` over a view of `statuses` (a read of every route, with Redis time)."""
    view = LocalView(s.route for s in statuses)
    now_ms = statuses[0].now_ms if statuses else 0
    # A fresh view takes the read as it is; its clock offset makes redis_now_ms() Redis time.
    view.resync(statuses, now_ms, authoritative=True)
    answer = rank_candidates(
        routes,
        view.routes,
        prefs,
        now_ms=view.redis_now_ms(),
        suspected=lambda _route: False,  # no user traffic here: no local suspicion
    )
    return answer, view


def candidates_body(
    model: str, answer: Candidates, view: LocalView, statuses: list[RouteStatus]
) -> dict[str, Any]:
    """The JSON answer: the candidates in order, what was skipped and why, panic, as_of."""
    now_ms = statuses[0].now_ms if statuses else 0
    return {
        "model": model,
        "candidates": [
            {
                "route": route,
                "provider": provider_of(route),
                "model": model_of(route),
                "state": view[route].state.value,
            }
            for route in answer
        ],
        "skipped": answer.skipped,
        "panic": answer.panic,
        "as_of": iso_ms(now_ms),
    }
