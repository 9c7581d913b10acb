"""routeguard as a LiteLLM plug-in (docs/integrations.md).

In Python, for a `litellm.Router`, one line::

    guard = await RouteguardCallback.for_router(router)

For LiteLLM's proxy server, in its `config.yaml`::

    litellm_settings:
      callbacks: routeguard.integrations.litellm.proxy_handler
"""

from __future__ import annotations

try:
    import litellm  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "routeguard.integrations.litellm needs LiteLLM: pip install 'routeguard[litellm]'"
    ) from exc

from routeguard.integrations.litellm.callback import RouteguardCallback
from routeguard.integrations.litellm.deployments import Deployment, RouteMap
from routeguard.integrations.litellm.outcomes import classify_litellm_failure

__all__ = ["Deployment", "RouteMap", "RouteguardCallback", "classify_litellm_failure"]

_proxy_handler: RouteguardCallback | None = None


def __getattr__(name: str) -> RouteguardCallback:
    """`proxy_handler`: made when LiteLLM's proxy first asks for it, once per process."""
    global _proxy_handler
    if name != "proxy_handler":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _proxy_handler is None:
        from routeguard.integrations.litellm.proxy import proxy_handler

        _proxy_handler = proxy_handler()
    return _proxy_handler
