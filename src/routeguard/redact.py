"""Keeps secrets out of messages: passwords in URLs, tokens in text."""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import quote, quote_plus, unquote_plus, urlsplit, urlunsplit

MASK = "***"
MIN_SECRET_CHARS = 4
"""Shorter values are not masked: replacing every "t" in a message would say nothing."""


SECRET_QUERY_NAMES = frozenset({"password", "passwd", "pass", "token", "auth", "secret", "key"})
"""Query parameters whose value is a credential (redis-py reads `?password=`)."""


def redact_url(url: str) -> str:
    """Return `url` with any password (a lone user token, a `?password=`) replaced by `***`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    query = _redact_query(parts.query)
    if parts.password is None and parts.username is None:
        if query == parts.query:
            return url
        # Swap the query in place: urlunsplit would turn unix:///path into unix:/path.
        return url.replace("?" + parts.query, "?" + query, 1)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or ""
    if port is not None:
        host = f"{host}:{port}"
    user = parts.username or ""
    # redis://token@host: a lone user field is the password.
    userinfo = MASK if parts.password is None else f"{user}:{MASK}"
    return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, query, ""))


def _redact_query(query: str) -> str:
    pairs = []
    for pair in query.split("&") if query else []:
        name, sep, value = pair.partition("=")
        secret = sep and value and unquote_plus(name).lower() in SECRET_QUERY_NAMES
        pairs.append(f"{name}={MASK}" if secret else pair)
    return "&".join(pairs)


def secret_forms(secret: str) -> set[str]:
    """`secret` as text may carry it: literally, URL-encoded (`?key=`), JSON-escaped."""
    if len(secret) < MIN_SECRET_CHARS:
        return set()
    forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    return {f for f in forms if f}


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """`text` with every form of each of `secrets` replaced by `***`, longest first."""
    forms: set[str] = set()
    for secret in secrets:
        forms |= secret_forms(secret)
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, MASK)
    return text
