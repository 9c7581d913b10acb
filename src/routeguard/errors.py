"""routeguard's exceptions. Every one carries a message fit to show a user as is.

::

    RouteguardError
    ├── ConfigError          the catalog file or the environment is wrong
    ├── RouteError           a malformed or unknown route id
    ├── StateError           an unknown or forbidden breaker state
    └── StoreUnavailable     Redis does not answer (the URL is shown redacted)
"""

from __future__ import annotations


class RouteguardError(Exception):
    """Base class: the message says what is wrong and what to fix."""


class ConfigError(RouteguardError):
    """The catalog file or the ROUTEGUARD_* environment is invalid."""

    def __init__(self, messages: list[str] | str) -> None:
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("\n".join(self.messages))


class RouteError(RouteguardError):
    """A route id that is malformed or not in the catalog."""


class StateError(RouteguardError):
    """A breaker state that does not exist or cannot be set."""


class StoreUnavailable(RouteguardError):
    """The Redis server behind the breaker store does not answer."""
