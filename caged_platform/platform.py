"""The local platform's configuration and the shared state its lifespan owns."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from caged_core.errors import CagedConfigError
from caged_platform.changes import Changes
from caged_platform.observe import (
    Alerts,
    Notifications,
    Observer,
    SessionViews,
    SmtpSettings,
)
from caged_platform.runtime.api import Runtime
from caged_platform.services.auth import Keys
from caged_platform.services.connections import Connections
from caged_platform.services.first_key import ensure_first_key
from caged_platform.services.observe_hooks import ObserveHooks
from caged_platform.services.sandboxes import DEFAULT_MAX_SANDBOXES, SandboxService
from caged_platform.services.snapshot_service import SnapshotService
from caged_platform.store import Store

__all__ = [
    "Platform",
    "PlatformConfig",
    "default_runtime",
    "max_sandboxes_from_env",
    "smtp_from_env",
]

#: Environment variables that configure email notifications (host and sender required).
SMTP_ENV = {
    "host": "CAGED_SMTP_HOST",
    "port": "CAGED_SMTP_PORT",
    "sender": "CAGED_SMTP_FROM",
    "username": "CAGED_SMTP_USERNAME",
    "password": "CAGED_SMTP_PASSWORD",
    "starttls": "CAGED_SMTP_STARTTLS",
}
_DEFAULT_SMTP_PORT = 25
#: Environment variable capping the sandboxes that may be live at once.
MAX_SANDBOXES_ENV = "CAGED_MAX_SANDBOXES"


def default_runtime(data_dir: Path) -> Runtime:
    """The real sandbox runtime (bubblewrap cages), imported only when a server starts."""
    from caged_platform.runtime.manager import LocalRuntime

    return LocalRuntime(data_dir)


def smtp_from_env(environ: Mapping[str, str]) -> SmtpSettings | None:
    """Email settings from :data:`SMTP_ENV`; None when ``CAGED_SMTP_HOST`` is unset.

    ``CAGED_SMTP_PORT`` defaults to 25; ``CAGED_SMTP_STARTTLS`` is ``1``/``true``
    to upgrade the connection. Raises :class:`CagedConfigError` for a missing
    sender or a port that is not a number.
    """
    host = environ.get(SMTP_ENV["host"], "").strip()
    if not host:
        return None
    sender = environ.get(SMTP_ENV["sender"], "").strip()
    if not sender:
        raise CagedConfigError(f"{SMTP_ENV['host']} is set but {SMTP_ENV['sender']} is not")
    raw_port = environ.get(SMTP_ENV["port"], "").strip() or str(_DEFAULT_SMTP_PORT)
    if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
        raise CagedConfigError(f"{SMTP_ENV['port']} must be a port number, not {raw_port!r}")
    return SmtpSettings(
        host=host,
        port=int(raw_port),
        sender=sender,
        username=environ.get(SMTP_ENV["username"]) or None,
        password=environ.get(SMTP_ENV["password"]) or None,
        starttls=environ.get(SMTP_ENV["starttls"], "").lower() in ("1", "true", "yes"),
    )


def max_sandboxes_from_env(environ: Mapping[str, str]) -> int:
    """``CAGED_MAX_SANDBOXES`` (a positive integer), or :data:`DEFAULT_MAX_SANDBOXES`.

    Raises :class:`CagedConfigError` for anything else.
    """
    raw = environ.get(MAX_SANDBOXES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_SANDBOXES
    if not raw.isdigit() or int(raw) < 1:
        raise CagedConfigError(f"{MAX_SANDBOXES_ENV} must be a positive integer, not {raw!r}")
    return int(raw)


@dataclass(frozen=True, slots=True)
class PlatformConfig:
    """How to run the platform.

    ``pinned_key``: an API key (``CAGED_API_KEY``) to accept with full scope, so
    that tests and scripts know the key in advance. ``tick_seconds``: how often
    idle sandboxes are looked for. ``runtime_factory``: builds the runtime for
    the data dir (the real bubblewrap runtime unless a caller swaps it).
    ``smtp``: where email notifications are sent from (``serve`` reads it with
    :func:`smtp_from_env`; none: email is recorded as not delivered, with the reason).
    ``max_sandboxes``: how many sandboxes may be pending, running or paused at once
    (``CAGED_MAX_SANDBOXES``); one more is refused with a 409 problem.
    """

    data_dir: Path
    pinned_key: str | None = None
    rate_limit_per_minute: int = 6000
    tick_seconds: float = 1.0
    runtime_factory: Callable[[Path], Runtime] = default_runtime
    smtp: SmtpSettings | None = None
    max_sandboxes: int = DEFAULT_MAX_SANDBOXES


@dataclass(slots=True)
class Platform:
    """Everything a request handler may use; built and torn down by the app's lifespan."""

    config: PlatformConfig
    store: Store
    keys: Keys
    runtime: Runtime
    connections: Connections
    snapshots: SnapshotService
    sandboxes: SandboxService
    observer: Observer
    #: Bumped on every write to what the live feed's routes show (held GETs wait on it).
    changes: Changes

    @property
    def sessions(self) -> SessionViews:
        """Agent sessions, replay and trust scores, as the API reads them."""
        return self.observer.sessions

    @property
    def alerts(self) -> Alerts:
        """The account's alerts and alert rules."""
        return self.observer.alerts

    @property
    def notifications(self) -> Notifications:
        """The account's notifications and channel settings."""
        return self.observer.notifications

    @classmethod
    async def open(cls, config: PlatformConfig, *, changes: Changes | None = None) -> Platform:
        """Open the databases, build the runtime, start the observer and reattach to
        surviving sandboxes. ``changes`` is told of every write held GETs watch."""
        changes = changes or Changes()
        config.data_dir.mkdir(parents=True, exist_ok=True)
        store = Store(config.data_dir / "platform.db")
        await store.open()
        # The runtime gets the whole data dir: it hides it from every cage (keys, database).
        runtime = config.runtime_factory(config.data_dir)
        connections = Connections()
        # Signs snapshot download links; kept in the database so links survive a restart.
        link_secret = await store.setting("download_link_secret", lambda: secrets.token_hex(32))
        snapshots = SnapshotService(
            store, runtime, config.data_dir / "snapshots", bytes.fromhex(link_secret)
        )
        hooks = ObserveHooks(store)
        observer = Observer(config.data_dir, hooks=hooks, smtp=config.smtp, on_change=changes.bump)
        sandboxes = SandboxService(
            store,
            runtime,
            snapshots,
            connections,
            observer,
            max_live=config.max_sandboxes,
            on_change=changes.bump,
        )
        hooks.bind(sandboxes)
        await observer.start()
        runtime.on_network_refused(observer.network_refused)
        platform = cls(
            config=config,
            store=store,
            keys=Keys(store, on_revoke=connections.close_key),
            runtime=runtime,
            connections=connections,
            snapshots=snapshots,
            sandboxes=sandboxes,
            observer=observer,
            changes=changes,
        )
        await ensure_first_key(platform.keys, config.data_dir, config.pinned_key)
        await platform.sandboxes.recover()
        return platform

    async def close(self) -> None:
        """Stop background work and close the databases (sandboxes keep running)."""
        await self.sandboxes.shutdown()
        for conn in self.connections.all():
            await conn.close(1001, "the platform is shutting down")
        await self.runtime.aclose()
        await self.observer.close()
        await self.store.close()
