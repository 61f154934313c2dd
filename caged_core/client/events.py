"""``client.events``: ingest observability events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from caged_core.client._errors import invalid_request
from caged_core.client._resource import Resource
from caged_core.models import EventPayload, IngestResult

__all__ = ["MAX_BATCH", "Events"]

#: The server accepts at most this many events per request.
MAX_BATCH = 1000

_RESULT = TypeAdapter(IngestResult)
_EVENTS = TypeAdapter(list[EventPayload])


def _bodies(events: Iterable[EventPayload | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each event validated and as its JSON body (``EventPayload.to_body``): one call into
    pydantic for the lot rather than two per event."""
    values = [e if isinstance(e, EventPayload) else dict(e) for e in events]
    try:
        bodies: list[dict[str, Any]] = _EVENTS.dump_python(
            _EVENTS.validate_python(values), mode="json", exclude_none=True
        )
    except ValidationError as err:
        raise invalid_request("event", err) from None
    return bodies


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
        bodies = _bodies(events)
        total = IngestResult()
        for start in range(0, len(bodies), MAX_BATCH):
            result = await self._core.call(
                "POST",
                "/events/ingest",
                _RESULT,
                json={"events": bodies[start : start + MAX_BATCH]},
                timeout=timeout,
            )
            total = IngestResult(
                accepted=total.accepted + result.accepted,
                errors=total.errors + result.errors,
                messages=total.messages + result.messages,
            )
        return total
