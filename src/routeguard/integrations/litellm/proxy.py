"""The plug-in as LiteLLM's proxy server loads it, from its `config.yaml`:

```yaml
litellm_settings:
  callbacks: routeguard.integrations.litellm.proxy_handler
router_settings:
  disable_cooldowns: true
```

The HealthClient is configured from the environment, as the daemon is
(ROUTEGUARD_REDIS_URL, ROUTEGUARD_CONFIG, ROUTEGUARD_KEY_PREFIX), and starts with the
first request. The proxy's `model_list` is checked while the proxy loads its config:
a deployment without a route stops the start-up with one message saying what to add.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import REGISTRY

from routeguard.client import HealthClient
from routeguard.errors import ConfigError
from routeguard.integrations.litellm.callback import PROXY_MODULE, RouteguardCallback

log = logging.getLogger(__name__)
CONFIG_PATH_ENV = "CONFIG_FILE_PATH"
"""Where LiteLLM's proxy reads its config file from when `--config` is not given."""


def proxy_handler() -> RouteguardCallback:
    """A plug-in for the proxy being started, its deployments checked; metrics on the
    process's default registry (the proxy's `/metrics` when Prometheus is enabled)."""
    health = HealthClient.from_env(registry=REGISTRY)
    callback = RouteguardCallback(health, registry=REGISTRY, owns_health=True)
    try:
        model_list = proxy_model_list()
        if model_list:
            callback.check_deployments(model_list)
    except ConfigError as exc:  # LiteLLM prints a traceback: say it plainly first
        log.error("routeguard plug-in refuses LiteLLM's config: %s", exc)
        raise
    return callback


def proxy_model_list() -> list[Mapping[str, Any]] | None:
    """The `model_list` of the config file LiteLLM's proxy is loading, if it is loading one."""
    server = sys.modules.get(PROXY_MODULE)
    path = getattr(server, "user_config_file_path", None) or os.environ.get(CONFIG_PATH_ENV)
    if not path:
        return None
    try:
        document = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"{path}: cannot read LiteLLM's config to check its model_list: {exc}"
        ) from None
    entries = document.get("model_list") if isinstance(document, Mapping) else None
    return [e for e in entries if isinstance(e, Mapping)] if isinstance(entries, list) else None
