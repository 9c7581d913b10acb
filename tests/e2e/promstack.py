"""A real Prometheus and Alertmanager for end-to-end tests (README, `make test`).

`PromStack` starts the Debian `prometheus` and `prometheus-alertmanager`
binaries on free loopback ports, each with its own temporary storage:
Prometheus evaluates the shipped rules (every `alerts/*.yaml` that holds rule
groups) with a 5 s scrape and evaluation interval, as deploy/prometheus does,
and sends alerts to the Alertmanager, whose only receiver is a webhook to a
local aiohttp server (`WebhookReceiver`) that keeps every notification.

Tests add their scrape targets at run time (`set_targets`): Prometheus reads
them from file_sd files, so one Prometheus serves every test of a session.
Scraped targets live in the test's own event loop; the receiver runs in a
thread of its own, because Alertmanager is configured before any test starts.

    daemon, worker (test loop) <-scrape- Prometheus -alerts-> Alertmanager
                                                                  | webhook
                                                   WebhookReceiver (thread)
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from aiohttp import web

REPO = Path(__file__).resolve().parents[2]
SCRAPE_INTERVAL = "5s"
EVALUATION_INTERVAL = "5s"
READY_TIMEOUT_S = 45.0
PROMETHEUS_NAMES = ("prometheus",)
ALERTMANAGER_NAMES = ("prometheus-alertmanager", "alertmanager")

API_POLL_S = 0.25  # a wait that asks Prometheus: one API query a poll is plenty


class StackError(RuntimeError):
    """Prometheus or Alertmanager did not start, or answered with an error."""


def find_binaries() -> tuple[str | None, str | None]:
    """Paths of the Prometheus and Alertmanager binaries (None: not installed)."""

    def first(names: Iterable[str]) -> str | None:
        return next((path for name in names if (path := shutil.which(name))), None)

    return first(PROMETHEUS_NAMES), first(ALERTMANAGER_NAMES)


def missing_reason() -> str | None:
    """Why the stack cannot run here, or None when both binaries are installed."""
    prometheus, alertmanager = find_binaries()
    missing = [
        package
        for package, path in (("prometheus", prometheus), ("prometheus-alertmanager", alertmanager))
        if path is None
    ]
    if not missing:
        return None
    return (
        f"{' and '.join(missing)} not installed (Debian packages of the same names; "
        "CI installs them): the end-to-end tests with a real Prometheus cannot run"
    )


def shipped_rule_files(alerts_dir: Path = REPO / "alerts") -> list[Path]:
    """Every rule file under alerts/ (YAML with top-level `groups`), sorted."""
    found = []
    for path in sorted(alerts_dir.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if isinstance(doc, dict) and "groups" in doc:
            found.append(path)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ManagedProcess:
    """One server binary: started, waited for (/-/ready), stopped, its log kept."""

    def __init__(self, name: str, argv: list[str], url: str, log_path: Path) -> None:
        self.name, self.argv, self.url, self.log_path = name, argv, url, log_path
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def wait_ready(self, deadline: float) -> None:
        assert self._proc is not None
        with httpx.Client(timeout=1.0) as client:
            while True:
                if self._proc.poll() is not None:
                    raise StackError(
                        f"{self.name} exited with status {self._proc.returncode} before it was "
                        f"ready\n{self.log_tail()}"
                    )
                try:
                    if client.get(f"{self.url}/-/ready").status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise StackError(
                        f"{self.name} not ready at {self.url}/-/ready\n{self.log_tail()}"
                    )
                time.sleep(0.1)

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=5)

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return f"({self.name}: no log at {self.log_path})"
        tail = text.splitlines()[-lines:]
        return f"--- {self.name} log ({self.log_path}), last {len(tail)} lines ---\n" + "\n".join(
            tail
        )


@dataclass(frozen=True)
class Notification:
    """One webhook call from Alertmanager, with when it arrived (time.monotonic)."""

    received_at: float
    payload: dict[str, Any]

    def alerts(self, alertname: str, status: str, **labels: str) -> list[dict[str, Any]]:
        """The payload's alerts named `alertname` with `status` and these labels."""
        return [
            alert
            for alert in self.payload.get("alerts", [])
            if alert.get("status") == status
            and alert.get("labels", {}).get("alertname") == alertname
            and all(alert["labels"].get(k) == v for k, v in labels.items())
        ]


