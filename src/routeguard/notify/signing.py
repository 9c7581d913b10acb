"""Standard Webhooks signatures (standard-webhooks/standard-webhooks, spec v1).

The signed content is `{webhook-id}.{webhook-timestamp}.{body}`, the MAC is
HMAC-SHA256 keyed with the base64-decoded secret (written `whsec_<base64>`), and
the header is `webhook-signature: v1,<base64 MAC>`. Receivers should reject a
timestamp more than 5 minutes off and dedupe on `webhook-id`, which stays the
same across retries of one delivery.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from routeguard.notify.base import ChannelSetupError

SECRET_PREFIX = "whsec_"
_MIN_KEY_BYTES = 16


def secret_key(secret: str, variable: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret (the prefix is optional).

    The message names `variable`, never the secret itself.
    """
    encoded = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) < _MIN_KEY_BYTES:
        raise ChannelSetupError(
            f"{variable} does not hold a Standard Webhooks secret; set it to whsec_ followed "
            f"by at least {_MIN_KEY_BYTES} random bytes in base64"
        )
    return key


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: `v1,<base64 HMAC-SHA256>`."""
    content = f"{message_id}.{timestamp}.".encode() + body
    mac = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def message_id(notification_id: str, channel: str) -> str:
    """A `webhook-id` that is the same for every attempt of one delivery, and only for it."""
    digest = hashlib.sha256(f"{notification_id}|{channel}".encode()).hexdigest()
    return f"msg_{digest[:32]}"


TOLERANCE_S = 300  # the spec's ±5 minutes


def verify(
    key: bytes,
    headers: Mapping[str, str],
    body: bytes,
    now_s: float,
    tolerance_s: int = TOLERANCE_S,
) -> bool:
    """True if `headers` carry a valid, timely `v1` signature of `body` (a receiver's check).

    `headers` keys are lower-case; the signature header may list several
    space-separated signatures (secret rotation): any valid `v1` one is enough.
    """
    msg_id, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not msg_id or not stamp.isdigit() or abs(now_s - int(stamp)) > tolerance_s:
        return False
    expected = sign(key, msg_id, int(stamp), body)
    offered = headers.get("webhook-signature", "").split()
    return any(hmac.compare_digest(expected, sig) for sig in offered if sig.startswith("v1,"))
