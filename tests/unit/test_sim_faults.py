"""The simulator's fault model: validation, per-model overrides, merge patches."""

from __future__ import annotations

import pytest

from routeguard.sim.faults import (
    FaultError,
    Faults,
    check_faults,
    merge_patch,
    overload_status,
    parse_faults,
    parse_model_faults,
)

MODELS = ("gpt-4o-mini", "gpt-4o")


def test_no_faults_is_a_healthy_provider() -> None:
    assert Faults().is_clear
    assert parse_faults({}).is_clear
    assert Faults().as_doc() == {}


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"error_rate": 1.5}, "error_rate"),
        ({"error_rate": "0.5"}, "error_rate"),
        ({"down": "yes"}, "down"),
        ({"down": 1}, "down"),
        ({"rate_limit": -0.1}, "rate_limit"),
        ({"latency_s": -1}, "latency_s"),
        ({"error_status": 418}, "error_status"),
        ({"model_down_status": 200}, "model_down_status"),
        ({"quota_status": 403}, "quota_status"),
        ({"keepalive_every_s": 0}, "keepalive_every_s"),
        ({"huge_body_mb": 500}, "huge_body_mb"),
        ({"no_such_fault": True}, "no_such_fault"),
        ({"models": {"gpt-4o": {"error_rate": 2}}}, "models.gpt-4o.error_rate"),
    ],
)
def test_a_bad_fault_document_names_the_field(doc: dict[str, object], field: str) -> None:
    with pytest.raises(FaultError) as caught:
        parse_faults(doc)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_an_unknown_fault_lists_the_known_ones() -> None:
    with pytest.raises(FaultError, match=r"unknown fault; known ones are .*error_rate"):
        parse_faults({"eror_rate": 1})


def test_down_cannot_be_set_for_one_model() -> None:
    with pytest.raises(FaultError, match="down applies to the whole provider") as caught:
        parse_model_faults({"down": True})
    assert caught.value.field == "down"
    with pytest.raises(FaultError, match="whole provider"):
        parse_faults({"models": {"gpt-4o": {"down": True}}})


def test_a_fault_document_must_be_a_mapping() -> None:
    with pytest.raises(FaultError, match="must be a mapping"):
        parse_faults(["down"])


def test_a_model_override_wins_only_for_the_fields_it_sets() -> None:
    faults = parse_faults(
        {"error_rate": 0.5, "latency_s": 2.0, "models": {"gpt-4o": {"error_rate": 0.0}}}
    )
    assert faults.for_model("gpt-4o").error_rate == 0.0
    assert faults.for_model("gpt-4o").latency_s == 2.0
    assert faults.for_model("gpt-4o-mini").error_rate == 0.5


def test_model_down_is_kept_sorted_and_distinct() -> None:
    assert parse_faults({"model_down": ["b", "a", "b"]}).model_down == ("a", "b")


def test_merge_patch_follows_rfc_7396() -> None:
    target = {"a": 1, "b": {"c": 2, "d": 3}, "e": 4}
    patch = {"a": None, "b": {"c": None, "x": 9}, "f": [1]}
    assert merge_patch(target, patch) == {"b": {"d": 3, "x": 9}, "e": 4, "f": [1]}


def test_a_patch_merges_and_null_restores_the_default() -> None:
    faults = parse_faults({"error_rate": 0.5, "latency_s": 1.0})
    patched = faults.patched({"latency_s": None, "down": True})
    assert patched.as_doc() == {"error_rate": 0.5, "down": True}
    assert patched.latency_s == 0.0


def test_a_bad_patch_raises_and_leaves_the_faults_alone() -> None:
    faults = parse_faults({"error_rate": 0.5})
    with pytest.raises(FaultError):
        faults.patched({"error_rate": 7})
    assert faults.error_rate == 0.5


def test_with_model_replaces_only_that_models_override() -> None:
    faults = parse_faults({"models": {"gpt-4o": {"error_rate": 1.0}, "x": {"cut_stream": True}}})
    changed = faults.with_model("gpt-4o", {"latency_s": 0.5})
    assert changed.as_doc()["models"] == {"gpt-4o": {"latency_s": 0.5}, "x": {"cut_stream": True}}
    cleared = changed.with_model("gpt-4o", {}).with_model("x", {})
    assert cleared.is_clear
    assert "models" not in cleared.as_doc()


def test_check_rejects_models_the_provider_does_not_have() -> None:
    with pytest.raises(FaultError, match="no model 'claude'") as caught:
        check_faults(parse_faults({"model_down": ["claude"]}), MODELS, "openai", "")
    assert caught.value.field == "model_down"
    with pytest.raises(FaultError) as caught:
        check_faults(parse_faults({"models": {"nope": {}}}), MODELS, "openai", "")
    assert caught.value.field == "models.nope"


@pytest.mark.parametrize(
    ("doc", "flavour", "vendor", "field"),
    [
        ({"error_status": 529}, "openai", "openai", "error_status"),
        ({"error_status": 498}, "openai", "openai", "error_status"),
        ({"model_down_status": 529}, "gemini", "", "model_down_status"),
        ({"quota_status": 402}, "gemini", "", "quota_status"),
        ({"models": {"gpt-4o": {"error_status": 529}}}, "openai", "", "models.gpt-4o.error_status"),
    ],
)
def test_check_rejects_statuses_the_vendor_never_sends(
    doc: dict[str, object], flavour: str, vendor: str, field: str
) -> None:
    with pytest.raises(FaultError) as caught:
        check_faults(parse_faults(doc), MODELS, flavour, vendor)
    assert caught.value.field == field


def test_check_accepts_each_vendors_own_status() -> None:
    check_faults(parse_faults({"error_status": 529}), MODELS, "anthropic", "")
    check_faults(parse_faults({"error_status": 498}), MODELS, "openai", "groq")


def test_the_default_error_is_the_vendors_overload_status() -> None:
    assert overload_status("anthropic") == 529
    assert overload_status("openai") == 503
    assert overload_status("gemini") == 503


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"flavour": "cohere"}, "flavour must be one of"),
        ({"vendor": "anthropic"}, "'anthropic' is not a openai vendor"),
        ({"models": []}, "non-empty list"),
        ({"models": ["a", "a"]}, "distinct"),
        ({"api_key": ""}, "api_key"),
        ({"host": "10.0.0.5"}, "loopback"),
        ({"host": "::1"}, "IPv4 loopback"),
        ({"port": 70000}, "port must be"),
        ({"faults": {"model_down": ["zzz"]}}, "no model 'zzz'"),
    ],
)
def test_a_provider_refuses_what_it_cannot_be(kwargs: dict[str, object], message: str) -> None:
    from routeguard.sim.server import SimProvider

    args: dict[str, object] = {"name": "p", "flavour": "openai", "models": ["m"], "api_key": "k"}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        SimProvider(**args)  # type: ignore[arg-type]
