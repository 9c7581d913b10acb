"""Keeps secrets out of messages: passwords in URLs, tokens in text."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def redact_url(url: str) -> str:
    """Return `url` with any password (and a lone user token) replaced by `***`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    # redis://token@host: a lone user field is the password.
    userinfo = "***" if parts.password is None else f"{user}:***"
    return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, parts.query, ""))
