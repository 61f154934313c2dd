"""Validation and normalisation of events, ingested or recorded by the platform.

Every event is checked on its own: a bad one is reported (its index and why)
and never causes the good ones around it to be refused. The rules:

- ``type`` must be a non-empty string; a type outside the contract's list is
  stored as ``other`` with the original kept in ``meta["original_type"]``;
- ``timestamp`` is required, an RFC 3339 string (no timezone → UTC);
- ``payload`` (or the 0.2 name ``data``) must be an object; its JSON form is
  capped at :data:`MAX_PAYLOAD_BYTES` (64 KiB) — larger events are refused, not
  truncated, so nothing stored is silently altered;
- ``id``, ``session_id``, ``sandbox_id``, ``process_id`` are strings of at most
  :data:`MAX_ID_CHARS`; ``meta`` is a ``{str: str}`` object (scalars are
  turned into strings) of at most :data:`MAX_META_ENTRIES` entries;
- ``duration_ns`` is a non-negative integer;
- any ``account_id`` in the event is ignored: the account is the key's.
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pydantic_core

from caged_core.errors import holds_no_secret, redact_json
from caged_core.models import EventType
from caged_platform.store.timestamps import from_us, to_us

__all__ = [
    "KNOWN_TYPES",
    "MAX_BATCH",
    "MAX_ID_CHARS",
    "MAX_META_ENTRIES",
    "MAX_META_VALUE_CHARS",
    "MAX_PAYLOAD_BYTES",
    "EventError",
    "NewEvent",
    "from_us",
    "new_id",
    "normalise",
    "parse_event",
    "to_us",
]

#: At most this many events per ``POST /events/ingest`` (the contract's limit).
MAX_BATCH = 1000
#: Cap on one event's payload, measured as compact UTF-8 JSON.
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_ID_CHARS = 128
MAX_META_ENTRIES = 64
MAX_META_VALUE_CHARS = 1024
MAX_TYPE_CHARS = 64

#: The contract's event types; anything else is stored as ``other``.
KNOWN_TYPES: frozenset[str] = frozenset(member.value for member in EventType)


class EventError(ValueError):
    """Why one event was refused (the message names the field)."""


def new_id(prefix: str) -> str:
    """A fresh opaque id in the docs' style, e.g. ``evt-3f9c0a1b2d4e``."""
    return f"{prefix}-{secrets.token_hex(6)}"


@dataclass(slots=True)
class NewEvent:
    """One validated event, ready to be stored (treat as read-only)."""

    # Not frozen: a frozen dataclass sets each field through object.__setattr__, which
    # made building one cost 7.8 us of an ingested event's 10.5 us of validation.

    type: str
    ts_us: int
    payload: dict[str, Any]
    payload_json: str  # serialised once: it is both the size check and what is stored
    id: str | None = None
    session_id: str | None = None
    sandbox_id: str | None = None
    process_id: str | None = None
    duration_ms: float | None = None
    meta: dict[str, str] = field(default_factory=dict)
    #: True for events the platform recorded itself, False for ingested ones.
    recorded: bool = False


