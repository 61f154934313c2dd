"""Notifications: every alert becomes an ``in_app`` notification and is delivered to
each other enabled channel.

- **Slack** and **Discord**: a POST to the account's incoming-webhook URL with the
  services' documented payloads (Slack ``{"text", "blocks"}``, Discord
  ``{"content", "embeds"}``). Failures that may pass (connection errors, timeouts,
  429 and 5xx answers) are retried with capped exponential backoff and jitter,
  honouring ``Retry-After``; the outcome (delivered or the reason not, and the
  number of attempts) is kept on that channel's notification.
- **Email**: sent with ``smtplib`` in a thread when the platform was given SMTP
  settings (:class:`SmtpSettings`: host, port, from); otherwise recorded as not
  delivered, with the reason.

External channels' notifications are delivery records and are created already
*read*, so the unread count is one per alert (its in-app notification).

Webhook URLs are credentials: stored in ``observe.db`` (owner-only), never
returned (only ``*_configured`` and a ``...abcd`` hint) and never put in a log or
an error message. ``"__clear__"`` removes a stored webhook.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import smtplib
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from caged_core.backoff import backoff
from caged_core.models import (
    Alert,
    Notification,
    NotificationChannel,
    NotificationConfig,
    NotificationConfigUpdate,
    NotificationPage,
)

from .alerts import alert_from_row
from .errors import Invalid, NotFound, int_param
from .events import from_us, new_id
from .store import Database, transaction

__all__ = [
    "CHANNELS",
    "DeliveryPolicy",
    "Notifier",
    "SmtpSettings",
    "discord_payload",
    "get_config",
    "slack_payload",
    "update_config",
]

_log = logging.getLogger(__name__)

CHANNELS: tuple[str, ...] = tuple(channel.value for channel in NotificationChannel)
_DEFAULT_CHANNELS = [NotificationChannel.IN_APP.value]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MAX_URL = 2048
_COLOURS = {"critical": 0xE5484D, "warning": 0xF5A524, "info": 0x3B82F6}


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where email notifications are sent from (the platform config's SMTP section)."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How hard external deliveries are tried: ``attempts`` in all, waiting between them
    as :func:`caged_core.backoff.backoff` says from ``base_delay`` up to ``max_delay``."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    timeout: float = 10.0
    #: A server's Retry-After is honoured up to this many seconds.
    max_retry_after: float = 60.0
    #: How to wait between attempts, and the jitter's draw in [0, 1): injectable so a
    #: test counts attempts and delays without waiting or guessing.
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    jitter: Callable[[], float] = random.random


# --------------------------------------------------------------------------- config


def _hint(secret: str) -> str:
    return f"...{secret[-4:]}" if secret else ""


def _config_row(conn: sqlite3.Connection, account_id: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT * FROM notification_config WHERE account_id = ?", (account_id,)
    ).fetchone()
    if row is None:
        return {
            "account_id": account_id, "enabled_channels": list(_DEFAULT_CHANNELS),
            "slack_channel_id": "", "email_address": "", "slack_webhook_url": "",
            "discord_webhook_url": "", "slack_bot_token": "",
        }  # fmt: skip
    data = dict(row)
    data["enabled_channels"] = json.loads(data["enabled_channels"])
    return data


def _public(config: dict[str, Any]) -> NotificationConfig:
    return NotificationConfig(
        account_id=config["account_id"],
        enabled_channels=config["enabled_channels"],
        slack_channel_id=config["slack_channel_id"],
        email_address=config["email_address"],
        slack_webhook_configured=bool(config["slack_webhook_url"]),
        slack_webhook_hint=_hint(config["slack_webhook_url"]),
        slack_bot_token_configured=bool(config["slack_bot_token"]),
        slack_bot_token_hint=_hint(config["slack_bot_token"]),
        discord_webhook_configured=bool(config["discord_webhook_url"]),
        discord_webhook_hint=_hint(config["discord_webhook_url"]),
    )


def get_config(conn: sqlite3.Connection, account_id: str) -> NotificationConfig:
    """The account's notification settings, credentials only as hints."""
    return _public(_config_row(conn, account_id))


