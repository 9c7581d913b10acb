"""The fault model: what a simulated provider does wrong, per provider and per model.

`Faults` is one provider's whole fault state. Its fields apply to every request;
`models` overrides them for single models (only the fields an override sets);
`down` and `model_down` are provider-wide. Every fault is reversible: `Faults()` is
a healthy provider. Documents are validated with unknown keys rejected, and
`check_faults` rejects what this provider cannot do (an unknown model, a 529 from a
non-Anthropic provider). `merge_patch` is RFC 7396 JSON merge patch (`null` deletes
a key, so a field goes back to its default), which the admin API's PATCH uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError, field_validator

MAX_SECONDS = 86_400.0
SERVER_STATUSES = frozenset({498, 500, 502, 503, 504, 529})
"""Statuses `error_status` may take (498 is Groq's, 529 Anthropic's)."""
MODEL_DOWN_STATUSES = SERVER_STATUSES | {404}

Flag = Annotated[bool, Strict()]
Rate = Annotated[float, Strict(), Field(ge=0.0, le=1.0)]
Seconds = Annotated[float, Strict(), Field(ge=0.0, le=MAX_SECONDS)]


class FaultError(ValueError):
    """A fault document this provider cannot take; `field` is the key path at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class ModelFaults(BaseModel):
    """Faults of single requests: everything that can differ from one model to another."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    error_rate: Rate = 0.0
    """Share of requests answered with `error_status` in the vendor's error shape."""
    error_status: int | None = None
    """Status of injected errors and in-stream error events; None: the vendor's overload
    status (529 for Anthropic, 503 for the others)."""
    rate_limit: Rate = 0.0
    """Share of requests answered 429 with the vendor's retry hints."""
    retry_after_s: Seconds = 20.0
    """The wait a 429 asks for, in each vendor's format."""
    quota_exhausted: Flag = False
    """Every request gets the vendor's quota or billing error."""
    quota_status: Literal[402, 429] | None = None
    """Status of the quota error; None: the vendor's own (Anthropic 429 = spend cap)."""
    latency_s: Seconds = 0.0
    """Added before the response headers."""
    ttft_s: Seconds = 0.0
    """Added before the first token of a stream."""
    jitter_s: Seconds = 0.0
    """Up to this much more, drawn uniformly, on each of latency_s and ttft_s."""
    stall_mid_stream_s: Seconds = 0.0
    """Silence after half the tokens, then the rest of the stream."""
    cut_stream: Flag = False
    """Close the connection after half the body, without the terminator."""
    error_event_in_stream: Flag = False
    """200, a token, then the vendor's in-stream error event (and no terminator)."""
    malformed_json: Flag = False
    """2xx with broken JSON (a stream gets one broken event)."""
    html_502: Flag = False
    """An HTML 502 page, as a reverse proxy sends."""
    queue_keepalive_s: Seconds = 0.0
    """Keep-alive lines for this long before answering (DeepSeek's queue)."""
    keepalive_every_s: Annotated[float, Strict(), Field(ge=0.01, le=60.0)] = 1.0
    """Interval of keep-alive lines (queue_keepalive_s, never_ending_stream)."""
    key_revoked: Flag = False
    """The right key is refused with the vendor's auth error."""
    huge_body_mb: Annotated[float, Strict(), Field(ge=0.0, le=100.0)] = 0.0
    """The answer's text is padded so the 2xx body is this many MiB (built in memory)."""
    never_ending_stream: Flag = False
    """Headers, then keep-alives until the client leaves or the fault is lifted."""

    @field_validator("error_status")
    @classmethod
    def _server_status(cls, value: int | None) -> int | None:
        if value is not None and value not in SERVER_STATUSES:
            raise ValueError(f"must be one of {sorted(SERVER_STATUSES)}")
        return value


