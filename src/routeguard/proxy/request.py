"""A caller's chat.completions request, read and checked before any provider sees it.

Besides OpenAI's fields the proxy reads OpenRouter's routing fields: `models`
(public models to fall back to, in order) and `provider` (`order`, `only`,
`ignore`, `allow_fallbacks`, `sort`). Anything wrong is one 4xx in OpenAI's
shape naming the field; nothing is sent and nothing is reported.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from routeguard.client.candidates import Sort
from routeguard.proxy.errors import ProxyError, bad_request
from routeguard.translate import check_chat_body

PROXY_FIELDS = ("models", "provider")
"""Fields the proxy reads and never forwards."""
PROVIDER_KEYS = ("order", "only", "ignore", "allow_fallbacks", "sort")
MAX_FALLBACK_MODELS = 8


@dataclass(frozen=True)
class RoutingPreferences:
    """OpenRouter's `provider` object: which providers, in which order."""

    order: tuple[str, ...] | None = None
    only: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    allow_fallbacks: bool = True
    sort: Sort | None = None

    def as_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of `HealthClient.candidates()`."""
        return {
            "order": self.order,
            "only": self.only,
            "ignore": self.ignore,
            "allow_fallbacks": self.allow_fallbacks,
            "sort": self.sort,
        }


@dataclass(frozen=True)
class ChatCall:
    """One checked request: what to send, and where it may go."""

    chat: dict[str, Any]
    """The OpenAI body without the proxy's own fields."""
    models: tuple[str, ...]
    """The requested public model, then its fallbacks."""
    preferences: RoutingPreferences
    stream: bool
    include_usage: bool


def read_chat_call(raw: bytes, known_models: Collection[str]) -> ChatCall:
    """The checked request; ProxyError (400, or 404 for an unknown model) if it is wrong."""
    body = _json_object(raw)
    models = _models(body, known_models)
    problems = check_chat_body({k: v for k, v in body.items() if k not in PROXY_FIELDS})
    if problems:
        raise bad_request("; ".join(problems))
    options = body.get("stream_options")
    include_usage = isinstance(options, Mapping) and options.get("include_usage") is True
    return ChatCall(
        chat={k: v for k, v in body.items() if k not in PROXY_FIELDS},
        models=models,
        preferences=_preferences(body.get("provider")),
        stream=body.get("stream") is True,
        include_usage=include_usage,
    )


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: [[[[… nested too deep to parse
        raise bad_request("the body is not valid JSON; send a chat.completions object") from None
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object with model and messages")
    return body


def _models(body: Mapping[str, Any], known: Collection[str]) -> tuple[str, ...]:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("model is required: one of GET /v1/models", param="model")
    fallbacks = body.get("models", [])
    if not isinstance(fallbacks, list) or not all(isinstance(m, str) for m in fallbacks):
        raise bad_request("models must be a list of model names", param="models")
    if len(fallbacks) > MAX_FALLBACK_MODELS:
        raise bad_request(f"models lists at most {MAX_FALLBACK_MODELS} fallbacks", param="models")
    names = tuple(dict.fromkeys([model, *fallbacks]))
    for name in names:
        if name not in known:
            raise ProxyError(
                404,
                f"the model {name!r} does not exist here: GET /v1/models lists them",
                param="model",
                code="model_not_found",
            )
    return names


def _preferences(raw: Any) -> RoutingPreferences:
    if raw is None:
        return RoutingPreferences()
    if not isinstance(raw, dict):
        raise bad_request("provider must be an object", param="provider")
    for key in raw:
        if key not in PROVIDER_KEYS:
            raise bad_request(
                f"provider.{key} is not supported; use {', '.join(PROVIDER_KEYS)}",
                param=f"provider.{key}",
            )
    allow = raw.get("allow_fallbacks", True)
    if not isinstance(allow, bool):
        raise bad_request("provider.allow_fallbacks must be true or false", "provider")
    return RoutingPreferences(
        order=_names(raw, "order"),
        only=_names(raw, "only"),
        ignore=_names(raw, "ignore"),
        allow_fallbacks=allow,
        sort=_sort(raw.get("sort")),
    )


def _names(raw: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise bad_request(f"provider.{key} must be a list of provider names", f"provider.{key}")
    return tuple(value)


def _sort(value: Any) -> Sort | None:
    if value is None:
        return None
    try:
        return Sort(value)
    except ValueError:
        choices = ", ".join(s.value for s in Sort)
        raise bad_request(f"provider.sort must be one of {choices}", "provider.sort") from None
