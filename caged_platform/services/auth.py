"""API keys and socket tickets of the local platform.

Keys look like ``caged_sk_<43 url-safe chars>``; only their SHA-256 is stored
(they carry 256 random bits, so no salt or stretching is needed), with a short
prefix kept for display and for finding the candidate rows, which are then
compared in constant time. Socket tickets (``caged_wst_…``) are single-use,
live 60 seconds and are accepted only in a WebSocket handshake.

Every request is authenticated, so the principal of each live key that has been
verified is kept in memory by its hash: keys change only through :class:`Keys`
(one server owns the data dir), and revoking one forgets them all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from caged_platform.store import Row, Store, utcnow

__all__ = [
    "KEY_PREFIX",
    "LOCAL_ACCOUNT",
    "TICKET_PREFIX",
    "TICKET_TTL_SECONDS",
    "Keys",
    "Principal",
    "bearer_token",
]

KEY_PREFIX = "caged_sk_"
TICKET_PREFIX = "caged_wst_"
TICKET_TTL_SECONDS = 60
#: The local platform has one account; every key belongs to it.
LOCAL_ACCOUNT = "local"
_DISPLAY_PREFIX_LEN = len(KEY_PREFIX) + 6
# last_used is informational; writing it on every request would cost a disk sync each.
_LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key that authenticated the request and its scope."""

    key_id: str
    name: str
    scope: str

    @property
    def read_only(self) -> bool:
        return self.scope == "read_only"

    @property
    def account_id(self) -> str:
        """The account the key belongs to (events and alerts are kept per account)."""
        return LOCAL_ACCOUNT


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The credential of an ``Authorization: Bearer …`` header, if any."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


class Keys:
    """Creates, checks and revokes keys; issues and redeems socket tickets.

    ``on_revoke`` is awaited with the id of each key revoked (the server closes the
    sockets opened with it: a handshake is the only time a socket shows its key).
    """

    def __init__(
        self, store: Store, *, on_revoke: Callable[[str], Awaitable[None]] | None = None
    ) -> None:
        self._store = store
        self._on_revoke = on_revoke
        self._last_used: dict[str, datetime] = {}
        # SHA-256 of a live key's secret -> its principal; cleared by every revocation, which
        # also bumps the generation so that a lookup it overtook does not cache a revoked key.
        self._verified: dict[str, Principal] = {}
        self._revocations = 0

    async def create(self, name: str, scope: str) -> tuple[str, Row]:
        """A new key: its secret (to show once) and its stored row."""
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        return secret, await self.add(secret, name=name, scope=scope)

    async def add(self, secret: str, *, name: str, scope: str) -> Row:
        """Store an existing secret as a key (idempotent: a known secret's row is returned
        as is — revoked, when it was revoked, since a revoked secret stays revoked)."""
        existing = await self._find(secret, revoked_too=True)
        if existing is not None:
            return existing
        row: Row = {
            "id": "key-" + secrets.token_hex(4),
            "name": name,
            "prefix": secret[:_DISPLAY_PREFIX_LEN],
            "secret_hash": _hash(secret),
            "scope": scope,
            "created_at": utcnow(),
            "last_used": None,
            "revoked_at": None,
        }
        await self._store.insert("keys", row)
        return row

    async def _find(self, secret: str, *, revoked_too: bool = False) -> Row | None:
        digest = _hash(secret)
        found = None
        prefix = secret[:_DISPLAY_PREFIX_LEN]
        for row in await self._store.keys_with_prefix(prefix, revoked_too=revoked_too):
            # Compare every candidate so the time taken does not depend on which matched.
            if hmac.compare_digest(row["secret_hash"], digest):
                found = row
        return found

    async def verify(self, secret: str) -> Principal | None:
        """The principal of a live key, or None for an unknown/revoked one."""
        if not secret.startswith(KEY_PREFIX):
            return None
        digest = _hash(secret)
        principal = self._verified.get(digest)
        if principal is None:
            generation = self._revocations
            row = await self._find(secret)
            if row is None:
                return None
            principal = Principal(key_id=row["id"], name=row["name"], scope=row["scope"])
            if generation == self._revocations:
                self._verified[digest] = principal
        now = utcnow()
        previous = self._last_used.get(principal.key_id)
        if previous is None or now - previous > _LAST_USED_RESOLUTION:
            self._last_used[principal.key_id] = now
            await self._store.update("keys", principal.key_id, last_used=now)
        return principal

    async def live(self) -> list[Row]:
        """Every key that has not been revoked."""
        return await self._store.live_keys()

    async def revoke(self, key_id: str) -> bool:
        """Revoke a key; False if there is no such live key."""
        row = await self._store.get("keys", key_id)
        if row is None or row["revoked_at"] is not None:
            return False
        await self._store.update("keys", key_id, revoked_at=utcnow())
        self._revocations += 1
        self._verified.clear()
        if self._on_revoke is not None:
            await self._on_revoke(key_id)
        return True

    async def issue_ticket(self, principal: Principal) -> tuple[str, datetime]:
        """A fresh single-use socket ticket for ``principal`` and when it expires."""
        ticket = TICKET_PREFIX + secrets.token_urlsafe(32)
        expires_at = utcnow() + timedelta(seconds=TICKET_TTL_SECONDS)
        await self._store.add_ticket(_hash(ticket), principal.key_id, expires_at)
        return ticket, expires_at

    async def verify_socket_credential(self, token: str | None) -> Principal | None:
        """A WebSocket handshake's ``token``: a ticket (used up here) or, as fallback, a key."""
        if not token:
            return None
        if not token.startswith(TICKET_PREFIX):
            return await self.verify(token)
        key_id = await self._store.consume_ticket(_hash(token))
        if key_id is None:
            return None
        row = await self._store.get("keys", key_id)
        if row is None or row["revoked_at"] is not None:
            return None
        return Principal(key_id=row["id"], name=row["name"], scope=row["scope"])
