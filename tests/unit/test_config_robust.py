"""Whatever a catalog file holds, loading it ends in a Catalog or a ConfigError."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from routeguard.config import Catalog, parse_catalog
from routeguard.errors import ConfigError

KEYS = [
    "providers", "models", "routes", "probes", "breaker", "slo", "openai", "anthropic",
    "local", "flavour", "base_url", "api_key_env", "auth_header", "headers", "api_key",
    "interval_s", "tiers", "open_s", "open_max_s", "availability", "openai/gpt-4o",
    "gpt", "x-title", "",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 1000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["openai", "openai/gpt-4o", "local/m", "https://h/v1", "sk-x", "liveness"]),
    st.text(max_size=12),
)
DOCS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.integers(0, 3)), inner, max_size=5),
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(DOCS)
def test_any_document_loads_or_fails_with_config_error_only(doc: Any) -> None:
    text = yaml.safe_dump(doc)
    try:
        catalog = parse_catalog(text, "fuzz.yaml")
    except ConfigError as exc:
        assert exc.messages
        assert all(m.startswith("fuzz.yaml: ") for m in exc.messages)
    else:
        assert isinstance(catalog, Catalog)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_loads_or_fails_with_config_error_only(text: str) -> None:
    try:
        parse_catalog(text, "fuzz.yaml")
    except ConfigError as exc:
        assert all(m.startswith("fuzz.yaml: ") for m in exc.messages)