def _webhook(field: str, value: str) -> str:
    if value == NotificationConfigUpdate.CLEAR:
        return ""
    if len(value) > _MAX_URL:
        raise Invalid(f"{field} is longer than {_MAX_URL} characters")
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        raise Invalid(f"{field} is not a valid URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise Invalid(f"{field} must be an http(s) URL")
    return value


def _validated_update(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    allowed = NotificationConfigUpdate.model_fields
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise Invalid(f"unknown field {unknown[0]!r}; settable: {', '.join(allowed)}")
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if value is None:
            continue
        if key == "enabled_channels":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise Invalid("enabled_channels must be an array of channel names")
            bad = [v for v in value if v not in CHANNELS]
            if bad:
                raise Invalid(f"unknown channel {bad[0]!r}; channels: {', '.join(CHANNELS)}")
            changes[key] = list(dict.fromkeys(value))
            continue
        if not isinstance(value, str):
            raise Invalid(f"{key} must be a string")
        if key in ("slack_webhook_url", "discord_webhook_url"):
            changes[key] = _webhook(key, value)
        elif key == "email_address":
            if value and not _EMAIL.match(value):
                raise Invalid("email_address is not an email address")
            changes[key] = value
        else:
            if len(value) > 200:
                raise Invalid(f"{key} is longer than 200 characters")
            changes[key] = value
    return changes


def update_config(conn: sqlite3.Connection, account_id: str, body: Any) -> NotificationConfig:
    """Apply only the fields given (validated first); return the config as read back."""
    changes = _validated_update(body)
    with transaction(conn):
        config = {**_config_row(conn, account_id), **changes}
        conn.execute(
            "INSERT OR REPLACE INTO notification_config (account_id, enabled_channels,"
            " slack_channel_id, email_address, slack_webhook_url, discord_webhook_url,"
            " slack_bot_token) VALUES (?,?,?,?,?,?,?)",
            (account_id, json.dumps(config["enabled_channels"]), config["slack_channel_id"],
             config["email_address"], config["slack_webhook_url"],
             config["discord_webhook_url"], config["slack_bot_token"]),
        )  # fmt: skip
    return _public(config)


# --------------------------------------------------------------------------- notifications


def _notification(row: sqlite3.Row) -> Notification:
    delivered = row["delivered"]
    return Notification(
        id=row["id"],
        account_id=row["account_id"],
        alert_id=row["alert_id"],
        channel=row["channel"],
        title=row["title"],
        message=row["message"],
        read=bool(row["read"]),
        created_at=from_us(row["created_at"]),
        delivered=None if delivered is None else bool(delivered),
        delivery_error=row["delivery_error"],
    )


@dataclass(frozen=True, slots=True)
class _Delivery:
    notification_id: str
    channel: str
    target: str  # webhook URL or email address


def _target(config: dict[str, Any], channel: str, smtp_configured: bool) -> tuple[str, str | None]:
    """Where a channel delivers to, or why it cannot."""
    if channel == NotificationChannel.SLACK.value:
        url = config["slack_webhook_url"]
        return url, None if url else "no Slack webhook URL is configured"
    if channel == NotificationChannel.DISCORD.value:
        url = config["discord_webhook_url"]
        return url, None if url else "no Discord webhook URL is configured"
    if channel == NotificationChannel.EMAIL.value:
        if not smtp_configured:
            return "", (
                "email is not configured on this platform "
                "(set the SMTP host, port and from address in its config)"
            )
        address = config["email_address"]
        return address, None if address else "no email_address is configured"
    return "", None


def _create_for_alert(
    conn: sqlite3.Connection, alert: Alert, now_us: int, smtp_configured: bool
) -> tuple[list[_Delivery], list[Notification]]:
    config = _config_row(conn, alert.account_id)
    deliveries: list[_Delivery] = []
    in_app = NotificationChannel.IN_APP.value
    # in_app is always created, once, whether or not it is listed.
    channels = [in_app, *(c for c in config["enabled_channels"] if c != in_app)]
    with transaction(conn):
        ids: list[str] = []
        for channel in channels:
            target, reason = _target(config, channel, smtp_configured)
            internal = channel == in_app
            notification_id = new_id("ntf")
            conn.execute(
                "INSERT INTO notifications (id, account_id, alert_id, channel, title, message,"
                " read, created_at, delivered, delivery_error) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (notification_id, alert.account_id, alert.id, channel, alert.title,
                 alert.message, 0 if internal else 1, now_us,
                 1 if internal else (0 if reason else None), reason),
            )  # fmt: skip
            ids.append(notification_id)
            if not internal and reason is None:
                deliveries.append(_Delivery(notification_id, channel, target))
    marks = ",".join("?" * len(ids))
    rows = conn.execute(f"SELECT * FROM notifications WHERE id IN ({marks})", ids).fetchall()
    return deliveries, [_notification(r) for r in rows]


def _interrupted(
    conn: sqlite3.Connection, smtp_configured: bool
) -> list[tuple[Alert, str, _Delivery | None, str]]:
    """Deliveries a previous run left in flight: (alert, notification id, the delivery —
    or None and why it cannot be made now)."""
    rows = conn.execute(
        "SELECT id, alert_id, channel FROM notifications"
        " WHERE delivered IS NULL AND channel != ? AND alert_id IS NOT NULL",
        (NotificationChannel.IN_APP.value,),
    ).fetchall()
    found: list[tuple[Alert, str, _Delivery | None, str]] = []
    for row in rows:
        alert_row = conn.execute("SELECT * FROM alerts WHERE id = ?", (row["alert_id"],)).fetchone()
        if alert_row is None:
            continue
        alert = alert_from_row(alert_row)
        target, reason = _target(
            _config_row(conn, alert.account_id), row["channel"], smtp_configured
        )
        delivery = None if reason else _Delivery(row["id"], row["channel"], target)
        found.append((alert, row["id"], delivery, reason or ""))
    return found


def _record_outcome(
    conn: sqlite3.Connection, notification_id: str, delivered: bool, error: str | None,
    attempts: int,
) -> None:  # fmt: skip
    with transaction(conn):
        conn.execute(
            "UPDATE notifications SET delivered = ?, delivery_error = ?, attempts = ? WHERE id = ?",
            (int(delivered), error, attempts, notification_id),
        )


def list_notifications(
    conn: sqlite3.Connection, account_id: str, limit: int, unread_only: bool
) -> tuple[list[Notification], int]:
    """Notifications newest first, and the unread count."""
    query = "SELECT * FROM notifications WHERE account_id = ?"
    if unread_only:
        query += " AND read = 0"
    rows = conn.execute(query + " ORDER BY pk DESC LIMIT ?", (account_id, limit)).fetchall()
    return [_notification(r) for r in rows], unread_count(conn, account_id)


def for_alert(conn: sqlite3.Connection, account_id: str, alert_id: str) -> list[Notification]:
    """Every notification of one alert, one per channel, with its delivery outcome."""
    rows = conn.execute(
        "SELECT * FROM notifications WHERE account_id = ? AND alert_id = ? ORDER BY pk",
        (account_id, alert_id),
    ).fetchall()
    return [_notification(r) for r in rows]


def unread_count(conn: sqlite3.Connection, account_id: str) -> int:
    """How many of the account's notifications are unread."""
    row = conn.execute(
        "SELECT COUNT(*) FROM notifications WHERE account_id = ? AND read = 0", (account_id,)
    ).fetchone()
    return int(row[0])


def mark_read(conn: sqlite3.Connection, account_id: str, notification_id: str) -> None:
    """Mark one notification read, or raise :class:`NotFound`."""
    with transaction(conn):
        cursor = conn.execute(
            "UPDATE notifications SET read = 1 WHERE id = ? AND account_id = ?",
            (notification_id, account_id),
        )
    if cursor.rowcount == 0:
        raise NotFound(f"no notification {notification_id!r}")


def mark_all_read(conn: sqlite3.Connection, account_id: str) -> None:
    """Mark every notification of the account read."""
    with transaction(conn):
        conn.execute("UPDATE notifications SET read = 1 WHERE account_id = ?", (account_id,))


# --------------------------------------------------------------------------- payloads


def slack_payload(alert: Alert) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` (fallback) plus Block Kit ``blocks``."""
    severity = alert.severity.value.upper()
    context = f"*{severity}* · {alert.rule_type}"
    if alert.sandbox_id:
        context += f" · sandbox `{alert.sandbox_id}`"
    return {
        "text": f"[{severity}] {alert.title}: {alert.message}"[:3000],
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": alert.title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": alert.message[:3000]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }


def discord_payload(alert: Alert) -> dict[str, Any]:
    """A Discord webhook message: ``content`` plus one embed."""
    severity = alert.severity.value
    embed: dict[str, Any] = {
        "title": alert.title[:256],
        "description": alert.message[:4096],
        "color": _COLOURS.get(severity, _COLOURS["info"]),
        "fields": [
            {"name": "Severity", "value": severity, "inline": True},
            {"name": "Rule", "value": alert.rule_type or "-", "inline": True},
            {"name": "Sandbox", "value": alert.sandbox_id or "-", "inline": True},
        ],
        "footer": {"text": f"Caged alert {alert.id}"},
    }
    if alert.created_at is not None:
        embed["timestamp"] = alert.created_at.isoformat()
    return {"content": f"**[{severity.upper()}] {alert.title}**"[:2000], "embeds": [embed]}


def _email(alert: Alert, sender: str, to: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"[Caged {alert.severity.value}] {alert.title}"
    message["From"] = sender
    message["To"] = to
    lines = [alert.message, "", f"Rule: {alert.rule_type}"]
    if alert.sandbox_id:
        lines.append(f"Sandbox: {alert.sandbox_id}")
    if alert.session_id:
        lines.append(f"Session: {alert.session_id}")
    lines.append(f"Alert: {alert.id}")
    message.set_content("\n".join(lines))
    return message


# --------------------------------------------------------------------------- delivery


class _Retryable(Exception):
    """A failure worth another attempt, with the server's Retry-After if it sent one."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class Notifier:
    """Creates an alert's notifications and delivers them in the background."""

    def __init__(
        self,
        db: Database,
        http: httpx.AsyncClient,
        *,
        smtp: SmtpSettings | None,
        policy: DeliveryPolicy,
        now_us: Callable[[], int],
    ) -> None:
        self._db = db
        self._http = http
        self._smtp = smtp
        self._policy = policy
        self._now_us = now_us
        self._tasks: set[asyncio.Task[None]] = set()
        # Deliveries sleeping before a retry: close() cancels these at once.
        self._backing_off: set[asyncio.Task[Any]] = set()

    async def dispatch(self, alert: Alert) -> list[Notification]:
        """Create the alert's notifications now; deliver the external ones in the background."""
        deliveries, created = await self._db.run(
            _create_for_alert, alert, self._now_us(), self._smtp is not None
        )
        for delivery in deliveries:
            self._start(alert, delivery)
        return created

    async def resume(self) -> int:
        """Deliver again what a previous run left in flight (it stopped mid-delivery).

        Returns how many deliveries were restarted.
        """
        restarted = 0
        for alert, notification_id, delivery, reason in await self._db.run(
            _interrupted, self._smtp is not None
        ):
            if delivery is None:  # the channel lost its target meanwhile
                await self._db.run(_record_outcome, notification_id, False, reason, 0)
            else:
                self._start(alert, delivery)
                restarted += 1
        return restarted

    def _start(self, alert: Alert, delivery: _Delivery) -> None:
        task = asyncio.create_task(self._deliver(alert, delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_idle(self) -> None:
        """Wait until every delivery in flight has finished (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Let requests in flight finish (up to the request timeout); cancel deliveries
        waiting to retry. Those keep delivered = null and :meth:`resume` makes them on
        the next start — so across a stop a message is sent at least once, and only
        twice if a request was cut off mid-way."""
        for task in list(self._backing_off):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self._policy.timeout)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _deliver(self, alert: Alert, delivery: _Delivery) -> None:
        attempts = 0
        error: str | None = None
        delivered = False
        for attempt in range(1, self._policy.attempts + 1):
            attempts = attempt
            try:
                await self._send_once(alert, delivery)
            except _Retryable as failure:
                error = str(failure)
                if attempt == self._policy.attempts:
                    break
                await self._back_off(self._delay(attempt, failure.retry_after))
            except Exception as failure:  # a refusal that will not change on a retry
                error = str(failure)
                break
            else:
                delivered, error = True, None
                break
        if not delivered:
            _log.warning("alert %s: %s delivery failed: %s", alert.id, delivery.channel, error)
        await self._db.run(_record_outcome, delivery.notification_id, delivered, error, attempts)

    async def _back_off(self, seconds: float) -> None:
        task = asyncio.current_task()
        assert task is not None  # always called from a delivery task
        self._backing_off.add(task)
        try:
            await self._policy.sleep(seconds)
        finally:
            self._backing_off.discard(task)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        policy = self._policy
        delay = backoff(
            attempt - 1, base=policy.base_delay, cap=policy.max_delay, draw=policy.jitter()
        )
        if retry_after is not None:
            delay = max(delay, min(retry_after, policy.max_retry_after))
        return delay

    async def _send_once(self, alert: Alert, delivery: _Delivery) -> None:
        if delivery.channel == NotificationChannel.EMAIL.value:
            await self._send_email(alert, delivery.target)
            return
        name = "Slack" if delivery.channel == NotificationChannel.SLACK.value else "Discord"
        payload = (
            slack_payload(alert) if delivery.channel == NotificationChannel.SLACK.value
            else discord_payload(alert)
        )  # fmt: skip
        try:
            response = await self._http.post(
                delivery.target, json=payload, timeout=self._policy.timeout
            )
        except httpx.TimeoutException:
            raise _Retryable(f"the {name} webhook did not answer in time") from None
        except httpx.HTTPError as err:
            # The URL is a credential: name the failure, never the address.
            raise _Retryable(f"could not reach the {name} webhook ({type(err).__name__})") from None
        if response.is_success:
            return
        snippet = response.text[:200].strip()
        message = f"the {name} webhook answered HTTP {response.status_code}"
        if snippet:
            message += f": {snippet}"
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retryable(message, _retry_after(response))
        raise RuntimeError(message)

    async def _send_email(self, alert: Alert, to: str) -> None:
        smtp = self._smtp
        if smtp is None:  # dispatch() never schedules email without settings
            raise RuntimeError("email is not configured on this platform")
        message = _email(alert, smtp.sender, to)

        def send() -> None:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
                if smtp.starttls:
                    client.starttls()
                if smtp.username:
                    client.login(smtp.username, smtp.password or "")
                client.send_message(message)

        try:
            await asyncio.to_thread(send)
        except smtplib.SMTPResponseException as err:
            text = f"the SMTP server answered {err.smtp_code}"
            if 400 <= err.smtp_code < 500:  # 4xx: transient by SMTP's definition
                raise _Retryable(text) from None
            raise RuntimeError(text) from None
        except (OSError, smtplib.SMTPException) as err:
            raise _Retryable(f"could not send email ({type(err).__name__})") from None


class Notifications:
    """``/notifications``: the account's notifications and its channel settings
    (:class:`Notifier` creates and delivers them)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def page(
        self, account_id: str, limit: int = 50, unread: bool = False
    ) -> NotificationPage:
        """``GET /notifications``: newest first (``limit`` 1-500), optionally unread only."""
        limit = int_param("limit", limit, 1, 500)
        found, count = await self._db.run(list_notifications, account_id, limit, unread)
        return NotificationPage(notifications=found, unread_count=count)

    async def unread_count(self, account_id: str) -> int:
        """``GET /notifications/unread-count``."""
        return await self._db.run(unread_count, account_id)

    async def mark_read(self, account_id: str, notification_id: str) -> None:
        """``POST /notifications/{id}/read``; :class:`NotFound` for an unknown one."""
        await self._db.run(mark_read, account_id, notification_id)

    async def mark_all_read(self, account_id: str) -> None:
        """``POST /notifications/read-all``."""
        await self._db.run(mark_all_read, account_id)

    async def config(self, account_id: str) -> NotificationConfig:
        """``GET /notifications/config``: credentials only as ``...abcd`` hints."""
        return await self._db.run(get_config, account_id)

    async def update_config(self, account_id: str, body: Any) -> NotificationConfig:
        """``PUT /notifications/config``: only the fields given; ``"__clear__"`` removes a
        webhook. Raises :class:`Invalid` for an unknown field or a bad value."""
        return await self._db.run(update_config, account_id, body)

    async def for_alert(self, account_id: str, alert_id: str) -> list[Notification]:
        """Every notification (all channels, with delivery outcomes) of one alert."""
        return await self._db.run(for_alert, account_id, alert_id)
