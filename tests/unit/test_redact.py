"""Secrets stay out of text: URL passwords (in the userinfo or `?password=`) and probe keys."""

from __future__ import annotations

import pytest

from routeguard.config.settings import load_settings
from routeguard.redact import mask_secrets, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://user:pw@host:6379/0", "redis://user:***@host:6379/0"),
        ("redis://host:6379/0?password=hunter2", "redis://host:6379/0?password=***"),
        (
            "rediss://host/0?db=1&password=hunter2&ssl_cert_reqs=none",
            "rediss://host/0?db=1&password=***&ssl_cert_reqs=none",
        ),
        ("redis://u:pw@host/0?password=hunter2", "redis://u:***@host/0?password=***"),
        (
            "unix:///run/redis.sock?password=hunter2&db=2",
            "unix:///run/redis.sock?password=***&db=2",
        ),
        ("redis://host/0?PassWord=hunter2", "redis://host/0?PassWord=***"),
        ("redis://host:6379/0?db=3", "redis://host:6379/0?db=3"),
    ],
)
def test_a_redis_password_is_redacted_wherever_the_url_carries_it(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_settings_repr_and_str_never_show_the_redis_password_or_the_admin_token() -> None:
    settings = load_settings(
        {
            "ROUTEGUARD_REDIS_URL": "redis://user:pw-secret-1@host:6379/0?password=q-secret-2",
            "ROUTEGUARD_ADMIN_TOKEN": "admin-secret-3",
            "ROUTEGUARD_OTEL_EXPORTER": "http://otel:token-secret-4@collector:4318",
        }
    )
    for text in (repr(settings), str(settings), f"{settings}", f"{settings!r}"):
        assert "host:6379" in text
        for secret in ("pw-secret-1", "q-secret-2", "admin-secret-3", "token-secret-4"):
            assert secret not in text, text
    assert settings.redis_url is not None and "pw-secret-1" in settings.redis_url, "value kept"


KEY = 'my-weird key/123+"x'


@pytest.mark.parametrize(
    "text",
    [
        f"Incorrect API key provided: {KEY}",
        "GET /v1/models?key=my-weird%20key%2F123%2B%22x",
        "key=my-weird+key%2F123%2B%22x&alt=json",
        '{"message": "bad key my-weird key/123+\\"x"}',
    ],
)
def test_the_key_is_masked_in_every_obvious_encoding(text: str) -> None:
    masked = mask_secrets(text, [KEY])
    assert "***" in masked and "my-weird" not in masked, masked


def test_a_value_too_short_to_be_a_key_is_left_alone() -> None:
    assert mask_secrets("the test failed", ["t"]) == "the test failed"
