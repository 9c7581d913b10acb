"""`routeguard run`: the daemon as a process, with signals, logging and traces."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path

import prometheus_client
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.trace import Tracer

from routeguard.config import Settings, load_catalog
from routeguard.daemon.app import Daemon, DaemonOptions
from routeguard.embedded_redis import EmbeddedRedis
from routeguard.errors import ConfigError

log = logging.getLogger("routeguard")
without_created_series: Callable[[], None] = prometheus_client.disable_created_metrics
"""`_created` samples are a quarter of a large catalog's exposition; nothing reads them."""


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)


def tracer_for(settings: Settings) -> Tracer | None:
    """The OTel tracer named by ROUTEGUARD_OTEL_EXPORTER (`console` or none)."""
    exporter = (settings.otel_exporter or "none").lower()
    if exporter == "none":
        return None
    if exporter == "console":
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        return provider.get_tracer("routeguard")
    raise ConfigError(
        f"ROUTEGUARD_OTEL_EXPORTER: unknown exporter {exporter!r}; use console or none"
    )


def options_from(settings: Settings) -> DaemonOptions:
    host, port = settings.http_bind
    token = settings.admin_token.get_secret_value() if settings.admin_token else None
    return DaemonOptions(
        http_host=host,
        http_port=port,
        key_prefix=settings.key_prefix,
        admin_token=token,
        tracer=tracer_for(settings),
    )


async def serve(daemon: Daemon) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await daemon.start()
    except BaseException:  # e.g. the HTTP port is taken: undo what did start, then say why
        await daemon.stop()
        raise
    try:
        await stop.wait()
        log.info("stopping")
    finally:
        await daemon.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def run(settings: Settings, config: Path | None) -> int:
    """Load everything, start (an embedded Redis if no URL is set), serve."""
    configure_logging(settings.log_level)
    path = config or settings.config
    if path is None:
        raise ConfigError(
            "no catalog file: pass --config FILE or set ROUTEGUARD_CONFIG to its path"
        )
    catalog = load_catalog(path)
    options = options_from(settings)
    without_created_series()
    with contextlib.ExitStack() as stack:
        url = settings.redis_url
        if url is None:
            url = stack.enter_context(EmbeddedRedis()).url
            log.warning(
                "no ROUTEGUARD_REDIS_URL: started an embedded Redis at %s "
                "(state is lost when the daemon stops; production points at a real Redis)",
                url,
            )
        asyncio.run(serve(Daemon(catalog, url, options)))
    return 0
