"""Agent sessions, replay, events, trust scores, alerts and notifications over HTTP.

Each handler parses the request and calls the service that does the work —
the platform's sessions, alerts or notifications, or the
:class:`~caged_platform.observe.Observer` for ingest — which refuses what it
cannot accept (its ``NotFound``/``Invalid`` become 404/400 problems in the
app's exception handler).
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from starlette.responses import Response

from caged_core.models import (
    AgentSession,
    Alert,
    AlertPage,
    AlertRule,
    IngestResult,
    NotificationConfig,
    NotificationConfigUpdate,
    NotificationPage,
    ReplayPage,
    ReplaySummary,
    SessionPage,
    TrustScore,
    UnreadCount,
)
from caged_platform.errors import Problem
from caged_platform.http import etags
from caged_platform.http.bodies import AlertRuleUpdate, EventBatch
from caged_platform.http.routes.base import Call, Operation, Query, json_response, no_content
from caged_platform.observe import MAX_BATCH, MAX_PAYLOAD_BYTES
from caged_platform.observe.replay import MAX_PAGE as MAX_REPLAY_PAGE

__all__ = ["MAX_INGEST_BODY", "OPERATIONS"]

#: An ingest batch's body limit: room for a full batch of typical events (a few KiB
#: each); a single payload is capped separately (64 KiB), and counted as an error.
MAX_INGEST_BODY = 16 * 1024 * 1024
_MAX_PAGE = 2**31 - 1
_MAX_LISTING = 500
PAGE = Query("page", "integer", default=1, low=1, high=_MAX_PAGE)
PER_PAGE = Query("per_page", "integer", default=20, low=1, high=100)
AFTER_SEQ = Query(
    "after_seq", "integer", "Events after this sequence number (next_seq)", default=0, low=0
)
REPLAY_LIMIT = Query("limit", "integer", default=100, low=1, high=MAX_REPLAY_PAGE)
EVENT_TYPE = Query("type", description="Only events of this type")
LISTING_LIMIT = Query("limit", "integer", default=50, low=1, high=_MAX_LISTING)
OFFSET = Query("offset", "integer", default=0, low=0, high=_MAX_PAGE)
UNREAD = Query("unread", "boolean", "Only unread notifications", default=False)


async def list_sessions(call: Call) -> Response:
    page, per_page = PAGE.integer(call), PER_PAGE.integer(call)
    sessions = call.platform.sessions
    return json_response(await sessions.page(call.principal.account_id, page, per_page))


async def sandbox_sessions(call: Call) -> Response:
    row = await call.platform.sandboxes.row(call.param("id"))
    found = await call.platform.sessions.of_sandbox(call.principal.account_id, row["id"])
    return json_response(found)


async def get_session(call: Call) -> Response:
    sessions = call.platform.sessions
    return json_response(await sessions.get(call.principal.account_id, call.param("sid")))


async def replay(call: Call) -> Response:
    page = await call.platform.sessions.replay_json(
        call.principal.account_id,
        call.param("sid"),
        after_seq=AFTER_SEQ.integer(call),
        limit=REPLAY_LIMIT.integer(call),
        type=EVENT_TYPE.text(call) or None,
    )
    # The page's own validator: hashing its body for one costs a third of writing it.
    tag = etags.weak(f"{call.param('sid')}:{page.version}".encode())
    headers = {"ETag": tag}
    if page.next_after is not None:
        headers["Link"] = _next_link(call, "after_seq", page.next_after)
    return Response(page.body, media_type="application/json", headers=headers)


def _next_link(call: Call, cursor: str, value: int) -> str:
    """The next page as an RFC 8288 ``Link``: this request's query with the cursor moved
    on, so a client paging through can ask for it before it has parsed this page
    (contract note: docs/contract-notes.md)."""
    query = {**call.request.query_params, cursor: str(value)}
    return f'<{quote(call.request.url.path)}?{urlencode(query)}>; rel="next"'


async def replay_summary(call: Call) -> Response:
    sessions = call.platform.sessions
    summary = await sessions.replay_summary(call.principal.account_id, call.param("sid"))
    return json_response(summary)


async def ingest(call: Call) -> Response:
    body = await call.json()
    if not isinstance(body, dict) or "events" not in body:
        raise Problem(400, 'the request body must be an object: {"events": [event, …]}')
    extra = sorted(set(body) - {"events"})
    if extra:
        raise Problem(400, f"unknown field {extra[0]!r}: the body holds only 'events'")
    result = await call.platform.observer.ingest(call.principal.account_id, body["events"])
    return json_response(result)


async def trust_scores(call: Call) -> Response:
    row = await call.platform.sandboxes.row(call.param("id"))
    scores = await call.platform.sessions.trust_for_sandbox(call.principal.account_id, row["id"])
    return json_response(scores)


async def list_alerts(call: Call) -> Response:
    page = await call.platform.alerts.page(
        call.principal.account_id,
        limit=LISTING_LIMIT.integer(call),
        offset=OFFSET.integer(call),
    )
    return json_response(page)


async def get_alert(call: Call) -> Response:
    alerts = call.platform.alerts
    return json_response(await alerts.get(call.principal.account_id, call.param("id")))


async def resolve_alert(call: Call) -> Response:
    await call.platform.alerts.resolve(call.principal.account_id, call.param("id"))
    return no_content()


async def list_rules(call: Call) -> Response:
    return json_response(await call.platform.alerts.rules(call.principal.account_id))


async def update_rule(call: Call) -> Response:
    # The service validates the raw body: it names the offending field and type itself.
    rule = await call.platform.alerts.update_rule(
        call.principal.account_id, call.param("id"), await call.json()
    )
    return json_response(rule)


async def list_notifications(call: Call) -> Response:
    page = await call.platform.notifications.page(
        call.principal.account_id,
        limit=LISTING_LIMIT.integer(call),
        unread=UNREAD.boolean(call),
    )
    return json_response(page)


async def unread_count(call: Call) -> Response:
    count = await call.platform.notifications.unread_count(call.principal.account_id)
    return json_response(UnreadCount(unread_count=count))


async def mark_read(call: Call) -> Response:
    await call.platform.notifications.mark_read(call.principal.account_id, call.param("id"))
    return no_content()


async def mark_all_read(call: Call) -> Response:
    await call.platform.notifications.mark_all_read(call.principal.account_id)
    return no_content()


async def get_config(call: Call) -> Response:
    return json_response(await call.platform.notifications.config(call.principal.account_id))


async def update_config(call: Call) -> Response:
    # Raw body to the service, which refuses unknown fields and channels by name.
    config = await call.platform.notifications.update_config(
        call.principal.account_id, await call.json()
    )
    return json_response(config)


OPERATIONS = (
    Operation(
        "GET",
        "/sessions",
        list_sessions,
        "Agent sessions, newest first",
        response=SessionPage,
        tag="sessions",
        query=(PAGE, PER_PAGE),
    ),
    Operation(
        "GET",
        "/sandboxes/{id}/sessions",
        sandbox_sessions,
        "Agent sessions of a sandbox",
        response=AgentSession,
        response_many=True,
        tag="sessions",
    ),
    Operation(
        "GET",
        "/sessions/{sid}",
        get_session,
        "An agent session",
        response=AgentSession,
        tag="sessions",
    ),
    Operation(
        "GET",
        "/sessions/{sid}/replay",
        replay,
        f"A page of a session's events (after_seq, limit ≤ {MAX_REPLAY_PAGE}, type)",
        response=ReplayPage,
        tag="sessions",
        query=(AFTER_SEQ, REPLAY_LIMIT, EVENT_TYPE),
    ),
    Operation(
        "GET",
        "/sessions/{sid}/replay/summary",
        replay_summary,
        "Summary of a session's events",
        response=ReplaySummary,
        tag="sessions",
    ),
    Operation(
        "POST",
        "/events/ingest",
        ingest,
        f"Ingest up to {MAX_BATCH} events (payloads up to {MAX_PAYLOAD_BYTES // 1024} KiB "
        f"each, bodies up to {MAX_INGEST_BODY // (1024 * 1024)} MiB)",
        request=EventBatch,
        response=IngestResult,
        max_body_size=MAX_INGEST_BODY,
        tag="events",
    ),
    Operation(
        "GET",
        "/trust/sandboxes/{id}",
        trust_scores,
        "Trust scores of a sandbox",
        response=TrustScore,
        response_many=True,
        tag="trust",
    ),
    Operation(
        "GET",
        "/alerts",
        list_alerts,
        "Alerts, newest first",
        response=AlertPage,
        tag="alerts",
        query=(LISTING_LIMIT, OFFSET),
    ),
    Operation(
        "GET",
        "/alerts/rules",
        list_rules,
        "Alert rules",
        response=AlertRule,
        response_many=True,
        tag="alerts",
    ),
    Operation(
        "PUT",
        "/alerts/rules/{id}",
        update_rule,
        "Enable/configure an alert rule",
        request=AlertRuleUpdate,
        response=AlertRule,
        tag="alerts",
    ),
    Operation("GET", "/alerts/{id}", get_alert, "An alert", response=Alert, tag="alerts"),
    Operation(
        "POST", "/alerts/{id}/resolve", resolve_alert, "Resolve an alert", status=204, tag="alerts"
    ),
    Operation(
        "GET",
        "/notifications",
        list_notifications,
        "Notifications, newest first",
        response=NotificationPage,
        tag="notifications",
        query=(LISTING_LIMIT, UNREAD),
    ),
    Operation(
        "GET",
        "/notifications/unread-count",
        unread_count,
        "Unread notifications",
        response=UnreadCount,
        tag="notifications",
    ),
    Operation(
        "POST",
        "/notifications/read-all",
        mark_all_read,
        "Mark all read",
        status=204,
        tag="notifications",
    ),
    Operation(
        "GET",
        "/notifications/config",
        get_config,
        "Notification settings (credentials only as hints)",
        response=NotificationConfig,
        tag="notifications",
    ),
    Operation(
        "PUT",
        "/notifications/config",
        update_config,
        'Change notification settings ("__clear__" removes a webhook)',
        request=NotificationConfigUpdate,
        response=NotificationConfig,
        tag="notifications",
    ),
    Operation(
        "POST",
        "/notifications/{id}/read",
        mark_read,
        "Mark a notification read",
        status=204,
        tag="notifications",
    ),
)