class WebhookReceiver:
    """Alertmanager's webhook target: an aiohttp server in a thread of its own."""

    PATH = "/alertmanager"

    def __init__(self) -> None:
        self.url = ""
        self._lock = threading.Lock()
        self._received: list[Notification] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def start(self) -> None:
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="alertmanager-webhook", daemon=True)
        self._thread.start()
        if not started.wait(timeout=10) or failure:
            raise StackError(f"the webhook receiver did not start: {failure}")

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post(self.PATH, self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}{self.PATH}"

    async def _handle(self, request: web.Request) -> web.Response:
        payload = await request.json()
        with self._lock:
            self._received.append(Notification(time.monotonic(), payload))
        return web.Response(status=200)

    async def _cleanup(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def received(self) -> list[Notification]:
        with self._lock:
            return list(self._received)

    def first(
        self, alertname: str, status: str, *, since: float = 0.0, **labels: str
    ) -> Notification | None:
        """The first notification since `since` (time.monotonic) carrying that alert."""
        return next(
            (
                n
                for n in self.received()
                if n.received_at >= since and n.alerts(alertname, status, **labels)
            ),
            None,
        )


def prometheus_config(
    rule_files: list[Path], alertmanager: str, targets_dir: Path
) -> dict[str, Any]:
    return {
        "global": {
            "scrape_interval": SCRAPE_INTERVAL,
            "scrape_timeout": "4s",
            "evaluation_interval": EVALUATION_INTERVAL,
        },
        "rule_files": [str(path) for path in rule_files],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [
            {
                "job_name": "routeguard",
                "metrics_path": "/metrics",
                # fsnotify picks up a changed file at once; the refresh is a fallback.
                "file_sd_configs": [
                    {"files": [str(targets_dir / "*.json")], "refresh_interval": "2s"}
                ],
            }
        ],
    }


def alertmanager_config(webhook_url: str) -> dict[str, Any]:
    # One receiver, short waits, no inhibition: the test follows one alert's
    # path end to end (the shipped routing and inhibition are checked by amtool
    # and the config tests).
    return {
        "route": {
            "receiver": "test",
            "group_by": ["alertname", "provider", "model"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {"name": "test", "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}
        ],
    }


@dataclass
class PromStack:
    """Prometheus + Alertmanager + webhook receiver, for one test session."""

    workdir: Path
    rule_files: list[Path]
    receiver: WebhookReceiver = field(default_factory=WebhookReceiver)
    prometheus_url: str = ""
    alertmanager_url: str = ""
    started_at: float = 0.0
    _processes: list[ManagedProcess] = field(default_factory=list)

    @property
    def targets_dir(self) -> Path:
        return self.workdir / "targets"

    def start(self) -> None:
        prometheus_bin, alertmanager_bin = find_binaries()
        if prometheus_bin is None or alertmanager_bin is None:
            raise StackError(missing_reason() or "binaries missing")
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        self.receiver.start()
        am_port, prom_port = free_port(), free_port()
        while prom_port == am_port:
            prom_port = free_port()
        self.alertmanager_url = f"http://127.0.0.1:{am_port}"
        self.prometheus_url = f"http://127.0.0.1:{prom_port}"
        am_config = self.workdir / "alertmanager.yml"
        am_config.write_text(yaml.safe_dump(alertmanager_config(self.receiver.url)))
        prom_config = self.workdir / "prometheus.yml"
        prom_config.write_text(
            yaml.safe_dump(
                prometheus_config(self.rule_files, f"127.0.0.1:{am_port}", self.targets_dir)
            )
        )
        alertmanager = ManagedProcess(
            "alertmanager",
            [
                alertmanager_bin,
                f"--config.file={am_config}",
                f"--storage.path={self.workdir / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",  # one instance: no gossip port
                "--log.level=info",
            ],
            self.alertmanager_url,
            self.workdir / "alertmanager.log",
        )
        prometheus = ManagedProcess(
            "prometheus",
            [
                prometheus_bin,
                f"--config.file={prom_config}",
                f"--storage.tsdb.path={self.workdir / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
                "--log.level=info",
            ],
            self.prometheus_url,
            self.workdir / "prometheus.log",
        )
        self._processes = [alertmanager, prometheus]
        deadline = time.monotonic() + READY_TIMEOUT_S
        for process in self._processes:
            process.start()
        for process in self._processes:
            process.wait_ready(deadline)
        self._check_rules_loaded()
        self.started_at = time.time()

    def _check_rules_loaded(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            groups = client.get(f"{self.prometheus_url}/api/v1/rules").json()["data"]["groups"]
        loaded = {Path(group["file"]).name for group in groups}
        wanted = {path.name for path in self.rule_files}
        if not wanted or loaded != wanted:
            raise StackError(f"Prometheus loaded rules from {sorted(loaded)}, not {sorted(wanted)}")

    def stop(self) -> None:
        for process in reversed(self._processes):
            process.stop()
        self.receiver.stop()

    def logs(self) -> str:
        return "\n\n".join(process.log_tail(200) for process in self._processes)

    # -- scrape targets ----------------------------------------------------------

    def set_targets(self, group: str, targets: Iterable[str], labels: Mapping[str, str]) -> None:
        """Scrape `targets` (host:port) with `labels`; replaces the group's earlier targets."""
        doc = [{"targets": list(targets), "labels": dict(labels)}]
        final = self.targets_dir / f"{group}.json"
        partial = self.targets_dir / f".{group}.json.tmp"
        partial.write_text(json.dumps(doc))
        os.replace(partial, final)  # Prometheus must never read half a file

    def clear_targets(self, group: str) -> None:
        (self.targets_dir / f"{group}.json").unlink(missing_ok=True)

    # -- the HTTP API (async: scraped targets share the test's event loop) -------

    async def api(self, path: str, **params: Any) -> Any:
        """GET `/api/v1/<path>`: its `data`, or StackError with Prometheus's error."""
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.get(f"{self.prometheus_url}/api/v1/{path}", params=params)
        body = response.json()
        if body.get("status") != "success":
            raise StackError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    async def query(self, expr: str, **params: Any) -> list[dict[str, Any]]:
        data = await self.api("query", query=expr, **params)
        return list(data["result"])

    async def query_range(
        self, expr: str, start: float, end: float, step: str
    ) -> list[dict[str, Any]]:
        data = await self.api("query_range", query=expr, start=start, end=end, step=step)
        return list(data["result"])

    async def alerts(self, alertname: str, **labels: str) -> list[dict[str, Any]]:
        """Prometheus's active (pending or firing) alerts named `alertname` with these labels."""
        data = await self.api("alerts")
        return [
            alert
            for alert in data["alerts"]
            if alert["labels"].get("alertname") == alertname
            and all(alert["labels"].get(k) == v for k, v in labels.items())
        ]
