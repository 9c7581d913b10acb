"""Settings from ROUTEGUARD_* environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from routeguard.config import Settings, load_settings
from routeguard.errors import ConfigError


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    return caught.value.messages


def test_with_no_variables_every_setting_has_its_default() -> None:
    settings = load_settings({})
    assert settings.redis_url is None
    assert settings.config is None
    assert settings.http_addr == "127.0.0.1:9477"
    assert settings.http_bind == ("127.0.0.1", 9477)
    assert settings.admin_token is None
    assert settings.key_prefix == "routeguard"
    assert settings.log_level == "INFO"
    assert settings.otel_exporter is None


def test_every_setting_is_read_from_its_variable() -> None:
    settings = load_settings(
        {
            "ROUTEGUARD_REDIS_URL": "redis://:pw@redis:6379/1",
            "ROUTEGUARD_CONFIG": "/etc/routeguard/catalog.yaml",
            "ROUTEGUARD_HTTP_ADDR": "[::]:9000",
            "ROUTEGUARD_ADMIN_TOKEN": "t0ken",
            "ROUTEGUARD_KEY_PREFIX": "rg-prod",
            "ROUTEGUARD_LOG_LEVEL": "debug",
            "ROUTEGUARD_OTEL_EXPORTER": "otlp",
        }
    )
    assert settings.redis_url == "redis://:pw@redis:6379/1"
    assert settings.config == Path("/etc/routeguard/catalog.yaml")
    assert settings.http_bind == ("::", 9000)
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == "t0ken"
    assert settings.key_prefix == "rg-prod"
    assert settings.log_level == "DEBUG"
    assert settings.otel_exporter == "otlp"


def test_variable_names_are_case_insensitive_and_empty_values_are_unset() -> None:
    settings = load_settings({"routeguard_key_prefix": "lower", "ROUTEGUARD_REDIS_URL": ""})
    assert settings.key_prefix == "lower"
    assert settings.redis_url is None


def test_an_explicit_mapping_ignores_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROUTEGUARD_KEY_PREFIX", "from-process")
    assert load_settings({}).key_prefix == "routeguard"
    assert load_settings().key_prefix == "from-process"


def test_unrelated_routeguard_variables_are_ignored() -> None:
    assert load_settings({"ROUTEGUARD_TEST_REDIS_URL": "embedded"}).redis_url is None


def test_settings_reads_the_environment_directly_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTEGUARD_HTTP_ADDR", "0.0.0.0:80")
    assert Settings().http_addr == "0.0.0.0:80"


@pytest.mark.parametrize(
    ("prefix", "said"),
    [
        ("a{b", "ROUTEGUARD_KEY_PREFIX: must not contain '{' or '}' (got 'a{b')"),
        ("a}", "ROUTEGUARD_KEY_PREFIX: must not contain '{' or '}' (got 'a}')"),
        ("a b", "ROUTEGUARD_KEY_PREFIX: must not contain whitespace (got 'a b')"),
    ],
)
def test_a_key_prefix_that_would_break_the_hash_tag_is_refused(prefix: str, said: str) -> None:
    assert problems({"ROUTEGUARD_KEY_PREFIX": prefix}) == [said]


def test_an_unknown_log_level_lists_the_levels() -> None:
    assert problems({"ROUTEGUARD_LOG_LEVEL": "verbose"}) == [
        "ROUTEGUARD_LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR (got 'VERBOSE')"
    ]


def test_a_bad_http_addr_says_the_form() -> None:
    (message,) = problems({"ROUTEGUARD_HTTP_ADDR": "localhost"})
    assert message.startswith("ROUTEGUARD_HTTP_ADDR: must be HOST:PORT")
    assert problems({"ROUTEGUARD_HTTP_ADDR": "127.0.0.1:99999"})


def test_a_bad_redis_url_is_reported_without_its_password() -> None:
    (message,) = problems({"ROUTEGUARD_REDIS_URL": "http://user:hunter2@redis:6379"})
    assert message.startswith(
        "ROUTEGUARD_REDIS_URL: must be a redis://, rediss://, unix://, "
        "redis+sentinel:// or redis+cluster:// URL"
    )
    assert "hunter2" not in message
    assert "***" in message


def test_sentinel_and_cluster_urls_are_accepted() -> None:
    sentinel = "redis+sentinel://:pw@s1:26379,s2:26379/mymaster?db=2&wait_replicas=1"
    assert load_settings({"ROUTEGUARD_REDIS_URL": sentinel}).redis_url == sentinel
    cluster = "redis+cluster://n1:7000,n2:7001"
    assert load_settings({"ROUTEGUARD_REDIS_URL": cluster}).redis_url == cluster


def test_a_sentinel_url_without_a_service_names_the_variable_and_hides_passwords() -> None:
    (message,) = problems(
        {"ROUTEGUARD_REDIS_URL": "redis+sentinel://:hunter2@s1,s2?sentinel_password=sekrit"}
    )
    assert message.startswith("ROUTEGUARD_REDIS_URL: a redis+sentinel:// URL names the master")
    assert "hunter2" not in message and "sekrit" not in message


def test_a_bad_admin_token_is_never_echoed() -> None:
    (message,) = problems({"ROUTEGUARD_ADMIN_TOKEN": "s3cret token\n"})
    assert message.startswith("ROUTEGUARD_ADMIN_TOKEN: must not contain whitespace")
    assert "s3cret" not in message


def test_every_problem_is_reported_at_once() -> None:
    messages = problems({"ROUTEGUARD_KEY_PREFIX": "{x}", "ROUTEGUARD_LOG_LEVEL": "loud"})
    assert [m.split(":")[0] for m in messages] == ["ROUTEGUARD_KEY_PREFIX", "ROUTEGUARD_LOG_LEVEL"]


def test_the_admin_token_does_not_show_in_the_settings_repr() -> None:
    settings = load_settings({"ROUTEGUARD_ADMIN_TOKEN": "t0ken-value"})
    assert "t0ken-value" not in repr(settings)


def test_the_proxy_keys_are_a_comma_separated_list_never_echoed() -> None:
    settings = load_settings({"ROUTEGUARD_PROXY_API_KEYS": "key-a,key-b"})
    assert settings.proxy_keys == ("key-a", "key-b")
    assert "key-a" not in repr(settings)
    with pytest.raises(ConfigError) as raised:
        load_settings({"ROUTEGUARD_PROXY_API_KEYS": "key-a, secret-b"})
    assert "ROUTEGUARD_PROXY_API_KEYS" in str(raised.value)
    assert "secret-b" not in str(raised.value)


def test_a_bad_proxy_addr_or_timeout_names_its_variable() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(
            {"ROUTEGUARD_PROXY_ADDR": "9478", "ROUTEGUARD_PROXY_STREAM_IDLE_TIMEOUT_S": "-1"}
        )
    text = str(raised.value)
    assert "ROUTEGUARD_PROXY_ADDR: must be HOST:PORT" in text
    assert "ROUTEGUARD_PROXY_STREAM_IDLE_TIMEOUT_S" in text
