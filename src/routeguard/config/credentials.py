"""Spots credentials written where the catalog must not hold them.

API keys come only from the environment variable a provider names in
`api_key_env`. These checks find a key pasted into the file anyway (a key-like
entry name, value, header or URL) so the loader can refuse it without echoing it.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

ENV_FIX = (
    "put the key in an environment variable and name that variable in api_key_env; "
    "it is sent in auth_header"
)

# Prefixes of well-known key formats: OpenAI/Anthropic/DeepSeek `sk-`, Groq `gsk_`,
# OpenRouter `sk-or-`, Google `AIza`, xAI, Replicate, Hugging Face; and a bearer value.
_KEY_PREFIXES = re.compile(r"(sk-|sk_|gsk_|xai-|r8_|hf_|AIza|bearer\s)", re.IGNORECASE)
_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
_SECRET_ENTRY = re.compile(
    r"(api[_-]?key|key|(access|api|auth|bearer)?[_-]?token|secret|password|passwd|credentials?)",
    re.IGNORECASE,
)
_CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "x-goog-api-key", "api-key", "cookie"}
)
_CREDENTIAL_QUERY = frozenset({"key", "api_key", "apikey", "token", "access_token"})


def looks_like_secret(value: str) -> bool:
    """True if `value` starts like a well-known API key or a bearer credential."""
    return bool(_KEY_PREFIXES.match(value.strip()))


def looks_like_key(value: str) -> bool:
    """True if `value`, found where an env var name belongs, looks like the key itself."""
    if looks_like_secret(value):
        return True
    # Env var names are words joined by '_'; keys are long runs of letters and digits.
    longest = max((len(run) for run in _ALNUM_RUN.findall(value)), default=0)
    return longest >= 20 and any(c.isdigit() for c in value)


def is_secret_entry(name: str) -> bool:
    """True for a provider entry named like a credential (`api_key`, `token`, …)."""
    return bool(_SECRET_ENTRY.fullmatch(name))


def is_credential_header(name: str, value: object, auth_header: str | None) -> bool:
    """True for a header that carries a credential, by its name or by its value."""
    lowered = name.lower()
    if lowered in _CREDENTIAL_HEADERS or lowered == auth_header:
        return True
    return isinstance(value, str) and looks_like_secret(value)


def url_has_credentials(url: str) -> bool:
    """True if `url` carries a user, password or key-like query parameter."""
    try:
        parts = urlsplit(url)
        has_userinfo = parts.username is not None or parts.password is not None
    except ValueError:
        return False
    query_keys = {name.lower() for name, _ in parse_qsl(parts.query)}
    return has_userinfo or bool(query_keys & _CREDENTIAL_QUERY)
