"""Standard Webhooks signatures: the spec's reference vector, verification, secrets."""

from __future__ import annotations

import base64

import pytest

from routeguard.notify.base import ChannelSetupError
from routeguard.notify.signing import message_id, secret_key, sign, verify

# The reference vector of standard-webhooks/standard-webhooks
# (libraries/python/tests/test_webhooks.py, test_sign_function).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _headers(signature: str, ts: int = SPEC_TS, msg_id: str = SPEC_ID) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def test_the_spec_reference_vector_signs_exactly() -> None:
    key = secret_key(SPEC_SECRET, "HOOK_SECRET")
    assert sign(key, SPEC_ID, SPEC_TS, SPEC_BODY) == SPEC_SIGNATURE


def test_the_whsec_prefix_is_optional_as_in_the_reference_libraries() -> None:
    bare = SPEC_SECRET.removeprefix("whsec_")
    assert secret_key(bare, "X") == secret_key(SPEC_SECRET, "X")


def test_a_receiver_accepts_the_reference_signature_among_rotated_ones() -> None:
    key = secret_key(SPEC_SECRET, "X")
    rotated = f"v1,bm9wZQ== v2,ignored {SPEC_SIGNATURE}"
    assert verify(key, _headers(rotated), SPEC_BODY, now_s=SPEC_TS + 10)


@pytest.mark.parametrize(
    ("headers", "body", "now_s"),
    [
        (_headers(SPEC_SIGNATURE), b'{"test": 2432232315}', SPEC_TS),  # body changed
        (_headers(SPEC_SIGNATURE, msg_id="msg_other"), SPEC_BODY, SPEC_TS),  # id changed
        (_headers(SPEC_SIGNATURE, ts=SPEC_TS + 1), SPEC_BODY, SPEC_TS),  # timestamp changed
        (_headers(SPEC_SIGNATURE), SPEC_BODY, SPEC_TS + 301),  # more than 5 minutes late
        (_headers(SPEC_SIGNATURE), SPEC_BODY, SPEC_TS - 301),  # more than 5 minutes early
        (_headers("v2," + SPEC_SIGNATURE[3:]), SPEC_BODY, SPEC_TS),  # not a v1 signature
        ({"webhook-signature": SPEC_SIGNATURE}, SPEC_BODY, SPEC_TS),  # no id, no timestamp
    ],
)
def test_a_receiver_rejects_anything_tampered_or_stale(
    headers: dict[str, str], body: bytes, now_s: float
) -> None:
    assert not verify(secret_key(SPEC_SECRET, "X"), headers, body, now_s=now_s)


@pytest.mark.parametrize("bad", ["", "whsec_", "whsec_not base64!", "whsec_" + "QUFB"])
def test_a_malformed_or_short_secret_is_refused_naming_the_variable_not_the_value(
    bad: str,
) -> None:
    with pytest.raises(ChannelSetupError) as caught:
        secret_key(bad, "HOOK_SECRET")
    assert "HOOK_SECRET" in str(caught.value)
    assert bad.removeprefix("whsec_") not in str(caught.value) or not bad.removeprefix("whsec_")


def test_the_message_id_is_stable_per_delivery_and_differs_between_channels() -> None:
    assert message_id("k@1#0", "hook") == message_id("k@1#0", "hook")
    assert message_id("k@1#0", "hook") != message_id("k@1#0", "other")
    assert message_id("k@1#0", "hook") != message_id("k@1#1", "hook")
    assert message_id("k@1#0", "hook").startswith("msg_")


def test_a_sixteen_byte_key_is_the_least_accepted() -> None:
    assert len(secret_key("whsec_" + base64.b64encode(b"k" * 16).decode(), "X")) == 16
    with pytest.raises(ChannelSetupError):
        secret_key("whsec_" + base64.b64encode(b"k" * 15).decode(), "X")
