"""Process settings from `ROUTEGUARD_*` environment variables (docs/configuration.md).

These say where things are (Redis, the catalog file, the HTTP bind) and how the
process behaves (log level, tracing); what is monitored lives in the catalog.
`load_settings()` turns every problem into one `ConfigError` line naming the
variable, and never echoes the admin token or a password inside a URL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import PositiveFloat, SecretStr, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from routeguard.errors import ConfigError
from routeguard.redact import redact_url
from routeguard.redis_url import parse_redis_url

ENV_PREFIX = "ROUTEGUARD_"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
_URL_FIELDS = frozenset({"redis_url", "otel_exporter"})


class Settings(BaseSettings):
    """Where routeguard finds its parts, read from `ROUTEGUARD_<NAME>` variables."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True)

    redis_url: str | None = None  # None: `run` and `demo` start an embedded Redis
    config: Path | None = None  # the catalog YAML file
    http_addr: str = "127.0.0.1:9477"  # HOST:PORT of /metrics, /healthz, /v1/*
    admin_token: SecretStr | None = None  # bearer token for POST /v1/routes/.../force
    key_prefix: str = "routeguard"  # hash tag of every Redis key: {routeguard}:...
    log_level: LogLevel = "INFO"
    otel_exporter: str | None = None  # where OpenTelemetry spans go; None: no tracing
    proxy_addr: str = "127.0.0.1:9478"  # HOST:PORT of `routeguard proxy`
    proxy_api_keys: SecretStr | None = None  # comma-separated caller keys; None: loopback only
    proxy_connect_timeout_s: PositiveFloat = 5.0  # a route that does not accept by then: next
    proxy_first_byte_timeout_s: PositiveFloat = 120.0  # no answer begun by then: next route
    proxy_stream_idle_timeout_s: PositiveFloat = 30.0  # no output for this long mid-stream: ended

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value is not None:
            parse_redis_url(value)  # ValueError: the form's rule, with the URL redacted
        return value

    @field_validator("http_addr", "proxy_addr")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        # isdecimal() alone would take Arabic-Indic digits ('٣٣' is port 33).
        if not host or not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
            raise ValueError("must be HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:9477")
        return value

    @field_validator("admin_token")
    @classmethod
    def _token_one_word(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and any(c.isspace() for c in value.get_secret_value()):
            raise ValueError("must not contain whitespace (a trailing newline from a file?)")
        return value

    @field_validator("proxy_api_keys")
    @classmethod
    def _keys_listed(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            keys = value.get_secret_value().split(",")
            if any(not key.strip() or key.strip() != key for key in keys):
                raise ValueError("must be keys separated by commas, without spaces or empty keys")
        return value

    @field_validator("key_prefix")
    @classmethod
    def _hash_tag_safe(cls, value: str) -> str:
        # The prefix becomes the Redis Cluster hash tag `{prefix}` (breaker/keys.py).
        if not value:
            raise ValueError("must not be empty")
        if "{" in value or "}" in value:
            raise ValueError("must not contain '{' or '}'")
        if any(c.isspace() for c in value):
            raise ValueError("must not contain whitespace")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # repr() and str() show URLs with their passwords masked (the token is a SecretStr).
        for name, value in super().__repr_args__():
            if name in _URL_FIELDS and isinstance(value, str):
                value = redact_url(value)
            yield name, value

    @property
    def http_bind(self) -> tuple[str, int]:
        """`http_addr` as (host, port); IPv6 hosts lose their brackets."""
        return _bind(self.http_addr)

    @property
    def proxy_bind(self) -> tuple[str, int]:
        """`proxy_addr` as (host, port)."""
        return _bind(self.proxy_addr)

    @property
    def proxy_keys(self) -> tuple[str, ...]:
        """The caller keys the proxy accepts; () when none is set (loopback only)."""
        if self.proxy_api_keys is None:
            return ()
        return tuple(self.proxy_api_keys.get_secret_value().split(","))


def _bind(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    return host.strip("[]"), int(port)


class _MappingSettings(Settings):
    """Settings from the keyword arguments only: `load_settings` reads the mapping itself."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)

    def __repr_name__(self) -> str:
        return "Settings"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from `env` (default: the process environment); ConfigError if invalid.

    Variable names are matched case-insensitively; empty values count as unset.
    """
    values = _values(os.environ if env is None else env)
    try:
        return _MappingSettings(**values)
    except ValidationError as exc:
        raise ConfigError([_message(error) for error in exc.errors()]) from None


def env_var(field: str) -> str:
    """The environment variable of settings field `field`: `key_prefix` -> ROUTEGUARD_KEY_PREFIX."""
    return ENV_PREFIX + field.upper()


def _values(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in env.items():
        field = name[len(ENV_PREFIX) :].lower()
        if name.upper().startswith(ENV_PREFIX) and field in Settings.model_fields and value:
            values[field] = value
    return values


def _message(error: ErrorDetails) -> str:
    field = str(error["loc"][0]) if error["loc"] else ""
    if error["type"] == "literal_error":
        expected = str(error.get("ctx", {}).get("expected", "")).replace("'", "")
        what = f"must be one of {expected.replace(' or ', ', ')}"
    else:
        what = str(error["msg"]).removeprefix("Value error, ")
    return f"{env_var(field)}: {what} ({_shown(field, error['input'])})"


def _shown(field: str, value: Any) -> str:
    if field in ("admin_token", "proxy_api_keys"):
        return "value not shown"
    if isinstance(value, SecretStr):
        return "value not shown"
    text = str(value)
    if field in _URL_FIELDS:
        text = redact_url(text)
    return f"got {text!r}"
