"""The compose stack: docker-compose.yml, its Dockerfile and the files it mounts.

tests/testdata/compose-spec.json is the Compose Specification's JSON schema, unmodified:
`schema/compose-spec.json` of github.com/compose-spec/compose-spec at commit
170098ba07d9f53c383a41bfd4c5166b0a4529a6 (the schema itself last changed in
a08f8d51631b7127ddac3d2c65537db429d0f1d0, 2025-10-21). Replace it from a newer commit
of that repository, and update both hashes here, when compose grows keys we use.

promtool and amtool come from Debian's `prometheus` and `prometheus-alertmanager`
(installed by .ci/run); a compose CLI from Debian's `docker-compose`, Docker's
`docker compose` plugin, or any `docker-compose` on PATH.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from routeguard.config import Settings, check_config
from routeguard.sim import load_sim_config, load_timeline

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SCHEMA = ROOT / "tests" / "testdata" / "compose-spec.json"
PROMETHEUS_YML = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ALERTMANAGER_YML = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
ALERTMANAGER_EXAMPLE = ROOT / "alerts" / "alertmanager.example.yml"
DEMO_CATALOG = ROOT / "deploy" / "routeguard" / "catalog.yaml"
PROVIDERS_CATALOG = ROOT / "deploy" / "routeguard" / "catalog.providers.example.yaml"
SIM_CONFIG = ROOT / "deploy" / "sim" / "sim.yaml"
SIM_TIMELINE = ROOT / "deploy" / "sim" / "timeline.yaml"
RULE_FILES = sorted((ROOT / "alerts").glob("*.yaml"))

# ${VAR}, ${VAR:-default}, ${VAR-default}; compose resolves these before anything else.
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}")
SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$", re.IGNORECASE)
SECRET_VALUE = re.compile(
    r"\bsk-[A-Za-z0-9_-]{8,}|\bgsk_\w{8,}|\bAIza[\w-]{10,}|\bxox[abprs]-|\bwhsec_|"
    r"\bghp_\w{8,}|Bearer\s+\S+|-----BEGIN|://[^/\s:@]+:[^/\s@]+@"
)
# Defaults that are allowed although the variable is named like a secret: the
# simulator's key is shared by the `sim` service and the daemon, and guards nothing.
NON_SECRET_DEFAULTS = {"SIM_API_KEY"}
LOOPBACK_PORT = re.compile(r"127\.0\.0\.1:\d+:\d+(/(tcp|udp))?")


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc = _load(COMPOSE)
    assert isinstance(doc, dict)
    return doc


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services = compose["services"]
    assert isinstance(services, dict)
    return services


def _with_defaults(text: str) -> str:
    """`text` as compose reads it with none of the variables set."""
    return INTERPOLATION.sub(lambda m: m["default"] if "-" in (m["op"] or "") else "", text)


def _bind_mounts(service: dict[str, Any]) -> Iterator[tuple[Path, str]]:
    """(host path, container path) of each bind mount, variables at their defaults."""
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                yield (ROOT / _with_defaults(volume["source"])).resolve(), volume["target"]
            continue
        source, target = _with_defaults(volume).split(":")[:2]
        if source.startswith((".", "/")):
            yield (ROOT / source).resolve(), target


def _strings(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every (key path, string) in a YAML document, keys included."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{path}.{key}", str(key)
            yield from _strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{path}[{index}]")
    elif isinstance(node, str):
        yield path, node


# (a) The Compose Specification ------------------------------------------------


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    # "$schema" names draft-07 without the trailing "#" that jsonschema looks up.
    assert schema["$schema"].startswith("https://json-schema.org/draft-07/schema")
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: e.json_path)
    assert [f"{e.json_path}: {e.message}" for e in errors] == []
    assert "version" not in compose, "the version key is obsolete in the Compose Specification"


# (b) Prometheus ----------------------------------------------------------------


def _promtool_check(config: Path) -> str:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package prometheus; .ci/run installs it)")
    done = subprocess.run(
        [promtool, "check", "config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    # A rule_files glob that matches nothing is valid to promtool: count them.
    assert f"{len(RULE_FILES)} rule files found" in output, output
    return output


def test_prometheus_config_passes_promtool_with_every_shipped_rule_file() -> None:
    assert RULE_FILES, "alerts/*.yaml: no rule files"
    output = _promtool_check(PROMETHEUS_YML)
    for rules in RULE_FILES:
        assert rules.name in output


def test_prometheus_config_passes_promtool_as_mounted_in_its_container(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    """Lay the prometheus service's bind mounts out under tmp_path and check there."""
    service = _services(compose)["prometheus"]
    for source, target in _bind_mounts(service):
        dest = tmp_path / target.lstrip("/")
        if source.is_dir():
            shutil.copytree(source, dest)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, dest)
    flags = dict(arg.split("=", 1) for arg in service["command"] if "=" in arg)
    _promtool_check(tmp_path / flags["--config.file"].lstrip("/"))


