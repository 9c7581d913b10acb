"""Collects catalog problems and words them: `FILE: KEY.PATH: what is wrong; what to fix`.

Every check in the loader reports here instead of raising, so one run shows the
user every problem in the file. Pydantic's errors are translated here too, so no
message carries pydantic's wording, links or raw input. Values are echoed only
after masking anything that looks like a credential.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from routeguard.config.credentials import looks_like_secret
from routeguard.redact import redact_url

KeyPath = tuple[str | int, ...]

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_./-]+")
# Constraint attributes of annotated_types' Gt/Ge/Lt/Le, as a message words them.
_BOUND_WORDS = (("gt", "greater than"), ("ge", "at least"), ("lt", "less than"), ("le", "at most"))


class Problems:
    """The problems found in one source, in the order found."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.messages: list[str] = []

    def __len__(self) -> int:
        return len(self.messages)

    def add(self, path: KeyPath, what: str, fix: str = "") -> None:
        """Record one problem at `path` (empty for the whole file)."""
        where = f"{self.source}: {format_path(path)}: " if path else f"{self.source}: "
        self.messages.append(where + what + (f"; {fix}" if fix else ""))

    def unknown_key(self, path: KeyPath, allowed: Iterable[str]) -> None:
        """Record a key that is not allowed where it is, listing the allowed ones."""
        self.add(path, "unknown key", unknown_key_fix(str(path[-1]), allowed))


def format_path(path: KeyPath) -> str:
    """`("models", "llama", 1)` -> `models.llama[1]`; odd keys are quoted."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def unknown_key_fix(key: str, allowed: Iterable[str]) -> str:
    """What to say about an unknown key: the allowed keys and the likely intended one."""
    names = sorted(allowed)
    return f"allowed keys here are {', '.join(names)}" + did_you_mean(key, names)


def did_you_mean(word: str, names: Iterable[str]) -> str:
    """` (did you mean X?)` for the name closest to `word`, or "" if none is close."""
    close = difflib.get_close_matches(word, list(names), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def show(value: Any) -> str:
    """`value` as a message may quote it: short, secrets masked, URL passwords redacted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if not isinstance(value, str):
        return str(value)
    if looks_like_secret(value):
        return "a value that looks like a credential (not shown)"
    text = redact_url(value) if "://" in value else value
    return repr(text if len(text) <= 60 else text[:57] + "...")


def policy_problems(
    problems: Problems, path: KeyPath, model: type[BaseModel], errors: Sequence[ErrorDetails]
) -> None:
    """Translate pydantic `errors` of one policy section at `path` into problems."""
    for error in errors:
        loc = tuple(error["loc"])
        what, fix = _policy_error_text(model, error)
        problems.add(path + loc, what, fix)


def _policy_error_text(model: type[BaseModel], error: ErrorDetails) -> tuple[str, str]:
    kind, value, loc = error["type"], error["input"], error["loc"]
    field = str(loc[0]) if loc else ""
    if kind == "extra_forbidden":
        return "unknown key", unknown_key_fix(field, model.model_fields)
    if kind == "enum":
        expected = error.get("ctx", {}).get("expected", "")
        return f"{show(value)} is not one of the allowed values", f"use one of {expected}"
    if kind in ("tuple_type", "list_type"):
        return f"must be a list (got {show(value)})", "write it as [a, b]"
    if kind == "value_error" and not loc:
        return _strip_value_error(error["msg"]), ""
    if field in model.model_fields and kind.split("_")[0] in ("float", "int", "greater", "less"):
        return _number_error_text(model, field, kind, value)
    return f"{_strip_value_error(error['msg'])} (got {show(value)})", ""


def _number_error_text(
    model: type[BaseModel], field: str, kind: str, value: Any
) -> tuple[str, str]:
    info = model.model_fields[field]
    whole = info.annotation is int
    noun = "a whole number" if whole else "a number"
    bounds = [
        f"{words} {getattr(rule, attr)}"
        for rule in info.metadata
        for attr, words in _BOUND_WORDS
        if getattr(rule, attr, None) is not None
    ]
    limits = " and ".join(bounds)
    wanted = f"{noun}, {limits}" if limits.startswith("at ") else f"{noun} {limits}".strip()
    if kind.startswith(("greater", "less")):
        return f"{show(value)} is out of range", f"use {wanted}"
    return f"must be {noun} (got {show(value)})", f"use {wanted}"


def _strip_value_error(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message
