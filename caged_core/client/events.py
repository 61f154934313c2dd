"""``client.events``: ingest observability events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from caged_core.client._errors import invalid_request
from caged_core.client._pages import list_of
from caged_core.client._resource import Resource
from caged_core.client._transport import EncodedJSON
from caged_core.models import EventPayload, IngestResult

__all__ = ["MAX_BATCH", "Events"]

#: The server accepts at most this many events per request.
MAX_BATCH = 1000

_RESULT = TypeAdapter(IngestResult)
_EVENTS = list_of(EventPayload)


def _batches(events: Iterable[EventPayload | Mapping[str, Any]]) -> list[EncodedJSON]:
    """The request bodies, ``{"events": [...]}`` of at most :data:`MAX_BATCH` events, each
    event validated and as ``EventPayload.to_body`` writes it: one validation for the lot,
    and pydantic writes the JSON bytes (no dicts encoded again by ``json.dumps``)."""
    values = [e if isinstance(e, EventPayload) else dict(e) for e in events]
    try:
        models = _EVENTS.validate_python(values)
    except ValidationError as err:
        raise invalid_request("event", err) from None
    return [
        EncodedJSON(
            b'{"events":'
            + _EVENTS.dump_json(models[start : start + MAX_BATCH], exclude_none=True)
            + b"}"
        )
        for start in range(0, len(models), MAX_BATCH)
    ]


class Events(Resource):
    """Send events (LLM calls, tool calls, …) that feed sessions, trust and alerts."""

    async def ingest(
        self,
        events: Iterable[EventPayload | Mapping[str, Any]],
        *,
        timeout: float | None = None,
    ) -> IngestResult:
        """Ingest ``events``; more than 1000 are sent as several batches and the
        results summed. Events without a timestamp get the current time."""
        total = IngestResult()
        for body in _batches(events):
            result = await self._core.call(
                "POST", "/events/ingest", _RESULT, json=body, timeout=timeout
            )
            total = IngestResult(
                accepted=total.accepted + result.accepted,
                errors=total.errors + result.errors,
                messages=total.messages + result.messages,
            )
        return total
