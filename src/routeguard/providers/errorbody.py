"""Reading vendors' error bodies without ever raising, and keeping secrets out of text.

Every vendor wraps errors differently; `error_info()` reduces the shapes in
docs/providers.md to one `ErrorInfo`:

- OpenAI and most compatibles: `{"error": {"message", "type", "param", "code"}}`
- Anthropic: `{"type": "error", "error": {"type", "message", "details": {"error_code"}}}`
- Gemini (google.rpc.Status): `{"error": {"code": 400, "status", "message", "details": [...]}}`,
  also wrapped in a one-element array by the non-SSE stream
- OpenRouter: `{"error": {"code": <int>, "message", "metadata": {"error_type", "limit_source"}}}`
- Mistral and Fireworks, top level: `{"object": "error", "message", "type", "code"}`,
  `{"message", "code": "NOT_FOUND", "type": "error"}`; FastAPI 422: `{"detail": [...]}`
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

MAX_ERROR_BODY = 64 * 1024
"""Error bodies larger than this are not parsed (a proxy page, a runaway body)."""
MAX_JSON_BODY = 16 * 1024 * 1024
"""Successful bodies larger than this are not parsed (OpenRouter's full /models is ~MBs)."""
MAX_DETAIL = 200
"""A `detail` line is cut to this many characters."""

_SECRETS = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[^\s,;\"']+"), r"\1 ***"),
    (re.compile(r"(?i)\b(key|api_key|apikey|token)=[^&\s\"']+"), r"\1=***"),
    (
        re.compile(r"(?i)\b(x-api-key|x-goog-api-key|authorization)\s*[:=]\s*[^\s,;\"']+"),
        r"\1: ***",
    ),
    (re.compile(r"\b(?:sk|gsk|pk|rk|xai|fw|nvapi)[-_][A-Za-z0-9_\-*.]{6,}"), "***"),
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{20,}"), "***"),
)
_TITLE = re.compile(r"(?is)<title[^>]*>(.*?)</title>")
_TAG = re.compile(r"(?s)<[^>]*>")
_SPACE = re.compile(r"\s+")
_CODE_CHARS = re.compile(r"[^a-z0-9_.-]+")


@dataclass(frozen=True)
class ErrorInfo:
    """The parts of a vendor error object that classification looks at."""

    type: str = ""
    code: str = ""
    """`code` when it is a word (`insufficient_quota`); numeric codes go to `number`."""
    number: int | None = None
    """`code` when it is an HTTP-like integer (OpenRouter, Gemini)."""
    status: str = ""
    """google.rpc status name (`RESOURCE_EXHAUSTED`)."""
    message: str = ""
    reasons: tuple[str, ...] = ()
    """Specific sub-codes: Gemini `reason`, Anthropic `details.error_code`,
    OpenRouter `metadata.error_type`/`limit_source`, `moderation`."""
    quota_ids: tuple[str, ...] = ()
    """Gemini `QuotaFailure.violations[].quotaId`: tested, never an `error.type`."""

    @property
    def tokens(self) -> frozenset[str]:
        """Every code-like field, lower-cased, for membership tests."""
        words = (self.type, self.code, self.status, *self.reasons, *self.quota_ids)
        return frozenset(w.lower() for w in words if w)

    def most_specific(self) -> str:
        """The narrowest code present, as an `error.type` value, or ''."""
        for word in (*self.reasons, self.code, self.type, self.status):
            code = error_code(word)
            if code and code not in {"error", "unknown_error"} and not code.isdigit():
                return code
        return ""


def parse_json(body: bytes | str, *, limit: int = MAX_JSON_BODY) -> object | None:
    """The JSON document in `body`, or None when empty, too large or not JSON."""
    if not body or len(body) > limit:
        return None
    try:
        doc: object = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return doc


def error_info(doc: object) -> ErrorInfo | None:
    """The error object in a parsed body, or None when the body holds no error."""
    if isinstance(doc, list) and doc:
        doc = doc[0]
    if not isinstance(doc, dict):
        return None
    err = doc.get("error")
    if isinstance(err, str) and err:
        return ErrorInfo(message=err)
    if isinstance(err, dict):
        return _from_object(err)
    if doc.get("object") == "error" or (doc.get("type") == "error" and "message" in doc):
        return _from_object(doc)
    if "message" in doc and "code" in doc:
        return _from_object(doc)
    if "detail" in doc:
        return ErrorInfo(type="validation_error", message=_text(doc["detail"]))
    return None


def _from_object(obj: dict[str, object]) -> ErrorInfo:
    code = obj.get("code")
    number = code if isinstance(code, int) and not isinstance(code, bool) else None
    return ErrorInfo(
        type=_word(obj.get("type")),
        code=_word(code) if number is None else "",
        number=number,
        status=_word(obj.get("status")),
        message=_text(obj.get("message")),
        reasons=tuple(_reasons(obj)),
        quota_ids=tuple(_quota_ids(obj)),
    )


def _reasons(obj: dict[str, object]) -> list[str]:
    found: list[str] = []
    details = obj.get("details")
    if isinstance(details, dict):  # Anthropic: {"error_code": "enforced_spend_limit_reached"}
        found.append(_word(details.get("error_code")))
    elif isinstance(details, list):  # google.rpc details
        for item in details[:10]:
            if not isinstance(item, dict):
                continue
            found.append(_word(item.get("reason")))
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):  # OpenRouter
        found.append(_word(metadata.get("error_type")))
        found.append(_word(metadata.get("limit_source")))
        if "flagged_input" in metadata or "reasons" in metadata:
            found.append("moderation")
    return [word for word in found if word]


def _quota_ids(obj: dict[str, object]) -> list[str]:
    found: list[str] = []
    details = obj.get("details")
    for item in details[:10] if isinstance(details, list) else []:
        violations = item.get("violations") if isinstance(item, dict) else None
        if isinstance(violations, list):
            found.extend(_word(v.get("quotaId")) for v in violations[:10] if isinstance(v, dict))
    return [word for word in found if word]


def _word(value: object) -> str:
    return value[:100] if isinstance(value, str) else ""


def _text(value: object) -> str:
    if isinstance(value, str):
        return value[:1000]
    if value is None:
        return ""
    try:  # Mistral nests a validation error object inside `message`
        return json.dumps(value, separators=(",", ":"), default=str)[:1000]
    except (TypeError, ValueError, RecursionError):
        return ""


def error_code(word: str) -> str:
    """`word` as a short, low-cardinality `error.type` value."""
    return _CODE_CHARS.sub("_", word.strip().lower()).strip("_")[:48]


def body_snippet(body: bytes) -> str:
    """A short readable line from a non-JSON body: an HTML page's title, else its text."""
    text = body[:4096].decode("utf-8", errors="replace")
    title = _TITLE.search(text)
    if title:
        text = title.group(1)
    elif "<" in text:
        text = _TAG.sub(" ", text)
    return _SPACE.sub(" ", text).strip()[:120]


def scrub(text: str) -> str:
    """`text` on one line, with anything that looks like a key or auth header masked."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"