def test_prometheus_scrapes_the_daemon_every_5s_and_alerts_to_alertmanager(
    compose: dict[str, Any],
) -> None:
    config = _load(PROMETHEUS_YML)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    daemon = jobs["routeguard"]
    assert daemon.get("scrape_interval", config["global"]["scrape_interval"]) == "5s"
    port = _services(compose)["routeguard"]["environment"]["ROUTEGUARD_HTTP_ADDR"].split(":")[-1]
    targets = [t for sc in daemon["static_configs"] for t in sc["targets"]]
    assert targets == [f"routeguard:{port}"]
    alertmanagers = config["alerting"]["alertmanagers"]
    am_targets = [t for am in alertmanagers for sc in am["static_configs"] for t in sc["targets"]]
    assert am_targets == ["alertmanager:9093"]
    assert {"routeguard", "alertmanager"} <= set(_services(compose))


# (c) Alertmanager --------------------------------------------------------------


def _amtool() -> str:
    amtool = shutil.which("amtool")
    if amtool is None:
        pytest.skip("amtool not installed (Debian package prometheus-alertmanager)")
    return amtool


def test_alertmanager_config_passes_amtool() -> None:
    done = subprocess.run(
        [_amtool(), "check-config", str(ALERTMANAGER_YML)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def _shipped_severities() -> set[str]:
    severities = set()
    for path in RULE_FILES:
        for group in _load(path)["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    severities.add(rule["labels"]["severity"])
    return severities


@pytest.mark.parametrize(
    ("severity", "receiver"), [("critical", "pager"), ("page", "pager"), ("ticket", "ticket")]
)
def test_alertmanager_routes_each_severity(severity: str, receiver: str) -> None:
    assert severity in _shipped_severities()
    done = subprocess.run(
        [
            _amtool(),
            "config",
            "routes",
            "test",
            f"--config.file={ALERTMANAGER_YML}",
            "alertname=RouteOpen",
            "provider=openai",
            f"severity={severity}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == [receiver]


def test_alertmanager_routes_and_inhibits_as_the_documented_example() -> None:
    """The stack differs from alerts/alertmanager.example.yml only in its receivers."""
    stack, example = _load(ALERTMANAGER_YML), _load(ALERTMANAGER_EXAMPLE)
    assert stack["route"] == example["route"]
    assert stack["inhibit_rules"] == example["inhibit_rules"]
    assert [r["name"] for r in stack["receivers"]] == [r["name"] for r in example["receivers"]]


def test_every_shipped_severity_has_a_route() -> None:
    config = _load(ALERTMANAGER_YML)
    routed = "\n".join(m for route in config["route"]["routes"] for m in route["matchers"])
    for severity in _shipped_severities():
        assert severity in routed, f"severity {severity!r} falls through to the default route"


# (d) Catalogs and the simulator of the demo profile ----------------------------


def test_demo_catalog_passes_check_config() -> None:
    catalog, errors, warnings = check_config(DEMO_CATALOG, env={"SIM_API_KEY": "k"})
    assert errors == []
    assert warnings == []
    assert catalog is not None and len(catalog.routes) >= 3


def test_providers_example_catalog_passes_check_config() -> None:
    catalog, errors, _warnings = check_config(PROVIDERS_CATALOG, env={})
    assert errors == []
    assert catalog is not None


def test_demo_catalog_probes_exactly_what_the_simulator_serves() -> None:
    sim, _keys = load_sim_config(SIM_CONFIG, env={"SIM_API_KEY": "k"})
    load_timeline(SIM_TIMELINE, {spec.name: spec for spec in sim.providers})
    catalog, errors, _ = check_config(DEMO_CATALOG, env={"SIM_API_KEY": "k"})
    assert catalog is not None, errors
    specs = {spec.name: spec for spec in sim.providers}
    assert set(catalog.providers) == set(specs)
    for name, provider in catalog.providers.items():
        spec = specs[name]
        prefix = "/v1beta" if spec.flavour == "gemini" else "/v1"
        assert provider.base_url == f"http://127.0.0.1:{spec.port}{prefix}"
        assert provider.flavour == spec.flavour
        assert provider.api_key_env == spec.api_key_env == "SIM_API_KEY"
    for route in catalog.routes.values():
        assert route.model in specs[route.provider].models, route


def test_sim_service_shares_the_daemons_network_and_checks_its_admin_port(
    compose: dict[str, Any],
) -> None:
    sim_service = _services(compose)["sim"]
    assert sim_service["profiles"] == ["demo"]
    daemon_env = _services(compose)["routeguard"]["environment"]
    assert sim_service["environment"]["SIM_API_KEY"] == daemon_env["SIM_API_KEY"]
    assert sim_service["network_mode"] == "service:routeguard"
    sim, _ = load_sim_config(SIM_CONFIG, env={"SIM_API_KEY": "k"})
    assert f"http://127.0.0.1:{sim.admin_port}/admin" in " ".join(
        sim_service["healthcheck"]["test"]
    )
    mounted = {target: source for source, target in _bind_mounts(sim_service)}
    command = sim_service["command"]
    for flag, path in (("--config", SIM_CONFIG), ("--timeline", SIM_TIMELINE)):
        assert mounted[command[command.index(flag) + 1]] == path


def test_the_proxy_shares_the_daemons_network_and_takes_its_keys_from_the_environment(
    compose: dict[str, Any],
) -> None:
    services = _services(compose)
    proxy = services["proxy"]
    assert proxy["command"] == ["proxy"] and proxy["network_mode"] == "service:routeguard"
    env = proxy["environment"]
    assert env["ROUTEGUARD_PROXY_API_KEYS"] == "${ROUTEGUARD_PROXY_API_KEYS:-}"
    daemon = services["routeguard"]
    for same in ("ROUTEGUARD_REDIS_URL", "ROUTEGUARD_CONFIG", "ROUTEGUARD_KEY_PREFIX"):
        assert env[same] == daemon["environment"][same], same
    port = env["ROUTEGUARD_PROXY_ADDR"].rpartition(":")[2]
    assert f"127.0.0.1:${{ROUTEGUARD_PROXY_PORT:-{port}}}:{port}" in daemon["ports"]
    assert f"http://127.0.0.1:{port}/readyz" in " ".join(proxy["healthcheck"]["test"])
    for name in env:
        field = name.removeprefix("ROUTEGUARD_").lower()
        assert not name.startswith("ROUTEGUARD_") or field in Settings.model_fields, name


# (e) Everything mounted or built from the repository exists ---------------------


def test_every_file_the_compose_file_mounts_exists(compose: dict[str, Any]) -> None:
    missing = [
        f"{name}: {source.relative_to(ROOT)}"
        for name, service in _services(compose).items()
        for source, _target in _bind_mounts(service)
        if not source.exists()
    ]
    assert missing == []
    for name, service in _services(compose).items():
        if "build" in service:
            context = ROOT / service["build"]["context"]
            assert (context / service["build"].get("dockerfile", "Dockerfile")).is_file(), name


def test_the_daemon_mounts_the_demo_catalog_by_default(compose: dict[str, Any]) -> None:
    mounts = {target: source for source, target in _bind_mounts(_services(compose)["routeguard"])}
    config = _services(compose)["routeguard"]["environment"]["ROUTEGUARD_CONFIG"]
    assert mounts[config] == DEMO_CATALOG


def test_grafana_provisioning_points_at_the_stack() -> None:
    """The provisioned datasource is this stack's Prometheus; dashboards are where mounted."""
    sources = [
        source
        for path in sorted((ROOT / "dashboards/provisioning/datasources").glob("*.y*ml"))
        for source in _load(path).get("datasources", [])
    ]
    assert {(s.get("uid"), s.get("url")) for s in sources} >= {
        ("prometheus", "http://prometheus:9090")
    }
    providers = [
        provider
        for path in sorted((ROOT / "dashboards/provisioning/dashboards").glob("*.y*ml"))
        for provider in _load(path).get("providers", [])
    ]
    assert providers
    for provider in providers:
        assert provider["options"]["path"].startswith("/var/lib/grafana/dashboards/routeguard")


# (f) Wiring, ports, images, secrets -------------------------------------------


def test_depends_on_names_services_and_waits_for_health(compose: dict[str, Any]) -> None:
    services = _services(compose)
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: use depends_on with conditions"
        for other, how in depends.items():
            assert other in services, f"{name} depends on unknown service {other}"
            assert how["condition"] in {"service_healthy", "service_started"}
            if how["condition"] == "service_healthy":
                assert "healthcheck" in services[other], f"{other} has no healthcheck"
        assert "healthcheck" in service, f"{name}: no healthcheck"
    network_owner = services["sim"]["network_mode"].removeprefix("service:")
    assert network_owner in services


def test_published_ports_bind_loopback_only(compose: dict[str, Any]) -> None:
    published = []
    for name, service in _services(compose).items():
        for port in service.get("ports", []):
            assert isinstance(port, str), f"{name}: write ports as HOST_IP:HOST_PORT:PORT"
            bound = _with_defaults(port)
            assert LOOPBACK_PORT.fullmatch(bound), f"{name}: {port} is not bound to 127.0.0.1"
            published.append(port)
    assert published


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: {image} has no tag"
        assert tag != "latest" and re.search(r"\d+\.\d+", tag), f"{name}: {image} is not pinned"
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("FROM "):
            assert re.search(r":\d+\.\d+\.\d+", line), f"Dockerfile: {line} is not pinned"


def test_no_literal_secrets(compose: dict[str, Any]) -> None:
    for path, text in _strings(compose):
        assert not SECRET_VALUE.search(text), f"{path} looks like a secret"
    for name, service in _services(compose).items():
        assert "env_file" not in service or all(
            isinstance(f, dict) and f.get("required") is False for f in service["env_file"]
        ), f"{name}: an env_file must be optional"
        for var, value in service.get("environment", {}).items():
            if not SECRET_NAME.search(var):
                continue
            match = INTERPOLATION.fullmatch(str(value))
            assert match, f"{name}.{var} must come from the environment: ${{{var}:-}}"
            assert var in NON_SECRET_DEFAULTS or not match["default"], f"{name}.{var} has a default"


def test_the_image_runs_the_daemon_as_a_non_root_user() -> None:
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert 'ENTRYPOINT ["routeguard"]' in lines
    assert 'CMD ["run"]' in lines


# A compose CLI -----------------------------------------------------------------


def _compose_clis() -> list[list[str]]:
    clis = []
    docker = shutil.which("docker")
    if docker and _runs([docker, "compose", "version"]):
        clis.append([docker, "compose"])
    standalone = shutil.which("docker-compose")
    if standalone and _runs([standalone, "version"]):
        clis.append([standalone])
    return clis


def _runs(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=60, check=False).returncode == 0
    except OSError:
        return False


def test_a_compose_cli_accepts_the_file_with_and_without_the_demo_profile() -> None:
    clis = _compose_clis()
    if not clis:
        pytest.skip(
            "no compose CLI: neither `docker compose` nor `docker-compose` runs here "
            "(.ci/run installs Debian's docker-compose)"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    for cli in clis:
        for profile in ([], ["--profile", "demo"]):
            done = subprocess.run(
                [*cli, "--project-directory", str(ROOT), "-f", str(COMPOSE), *profile, "config"],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                env=env,
                cwd=ROOT,
            )
            assert done.returncode == 0, f"{' '.join(cli)} {profile}: {done.stderr}"
            # Compose v1 lists profiled services too; v2 only those of active profiles.
            services = set(yaml.safe_load(done.stdout)["services"])
            assert {"redis", "routeguard", "prometheus", "alertmanager", "grafana"} <= services
            assert "sim" in services or not profile
