"""Keeps secrets out of messages: passwords in URLs, tokens in text."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SECRET_QUERY_WORDS = ("password", "token", "secret")


def redact_url(url: str) -> str:
    """Return `url` with every password (and a lone user token) replaced by `***`.

    Works on multi-host netlocs (`redis+sentinel://u:pw@h1:26379,h2:26379/svc`)
    and on query parameters naming a secret (`?sentinel_password=…`).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    netloc = _redact_userinfo(parts.netloc)
    query = _redact_query(parts.query)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _redact_userinfo(netloc: str) -> str:
    userinfo, at, hosts = netloc.rpartition("@")
    if not at:
        return netloc
    user, colon, _ = userinfo.partition(":")
    # redis://token@host: a lone user field is the password.
    return f"{user}:***@{hosts}" if colon else f"***@{hosts}"


def _redact_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(_secret(name) for name, _ in pairs):
        return query
    return urlencode([(n, "***" if _secret(n) else v) for n, v in pairs], safe="*/:,")


def _secret(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_QUERY_WORDS)
