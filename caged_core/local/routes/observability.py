"""Agent sessions, replay, events, alerts and notifications — the platform's second part.

They are routed (and authenticated, and scope-checked) already so that the
route table, the OpenAPI document and the clients see the whole contract; each
answers an honest 501 until the observability pipeline (``local/observe``) is
wired in, when these handlers are replaced one by one.
"""

from __future__ import annotations

from caged_core.local.routes.base import Operation, not_available
from caged_core.models import (
    AgentSession,
    Alert,
    AlertPage,
    AlertRule,
    EventPayload,
    IngestResult,
    NotificationConfig,
    NotificationConfigUpdate,
    NotificationPage,
    ReplayPage,
    ReplaySummary,
    SessionPage,
    UnreadCount,
)

__all__ = ["OPERATIONS"]

_PENDING = "is not available on the local platform yet"
_sessions = not_available("agent sessions and replay", _PENDING)
_events = not_available("event ingestion", _PENDING)
_alerts = not_available("alerts", _PENDING)
_notifications = not_available("notifications", _PENDING)

OPERATIONS = (
    Operation("GET", "/sessions", _sessions, "Agent sessions, newest first",
              response=SessionPage, tag="sessions"),
    Operation("GET", "/sandboxes/{id}/sessions", _sessions, "Agent sessions of a sandbox",
              response=AgentSession, response_many=True, tag="sessions"),
    Operation("GET", "/sessions/{sid}", _sessions, "An agent session", response=AgentSession,
              tag="sessions"),
    Operation("GET", "/sessions/{sid}/replay", _sessions, "A page of a session's events",
              response=ReplayPage, tag="sessions"),
    Operation("GET", "/sessions/{sid}/replay/summary", _sessions, "Summary of a session's events",
              response=ReplaySummary, tag="sessions"),
    Operation("POST", "/events/ingest", _events, "Ingest up to 1000 events",
              request=EventPayload, response=IngestResult, tag="events"),
    Operation("GET", "/alerts", _alerts, "Alerts, newest first", response=AlertPage,
              tag="alerts"),
    Operation("GET", "/alerts/rules", _alerts, "Alert rules", response=AlertRule,
              response_many=True, tag="alerts"),
    Operation("PUT", "/alerts/rules/{id}", _alerts, "Enable/configure an alert rule",
              response=AlertRule, tag="alerts"),
    Operation("GET", "/alerts/{id}", _alerts, "An alert", response=Alert, tag="alerts"),
    Operation("POST", "/alerts/{id}/resolve", _alerts, "Resolve an alert", status=204,
              tag="alerts"),
    Operation("GET", "/notifications", _notifications, "Notifications",
              response=NotificationPage, tag="notifications"),
    Operation("GET", "/notifications/unread-count", _notifications, "Unread notifications",
              response=UnreadCount, tag="notifications"),
    Operation("POST", "/notifications/read-all", _notifications, "Mark all read", status=204,
              tag="notifications"),
    Operation("GET", "/notifications/config", _notifications, "Notification settings",
              response=NotificationConfig, tag="notifications"),
    Operation("PUT", "/notifications/config", _notifications, "Change notification settings",
              request=NotificationConfigUpdate, response=NotificationConfig,
              tag="notifications"),
    Operation("POST", "/notifications/{id}/read", _notifications, "Mark a notification read",
              status=204, tag="notifications"),
)