def _optional_id(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise EventError(f"{key} must be a string")
    if len(value) > MAX_ID_CHARS:
        raise EventError(f"{key} is longer than {MAX_ID_CHARS} characters")
    if not _is_text(value):
        raise EventError(f"{key} is not valid Unicode (a lone surrogate)")
    return value


def _is_text(value: str) -> bool:
    """Whether ``value`` is text that has UTF-8: JSON can spell a lone surrogate
    (``"\\ud800"``), which has none. In an id it failed the whole batch's insert; in the
    type or meta it was stored escaped and no replay page holding it could be read."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _timestamp(raw: dict[str, Any]) -> int:
    value = raw.get("timestamp")
    if value is None or value == "":
        raise EventError("timestamp is required (RFC 3339)")
    if isinstance(value, datetime):
        return to_us(value)
    if not isinstance(value, str):
        raise EventError("timestamp must be an RFC 3339 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise EventError(f"timestamp {value[:40]!r} is not RFC 3339") from None
    return to_us(parsed)


def _meta(raw: dict[str, Any]) -> dict[str, str]:
    value = raw.get("meta")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EventError("meta must be an object of strings")
    if len(value) > MAX_META_ENTRIES:
        raise EventError(f"meta has more than {MAX_META_ENTRIES} entries")
    meta: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, dict | list):
            raise EventError(f"meta[{key!r}] must be a string")
        text = item if isinstance(item, str) else json.dumps(item)
        if len(text) > MAX_META_VALUE_CHARS:
            raise EventError(f"meta[{key!r}] is longer than {MAX_META_VALUE_CHARS} characters")
        if not (_is_text(str(key)) and _is_text(text)):
            raise EventError(f"meta[{key!r}] is not valid Unicode (a lone surrogate)")
        meta[str(key)] = text
    return meta


def _duration_ms(raw: dict[str, Any]) -> float | None:
    value = raw.get("duration_ns")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EventError("duration_ns must be a non-negative integer")
    if not math.isfinite(value) or value < 0:
        raise EventError("duration_ns must be a non-negative integer")
    return float(value) / 1_000_000


def _encode(payload: dict[str, Any]) -> str:
    # pydantic-core's encoder is ~8x faster than json.dumps and writes the same compact
    # text, except that it spells non-finite floats as NaN/Infinity instead of refusing
    # them: a text that may hold one is encoded again by json.dumps, which refuses.
    try:
        text = pydantic_core.to_json(payload).decode()
        if "NaN" in text or "Infinity" in text:
            text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise EventError(f"payload is not representable as JSON: {err}") from None
    return text


def encode_payload(payload: Any) -> tuple[dict[str, Any], str]:
    """Check a payload is a JSON object within the cap; return it, secrets redacted
    (:func:`~caged_core.errors.redact`, as in the logs), and its JSON text.

    Every stored event passes here — ingested or recorded by the platform (commands,
    terminal output, tool calls) — so no secret is stored or replayed verbatim.
    """
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise EventError("payload must be an object")
    text = _encode(payload)
    # Without escapes the text holds every string verbatim, so a text with no secret in it
    # has none in its strings (the common case): only otherwise is each string redacted.
    if "\\" in text or not holds_no_secret(text):
        payload = redact_json(payload)
        text = _encode(payload)
    # UTF-8 takes at most 4 bytes a character: most payloads need no encoding to check.
    size = len(text) if len(text) * 4 <= MAX_PAYLOAD_BYTES else len(text.encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise EventError(f"payload is {size} bytes; the cap is {MAX_PAYLOAD_BYTES} bytes")
    return payload, text


def normalise(type_: str, meta: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Map a type outside the contract's list to ``other``, keeping the original in meta."""
    if type_ in KNOWN_TYPES:
        return type_, meta
    return EventType.OTHER.value, {**meta, "original_type": type_}


def _ids(raw: dict[str, Any]) -> tuple[str | None, str | None, str | None, str | None]:
    ids = raw.get("id"), raw.get("session_id"), raw.get("sandbox_id"), raw.get("process_id")
    for value in ids:
        if value is not None and (
            type(value) is not str or not 0 < len(value) <= MAX_ID_CHARS or not _is_text(value)
        ):
            break  # an empty, long, non-string or non-text one: the checks that say why
    else:
        return ids
    return (
        _optional_id(raw, "id"),
        _optional_id(raw, "session_id"),
        _optional_id(raw, "sandbox_id"),
        _optional_id(raw, "process_id"),
    )


def parse_event(raw: Any) -> NewEvent:
    """Validate one ingested event (see the module docstring); raise :class:`EventError`."""
    if not isinstance(raw, dict):
        raise EventError("an event must be a JSON object")
    type_ = raw.get("type")
    if not isinstance(type_, str) or not type_.strip():
        raise EventError("type is required (a non-empty string)")
    if len(type_) > MAX_TYPE_CHARS:
        raise EventError(f"type is longer than {MAX_TYPE_CHARS} characters")
    if not _is_text(type_):
        raise EventError("type is not valid Unicode (a lone surrogate)")
    ts_us = _timestamp(raw)
    # The 0.2 SDK sent the payload as "data"; "payload" wins when both are present.
    payload, payload_json = encode_payload(raw["payload"] if "payload" in raw else raw.get("data"))
    stored_type, meta = normalise(type_.strip(), _meta(raw))
    id_, session_id, sandbox_id, process_id = _ids(raw)
    # Positional: keywords cost twice as much, a thousand times a batch.
    return NewEvent(
        stored_type, ts_us, payload, payload_json, id_, session_id, sandbox_id, process_id,
        _duration_ms(raw), meta,
    )  # fmt: skip
