"""Per-credential token-bucket rate limiting, as ASGI middleware.

Every HTTP response carries ``X-RateLimit-Limit/Remaining/Reset`` like the
hosted API's; a caller that runs its bucket dry gets a 429 problem with
``Retry-After``. WebSocket handshakes draw from the same bucket. The local
default is generous (6000/min): the limit exists so that a runaway script
meets the same behaviour it would meet on the hosted platform.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from caged_platform.http.problems import problem_response
from caged_platform.services.auth import bearer_token

__all__ = ["RateLimitMiddleware", "TokenBucket"]

# Enough distinct callers for any local use; beyond it the least recent are forgotten
# (a forgotten caller simply starts again with a full bucket).
_MAX_BUCKETS = 4096


@dataclass(slots=True)
class TokenBucket:
    """``capacity`` tokens, refilled continuously over ``period`` seconds."""

    capacity: int
    period: float
    tokens: float
    updated: float

    def take(self, now: float) -> bool:
        """Spend one token if there is one."""
        rate = self.capacity / self.period
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def seconds_until(self, tokens: float) -> float:
        """How long until the bucket holds ``tokens`` again."""
        return max(0.0, (tokens - self.tokens) * self.period / self.capacity)


class RateLimitMiddleware:
    """Applies a :class:`TokenBucket` per credential (or per client address without one)."""

    def __init__(self, app: ASGIApp, *, limit: int = 6000, period: float = 60.0) -> None:
        self.app = app
        self.limit = limit
        self.period = period
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def _bucket(self, scope: Scope, now: float) -> TokenBucket:
        headers = Headers(scope=scope)
        credential = bearer_token(headers.get("authorization"))
        if credential is None:
            client = scope.get("client")
            credential = f"addr:{client[0] if client else '?'}"
        # Keyed by a digest so that the secrets themselves are not kept around here.
        ident = hashlib.sha256(credential.encode()).hexdigest()
        bucket = self._buckets.get(ident)
        if bucket is None:
            bucket = TokenBucket(self.limit, self.period, float(self.limit), now)
            self._buckets[ident] = bucket
            if len(self._buckets) > _MAX_BUCKETS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(ident)
        return bucket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        now = time.monotonic()
        bucket = self._bucket(scope, now)
        allowed = bucket.take(now)
        reset = math.ceil(time.time() + bucket.seconds_until(self.limit))
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(int(bucket.tokens)),
            "X-RateLimit-Reset": str(reset),
        }
        if not allowed:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4429, "reason": "rate limited"})
                return
            retry_after = max(1, math.ceil(bucket.seconds_until(1)))
            response = problem_response(
                429,
                f"rate limit of {self.limit} requests per minute exceeded; "
                f"retry in {retry_after} s",
                headers={**headers, "Retry-After": str(retry_after)},
            )
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)
