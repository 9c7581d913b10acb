"""Route ids: `provider/model`, the name of the unit of health, breaker and SLA.

The provider is the first segment; the upstream model is everything after the
first `/` and may itself contain `/` (`together/meta-llama/Meta-Llama-3.1-70B-Instruct-Turbo`).
Every part of routeguard that reads a route id (the catalog, the CLI, the HTTP
API) parses it here, so they all accept and reject the same ids.
"""

from __future__ import annotations

import re

from routeguard.errors import RouteError

MAX_ROUTE_ID_LENGTH = 256
PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]*")
PROVIDER_NAME_RULE = "lowercase letters, digits, '_', '.' and '-', starting with a letter or digit"
_EXAMPLE = "write it as provider/model, e.g. openai/gpt-4o-mini"


def parse_route_id(route_id: str) -> tuple[str, str]:
    """Split `route_id` into (provider, model); raise RouteError if it is malformed."""
    if not isinstance(route_id, str):
        raise RouteError(f"a route id must be text, not {type(route_id).__name__}; {_EXAMPLE}")
    if not route_id:
        raise RouteError(f"the route id is empty; {_EXAMPLE}")
    shown = _shown(route_id)
    if len(route_id) > MAX_ROUTE_ID_LENGTH:
        raise RouteError(
            f"route id {shown} is {len(route_id)} characters long; "
            f"the limit is {MAX_ROUTE_ID_LENGTH}"
        )
    if any(c.isspace() or not c.isprintable() for c in route_id):
        raise RouteError(f"route id {shown} contains whitespace or a control character; remove it")
    provider, slash, model = route_id.partition("/")
    if not slash:
        raise RouteError(f"route id {shown} has no '/'; {_EXAMPLE}")
    if not provider:
        raise RouteError(f"route id {shown} has an empty provider; {_EXAMPLE}")
    if not model:
        raise RouteError(f"route id {shown} has an empty model; {_EXAMPLE}")
    if not PROVIDER_NAME.fullmatch(provider):
        raise RouteError(f"route id {shown}: provider {provider!r} must be {PROVIDER_NAME_RULE}")
    if model.startswith("/") or model.endswith("/") or "//" in model:
        raise RouteError(f"route id {shown}: model {model!r} has an empty '/' segment")
    return provider, model


def provider_of(route_id: str) -> str:
    """The provider of a route id already parsed once (the catalog's): no checks."""
    return route_id.partition("/")[0]


def model_of(route_id: str) -> str:
    """The upstream model of a route id already parsed once (the catalog's): no checks."""
    return route_id.partition("/")[2]


def route_id(provider: str, model: str) -> str:
    """The route id of (provider, model); raise RouteError if the two do not make one."""
    joined = f"{provider}/{model}"
    if parse_route_id(joined) != (provider, model):
        raise RouteError(f"provider {provider!r} must not contain '/'")
    return joined


def _shown(route_id: str) -> str:
    """`route_id` quoted for a message, cut short if very long."""
    if len(route_id) > 80:
        return repr(route_id[:77] + "...")
    return repr(route_id)
