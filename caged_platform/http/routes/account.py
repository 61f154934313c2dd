"""REST endpoints of the account: profile, API keys, connected clients, billing, tickets."""

from __future__ import annotations

from datetime import datetime

from starlette.responses import Response

from caged_core.models import (
    Account,
    AccountSession,
    APIKey,
    CheckoutSession,
    CreatedKey,
    SocketTicket,
    Subscription,
    Usage,
)
from caged_platform.errors import Problem
from caged_platform.http.bodies import CheckoutRequest, KeyCreate
from caged_platform.http.routes.base import (
    Call,
    Operation,
    json_response,
    no_content,
    not_available,
)
from caged_platform.services.auth import TICKET_TTL_SECONDS
from caged_platform.services.connections import CLOSE_REVOKED
from caged_platform.store import Row

__all__ = ["OPERATIONS"]

_HOSTED_ONLY = "is only available on the hosted Caged platform"


class ConnectedClient(AccountSession):
    """An account session as the local platform has them: a connected terminal or MCP
    socket. It expires when its sandbox would pause for idleness (which closes it),
    moving on with every activity; ``9999-12-31T23:59:59Z`` when the sandbox never
    idles out. The contract has a string here, never null."""

    expires_at: datetime


def _key_model(row: Row) -> APIKey:
    return APIKey.model_validate(row)


async def get_account(call: Call) -> Response:
    keys = await call.platform.keys.live()
    created: datetime | None = min((k["created_at"] for k in keys), default=None)
    account = Account(
        id=call.principal.account_id,
        email="",
        name="Local user",
        tier="local",
        email_verified=True,
        created_at=created,
    )
    return json_response(account)


async def list_keys(call: Call) -> Response:
    return json_response([_key_model(r) for r in await call.platform.keys.live()])


async def create_key(call: Call) -> Response:
    body = await call.body(KeyCreate)
    secret, row = await call.platform.keys.create(body.name, str(body.scope))
    return json_response(CreatedKey(key=secret, info=_key_model(row)), 201)


async def revoke_key(call: Call) -> Response:
    if not await call.platform.keys.revoke(call.param("id")):
        raise Problem(404, f"API key {call.param('id')!r} not found")
    return no_content()


async def list_sessions(call: Call) -> Response:
    sandboxes = call.platform.sandboxes
    sessions = [
        ConnectedClient(
            id=c.id,
            user_agent=c.user_agent,
            ip=c.address,
            expires_at=await sandboxes.idle_deadline(c.sandbox_id),
            created_at=c.created_at,
        )
        for c in call.platform.connections.all()
    ]
    return json_response(sessions)


async def end_session(call: Call) -> Response:
    conn = call.platform.connections.get(call.param("id"))
    if conn is None:
        raise Problem(404, f"session {call.param('id')!r} not found (it is not connected)")
    await conn.close(CLOSE_REVOKED, "the account session was revoked")
    return no_content()


async def subscription(call: Call) -> Response:
    return json_response(Subscription(tier="local", status="active", customer_id="local"))


async def usage(call: Call) -> Response:
    minutes = await call.platform.sandboxes.compute_seconds() / 60
    # Nothing is reported anywhere locally: everything counts as reported at once.
    return json_response(
        Usage(compute_minutes=round(minutes, 3), reported_minutes=round(minutes, 3))
    )


async def checkout(call: Call) -> Response:
    await call.body(CheckoutRequest)
    raise Problem(501, f"billing {_HOSTED_ONLY}")


async def socket_ticket(call: Call) -> Response:
    ticket, expires_at = await call.platform.keys.issue_ticket(call.principal)
    return json_response(
        SocketTicket(ticket=ticket, expires_in=TICKET_TTL_SECONDS, expires_at=expires_at), 201
    )


OPERATIONS = (
    Operation("GET", "/account", get_account, "The account", response=Account, tag="account"),
    Operation(
        "GET",
        "/account/keys",
        list_keys,
        "API keys (never their secrets)",
        response=APIKey,
        response_many=True,
        tag="account",
    ),
    Operation(
        "POST",
        "/account/keys",
        create_key,
        "Create an API key (secret shown once)",
        status=201,
        request=KeyCreate,
        response=CreatedKey,
        tag="account",
    ),
    Operation(
        "DELETE", "/account/keys/{id}", revoke_key, "Revoke an API key", status=204, tag="account"
    ),
    Operation(
        "GET",
        "/account/sessions",
        list_sessions,
        "Clients connected now",
        response=ConnectedClient,
        response_many=True,
        tag="account",
    ),
    Operation(
        "DELETE",
        "/account/sessions/{id}",
        end_session,
        "Disconnect a client",
        status=204,
        tag="account",
    ),
    Operation(
        "GET",
        "/billing/subscription",
        subscription,
        "The subscription (tier local)",
        response=Subscription,
        tag="billing",
    ),
    Operation(
        "GET", "/billing/usage", usage, "Compute minutes used", response=Usage, tag="billing"
    ),
    Operation(
        "POST",
        "/billing/checkout",
        checkout,
        "Stripe checkout (hosted only)",
        request=CheckoutRequest,
        response=CheckoutSession,
        tag="billing",
        hosted_only=True,
    ),
    Operation(
        "POST",
        "/billing/portal",
        not_available("billing", _HOSTED_ONLY),
        "Stripe portal (hosted only)",
        response=CheckoutSession,
        tag="billing",
        hosted_only=True,
    ),
    Operation(
        "POST",
        "/billing/cancel",
        not_available("billing", _HOSTED_ONLY),
        "Cancel the subscription (hosted only)",
        tag="billing",
        hosted_only=True,
    ),
    # A ticket does not change anything, and read-only keys need one for the MCP socket.
    Operation(
        "POST",
        "/auth/socket-ticket",
        socket_ticket,
        "A single-use WebSocket ticket",
        status=201,
        response=SocketTicket,
        write=False,
        tag="auth",
    ),
)
