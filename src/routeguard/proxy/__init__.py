"""`routeguard proxy`: an OpenAI-compatible endpoint in front of every route, with failover."""

from routeguard.proxy.app import ProxyContext, build_app
from routeguard.proxy.forward import Forwarder, Timeouts

__all__ = ["Forwarder", "ProxyContext", "Timeouts", "build_app"]
