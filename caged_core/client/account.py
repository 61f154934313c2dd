"""``client.account``: the account, its API keys and its sessions."""

from __future__ import annotations

from pydantic import TypeAdapter

from caged_core.client._pages import AsyncPaginator, Listing, list_of
from caged_core.client._resource import Resource
from caged_core.client._transport import encode_path
from caged_core.models import Account as AccountInfo
from caged_core.models import AccountSession, APIKey, CreatedKey, KeyScope

__all__ = ["Account"]

_ACCOUNT = TypeAdapter(AccountInfo)
_KEYS = Listing.array(list_of(APIKey))
_CREATED = TypeAdapter(CreatedKey)
_SESSIONS = Listing.array(list_of(AccountSession))


class Account(Resource):
    """Who you are, your API keys and your signed-in sessions."""

    async def get(self, *, timeout: float | None = None) -> AccountInfo:
        """The account the key belongs to."""
        return await self._core.call("GET", "/account", _ACCOUNT, timeout=timeout)

    def list_keys(self, *, timeout: float | None = None) -> AsyncPaginator[APIKey]:
        """API keys (one page; prefixes only — secrets are never returned)."""
        return AsyncPaginator(self._core, "/account/keys", _KEYS, timeout=timeout)

    async def create_key(
        self,
        name: str,
        *,
        scope: KeyScope | str | None = None,
        timeout: float | None = None,
    ) -> CreatedKey:
        """Create a key; ``.key`` is the secret, shown this one time only."""
        body: dict[str, str] = {"name": name}
        if scope is not None:
            body["scope"] = str(scope)
        return await self._core.call("POST", "/account/keys", _CREATED, json=body, timeout=timeout)

    async def revoke_key(self, key_id: str, *, timeout: float | None = None) -> None:
        """Revoke a key at once."""
        await self._core.act("DELETE", encode_path("/account/keys/{}", key_id), timeout=timeout)

    def list_sessions(self, *, timeout: float | None = None) -> AsyncPaginator[AccountSession]:
        """Signed-in sessions (one page; on the local platform: the clients connected now)."""
        return AsyncPaginator(self._core, "/account/sessions", _SESSIONS, timeout=timeout)

    async def revoke_session(self, session_id: str, *, timeout: float | None = None) -> None:
        """End a session (locally: disconnect that client)."""
        await self._core.act(
            "DELETE", encode_path("/account/sessions/{}", session_id), timeout=timeout
        )