class Faults(ModelFaults):
    """One provider's faults: the shared ones, provider-wide ones and per-model overrides."""

    down: Flag = False
    """Hard down: the listener is closed, connections are refused."""
    model_down: tuple[str, ...] = ()
    """Models that fail with `model_down_status` while the others work."""
    model_down_status: int = 503
    models: dict[str, ModelFaults] = Field(default_factory=dict)
    """Per-model overrides of the shared fields (only the fields each one sets)."""

    @field_validator("model_down")
    @classmethod
    def _sorted(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(sorted(set(value)))

    @field_validator("model_down_status")
    @classmethod
    def _down_status(cls, value: int) -> int:
        if value not in MODEL_DOWN_STATUSES:
            raise ValueError(f"must be one of {sorted(MODEL_DOWN_STATUSES)}")
        return value

    @property
    def is_clear(self) -> bool:
        """True when the provider is healthy (no fault set at all)."""
        return self == Faults()

    def for_model(self, model: str) -> ModelFaults:
        """The faults one request for `model` meets (the provider's, then the model's)."""
        shared = self.model_dump(include=set(ModelFaults.model_fields))
        override = self.models.get(model)
        if override is not None:
            shared.update(override.model_dump(exclude_unset=True))
        return ModelFaults.model_validate(shared)

    def as_doc(self) -> dict[str, Any]:
        """The fields that were set, as JSON (what `GET /admin/providers` shows)."""
        return self.model_dump(mode="json", exclude_unset=True)

    def patched(self, patch: Mapping[str, Any]) -> Faults:
        """A copy with `patch` merged in (RFC 7396); raises FaultError."""
        return parse_faults(merge_patch(self.as_doc(), patch))

    def with_model(self, model: str, faults: Mapping[str, Any]) -> Faults:
        """A copy whose override for `model` is replaced (an empty mapping removes it)."""
        doc = self.as_doc()
        models = {k: v for k, v in doc.get("models", {}).items() if k != model}
        if faults:
            models[model] = parse_model_faults(faults).model_dump(mode="json", exclude_unset=True)
        doc.pop("models", None)
        if models:
            doc["models"] = models
        return parse_faults(doc)


def parse_faults(doc: object) -> Faults:
    """Validate a fault document; raises FaultError naming the first bad field."""
    if not isinstance(doc, Mapping):
        raise FaultError("", "faults must be a mapping of fault names to values")
    try:
        return Faults.model_validate(dict(doc))
    except ValidationError as exc:
        raise _fault_error(exc) from None


def parse_model_faults(doc: object) -> ModelFaults:
    """Validate one model's override; raises FaultError naming the first bad field."""
    if not isinstance(doc, Mapping):
        raise FaultError("", "faults must be a mapping of fault names to values")
    try:
        return ModelFaults.model_validate(dict(doc))
    except ValidationError as exc:
        raise _fault_error(exc, model_level=True) from None


def _fault_error(exc: ValidationError, *, model_level: bool = False) -> FaultError:
    first = exc.errors()[0]
    loc = first["loc"]
    field = ".".join(str(part) for part in loc)
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        one_model = model_level or loc[0] == "models"
        if one_model and loc[-1] in _PROVIDER_WIDE:
            message = f"{loc[-1]} applies to the whole provider, not to one model"
        else:
            known = ModelFaults.model_fields if one_model else Faults.model_fields
            message = "unknown fault; known ones are " + ", ".join(sorted(known))
    return FaultError(field, message.removeprefix("Value error, "))


_PROVIDER_WIDE = frozenset({"down", "model_down", "model_down_status", "models"})


def merge_patch(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7396: objects merge key by key, `null` deletes a key, anything else replaces."""
    out = dict(target)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_patch(out[key], value)
        else:
            out[key] = value
    return out


def check_faults(faults: Faults, models: Iterable[str], flavour: str, vendor: str) -> None:
    """Reject what this provider cannot do; raises FaultError naming the field."""
    known = set(models)
    for model in faults.models:
        if model not in known:
            raise FaultError(f"models.{model}", _unknown_model(model, known))
    for model in faults.model_down:
        if model not in known:
            raise FaultError("model_down", _unknown_model(model, known))
    sets = [("", faults), *((f"models.{m}.", f) for m, f in faults.models.items())]
    for prefix, one in sets:
        _check_statuses(prefix, one, flavour, vendor)
    _check_status(faults.model_down_status, "model_down_status", flavour, vendor)


def _check_statuses(prefix: str, faults: ModelFaults, flavour: str, vendor: str) -> None:
    if faults.error_status is not None:
        _check_status(faults.error_status, prefix + "error_status", flavour, vendor)
    if flavour == "gemini" and faults.quota_status == 402:
        raise FaultError(prefix + "quota_status", "Gemini has no 402: its quota error is a 429")


def _check_status(status: int, field: str, flavour: str, vendor: str) -> None:
    if status == 529 and flavour != "anthropic":
        raise FaultError(
            field, "529 is Anthropic's overloaded status; this provider is not Anthropic"
        )
    if status == 498 and vendor != "groq":
        raise FaultError(field, "498 is Groq's capacity_exceeded status; this provider is not Groq")


def _unknown_model(model: str, known: set[str]) -> str:
    return f"this provider has no model {model!r} (it has: {', '.join(sorted(known))})"


def overload_status(flavour: str) -> int:
    """The status a vendor says "overloaded" with: the default `error_status`."""
    return 529 if flavour == "anthropic" else 503
