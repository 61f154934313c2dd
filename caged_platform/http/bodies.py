"""Request bodies of the local platform's endpoints that ``caged_core.models`` does not define.

Strict like the models' own request bodies: unknown fields are refused, ranges
enforced, numbers never coerced from booleans or strings and names free of control
characters (an ESC in a key name would drive the terminal that lists it), so a bad
request gets a 400 naming the field. The two
observability bodies (:class:`EventBatch`, :class:`AlertRuleUpdate`) only
describe the shape for the OpenAPI document: the observe package validates
those itself, event by event and field by field.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator

from caged_core.models import KeyScope, RequestModel
from caged_platform.observe import MAX_BATCH

__all__ = [
    "AlertRuleUpdate",
    "CheckoutRequest",
    "EventBatch",
    "ExecRequest",
    "FileWrite",
    "KeyCreate",
    "SnapshotCreate",
    "SnapshotRestore",
]

#: Longest command accepted by ``POST /exec`` (a shell string, not a script upload).
MAX_COMMAND_CHARS = 128 * 1024
# Format characters that reorder how text is shown (bidirectional embeddings, overrides
# and isolates): a name using them can display as something else.
_REORDERING = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


_CONTROLS = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))]  # Unicode category Cc


def _shown_as_is(allowed: str) -> tuple[AfterValidator, Any]:
    """Refuse control characters (but ``allowed``) and reordering marks; the JSON schema
    says the same with a pattern, so generated clients and fuzzers know."""
    refused = frozenset(c for c in _CONTROLS if c not in allowed) | _REORDERING

    def check(value: str) -> str:
        for char in value:
            if char in refused:
                raise ValueError(f"must not contain control characters (found {char!r})")
        return value

    pattern = "^[^" + "".join(f"\\u{ord(c):04x}" for c in sorted(refused)) + "]*$"
    return AfterValidator(check), Field(json_schema_extra={"pattern": pattern})


#: A one-line name shown in lists: no control characters at all.
Name = Annotated[str, *_shown_as_is("")]
#: Free text that may span lines: newlines and tabs only.
Text = Annotated[str, *_shown_as_is("\n\t")]


class ExecRequest(RequestModel):
    """``POST /sandboxes/{id}/exec``."""

    command: str = Field(min_length=1, max_length=MAX_COMMAND_CHARS)
    timeout: float | None = Field(default=None, gt=0, le=3600, strict=True)


class FileWrite(RequestModel):
    """``PUT /sandboxes/{id}/files/content``; legacy 0.2 clients put the path in the body."""

    content: str
    path: str | None = None


class SnapshotCreate(RequestModel):
    """``POST /sandboxes/{id}/snapshots``."""

    name: Name | None = Field(default=None, max_length=200)
    description: Text | None = Field(default=None, max_length=2000)


class SnapshotRestore(RequestModel):
    """``POST /snapshots/{sid}/restore``."""

    target_sandbox_id: str = Field(min_length=1)


class KeyCreate(RequestModel):
    """``POST /account/keys``."""

    name: Name = Field(min_length=1, max_length=100)
    scope: KeyScope = KeyScope.FULL

    @field_validator("scope")
    @classmethod
    def _known_scope(cls, value: KeyScope) -> KeyScope:
        # KeyScope keeps unknown values (tolerant parsing); a new key needs a real one.
        if value not in (KeyScope.FULL, KeyScope.READ_ONLY):
            raise ValueError("scope must be 'full' or 'read_only'")
        return value


class CheckoutRequest(RequestModel):
    """``POST /billing/checkout`` (validated even though the local platform refuses it)."""

    plan_id: str


class EventBatch(RequestModel):
    """``POST /events/ingest``: at most 1000 events; a bad one is counted, not fatal."""

    # Items are Any, not EventPayload: an event that is not one is counted in the answer's
    # errors, not refused with the batch, and the document must not promise otherwise.
    events: list[Any] = Field(
        max_length=MAX_BATCH,
        description="Events shaped like EventPayload; one that is not is counted in errors.",
    )


class AlertRuleUpdate(RequestModel):
    """``PUT /alerts/rules/{id}``: only the fields being changed."""

    enabled: bool | None = Field(default=None, strict=True)
    config: dict[str, Any] | None = None
