"""Keeps secrets out of messages: passwords in URLs, tokens in text."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

MASK = "***"
MIN_SECRET_CHARS = 4
"""Shorter values are not masked: replacing every "t" in a message would say nothing."""

SECRET_QUERY_WORDS = ("password", "passwd", "token", "secret")
SECRET_QUERY_NAMES = frozenset({"pass", "auth", "key"})
"""Query parameters whose value is a credential (redis-py reads `?password=`)."""


def redact_url(url: str) -> str:
    """Return `url` with every password (a lone user token, a `?password=`) replaced by `***`.

    Works on multi-host netlocs (`redis+sentinel://u:pw@h1:26379,h2:26379/svc`)
    and on query parameters naming a secret (`?sentinel_password=…`).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = _redact_userinfo(parts.netloc)
    query = _redact_query(parts.query)
    if netloc == parts.netloc:
        if query == parts.query:
            return url
        # Swap the query in place: urlunsplit would turn unix:///path into unix:/path.
        return url.replace("?" + parts.query, "?" + query, 1)
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _redact_userinfo(netloc: str) -> str:
    userinfo, at, hosts = netloc.rpartition("@")
    if not at:
        return netloc
    user, colon, _ = userinfo.partition(":")
    # redis://token@host: a lone user field is the password.
    return f"{user}:{MASK}@{hosts}" if colon else f"{MASK}@{hosts}"


def _redact_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(_secret(name) and value for name, value in pairs):
        return query
    masked = [(n, MASK if _secret(n) and v else v) for n, v in pairs]
    return urlencode(masked, safe="*/:,")


def _secret(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_QUERY_NAMES or any(word in lowered for word in SECRET_QUERY_WORDS)


def secret_forms(secret: str) -> set[str]:
    """`secret` as text may carry it: literally, URL-encoded (`?key=`), JSON-escaped."""
    if len(secret) < MIN_SECRET_CHARS:
        return set()
    forms = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    return {f for f in forms if f}


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """`text` with every form of each of `secrets` replaced by `***`, longest first."""
    if not text:
        return text
    for form in _masked_forms(tuple(secrets)):
        text = text.replace(form, MASK)
    return text


@lru_cache(maxsize=1024)
def _masked_forms(secrets: tuple[str, ...]) -> tuple[str, ...]:
    """Every form of each of `secrets`, longest first (a probe masks the same key each time)."""
    forms: set[str] = set()
    for secret in secrets:
        forms |= secret_forms(secret)
    return tuple(sorted(forms, key=len, reverse=True))
