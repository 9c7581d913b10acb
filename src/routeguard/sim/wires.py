"""The wire flavours by name: one module each, one registry (like `providers.FLAVOURS`)."""

from __future__ import annotations

from routeguard.sim.base import Wire
from routeguard.sim.wire_anthropic import ANTHROPIC
from routeguard.sim.wire_gemini import GEMINI
from routeguard.sim.wire_openai import OPENAI

WIRES: dict[str, Wire] = {"openai": OPENAI, "anthropic": ANTHROPIC, "gemini": GEMINI}
"""Wire flavour by name, as `flavour` names it in the catalog and the sim config."""

VENDORS: dict[str, frozenset[str]] = {
    "openai": frozenset(
        {"", "openai", "mistral", "deepseek", "together", "fireworks", "groq", "openrouter"}
    ),
    "anthropic": frozenset({"", "anthropic"}),
    "gemini": frozenset({"", "google", "gemini"}),
}
"""Vendors whose quirks each flavour knows ("" is the flavour's plain form)."""
