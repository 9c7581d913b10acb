"""Sim config and timeline files: defaults, and errors that name the file, entry and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from routeguard.sim.config import ProviderSpec, SimConfigError, load_sim_config
from routeguard.sim.timeline import entry_faults, load_timeline, parse_timeline

TESTDATA = Path(__file__).parent.parent / "testdata" / "sim"
SPECS = {
    "openai-sim": ProviderSpec(
        name="openai-sim", flavour="openai", models=("gpt-4o",), api_key="k"
    ),
    "claude-sim": ProviderSpec(
        name="claude-sim", flavour="anthropic", models=("claude-haiku-4-5",), api_key="k"
    ),
}
PROVIDER = "  - {name: p, flavour: openai, models: [m], api_key: k"


def write(tmp_path: Path, text: str, name: str = "sim.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_config_and_timeline_load() -> None:
    config, keys = load_sim_config(TESTDATA / "sim.yaml")
    assert [p.name for p in config.providers][:3] == ["openai-sim", "anthropic-sim", "gemini-sim"]
    assert keys["openai-sim"] == "sk-sim-openai" and config.seed == 7
    specs = {p.name: p for p in config.providers}
    timeline = load_timeline(TESTDATA / "timeline.yaml", specs)
    assert timeline.entries[0].at == 5 and timeline.duration_s == 60


def test_a_key_can_come_from_the_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path, "providers:\n  - {name: p, flavour: openai, models: [m], api_key_env: SIM_KEY}\n"
    )
    _, keys = load_sim_config(path, env={"SIM_KEY": "from-env"})
    assert keys == {"p": "from-env"}
    with pytest.raises(
        SimConfigError,
        match=r"providers\[0\]\.api_key_env: environment variable SIM_KEY is not set",
    ):
        load_sim_config(path, env={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("providers: []\n", r"providers: needs at least 1 item\(s\)"),
        (PROVIDER + ", colour: red}\n", r"providers\[0\]\.colour: unknown key"),
        (
            "  - {name: p, flavour: openai, models: [m]}\n",
            r"providers\[0\]: give exactly one of api_key and api_key_env",
        ),
        (PROVIDER + ", flavour: cohere}\n", r"providers\[0\]\.flavour: Input should be"),
        (
            PROVIDER + ", vendor: anthropic}\n",
            r"providers\[0\]: vendor: 'anthropic' is not a openai vendor",
        ),
        (PROVIDER + ", models: []}\n", r"providers\[0\]\.models: needs at least 1 item"),
        (PROVIDER + ", port: 70000}\n", r"providers\[0\]\.port"),
        (
            PROVIDER + ", faults: {error_rate: 3}}\n",
            r"providers\[0\]\.faults\.error_rate: .*less than or equal to 1",
        ),
        (
            PROVIDER + ", faults: {model_down: [x]}}\n",
            r"providers\[0\]\.faults\.model_down: this provider has no model 'x'",
        ),
        (PROVIDER + "}\n" + PROVIDER + "}\n", "providers: two providers are named 'p'"),
        ("providers: [\n", "line 2: not valid YAML"),
        (PROVIDER + "}\nextra: 1\n", "extra: unknown key"),
    ],
)
def test_config_errors_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    if not text.startswith("providers"):
        text = "providers:\n" + text
    path = write(tmp_path, text)
    with pytest.raises(SimConfigError, match=message) as caught:
        load_sim_config(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert "\n" not in str(caught.value)


def test_a_missing_config_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SimConfigError, match="cannot read"):
        load_sim_config(tmp_path / "nope.yaml")


def test_timeline_entries_run_in_time_order_ties_in_file_order() -> None:
    doc = [
        {"at": 2, "provider": "openai-sim", "faults": {"down": True}},
        {"at": 0.5, "provider": "claude-sim", "faults": {}},
        {"at": 2, "provider": "claude-sim", "faults": {"error_rate": 1.0}},
    ]
    timeline = parse_timeline(doc, "t.yaml", SPECS)
    assert [(e.at, e.provider) for e in timeline.entries] == [
        (0.5, "claude-sim"),
        (2, "openai-sim"),
        (2, "claude-sim"),
    ]


def test_a_model_entry_sets_only_that_models_override() -> None:
    entry = parse_timeline(
        [{"at": 1, "provider": "openai-sim", "model": "gpt-4o", "faults": {"error_rate": 1.0}}]
    ).entries[0]
    faults = entry_faults(entry)
    assert faults.for_model("gpt-4o").error_rate == 1.0 and faults.error_rate == 0.0


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"provider": "openai-sim", "faults": {}}, "entry 1: at: Field required"),
        (
            {"at": -1, "provider": "openai-sim", "faults": {}},
            "entry 1: at: Input should be greater than or equal to 0",
        ),
        (
            {"at": "soon", "provider": "openai-sim", "faults": {}},
            "entry 1: at: Input should be a valid number",
        ),
        (
            {"at": 1, "provider": "openai-sim", "faults": {}, "when": 2},
            "entry 1: when: unknown key",
        ),
        (
            {"at": 1, "provider": "nope", "faults": {}},
            "entry 1: provider: no provider named 'nope'",
        ),
        (
            {"at": 1, "provider": "openai-sim", "model": "x", "faults": {}},
            "entry 1: model: provider 'openai-sim' has no model 'x'",
        ),
        (
            {"at": 1, "provider": "openai-sim", "faults": {"error_rate": 2}},
            "entry 1: faults.error_rate: ",
        ),
        (
            {"at": 1, "provider": "openai-sim", "faults": {"errors": 1}},
            "entry 1: faults.errors: unknown fault",
        ),
        (
            {"at": 1, "provider": "openai-sim", "faults": {"error_status": 529}},
            "entry 1: faults.error_status: 529 is Anthropic's",
        ),
        (
            {"at": 1, "provider": "openai-sim", "model": "gpt-4o", "faults": {"error_status": 529}},
            "entry 1: faults.error_status: 529",
        ),
        (
            {"at": 1, "provider": "openai-sim", "model": "gpt-4o", "faults": {"down": True}},
            "entry 1: faults.down: down applies to the whole provider",
        ),
    ],
)
def test_timeline_errors_name_the_file_the_entry_and_the_key(
    entry: dict[str, object], message: str
) -> None:
    doc = [{"at": 0, "provider": "claude-sim", "faults": {}}, entry]
    with pytest.raises(SimConfigError) as caught:
        parse_timeline(doc, "game-day.yaml", SPECS)
    assert str(caught.value).startswith("game-day.yaml: " + message)


def test_a_timeline_must_be_a_list(tmp_path: Path) -> None:
    path = write(tmp_path, "at: 5\n", "t.yaml")
    with pytest.raises(SimConfigError, match=r"t\.yaml: a timeline is a list"):
        load_timeline(path)
    assert load_timeline(write(tmp_path, "", "empty.yaml")).entries == ()
