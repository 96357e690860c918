"""The per-user rate limit: a moving one-minute window in memory or in Redis.

The key is the bearer token's subject when the token verifies, else the client
address. Every limited response carries the IETF draft fields `RateLimit-Policy`
and `RateLimit` and the older `X-RateLimit-*` triplet; a refused request is a
429 with `Retry-After`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import structlog
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from redis.asyncio import ConnectionPool
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from devflowfix.auth.tokens import token_subject
from devflowfix.config import Settings
from devflowfix.errors import AppError, RateLimited
from devflowfix.middleware import send_error

log = structlog.get_logger(__name__)

POLICY_NAME = "per-user"
WEBHOOK_POLICY_NAME = "per-webhook"
WEBHOOK_PREFIX = "/api/v1/webhooks/"
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def async_storage_uri(uri: str) -> str:
    """`redis://...` as the `limits` asyncio storage scheme `async+redis://...`."""
    return uri if uri.startswith("async+") else f"async+{uri}"


@dataclass(frozen=True)
class Budget:
    """A named allowance per minute and the key whose requests spend it."""

    policy: str
    item: RateLimitItem
    key: str


class RateLimiter:
    """Counts hits per key in the configured storage.

    The storage is opened by `start` and closed by `close`, inside the running
    event loop, because asyncio Redis connections belong to one loop.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.item = RateLimitItemPerMinute(settings.rate_limit_per_minute)
        self.webhook_item = RateLimitItemPerMinute(
            settings.webhook_rate_limit_per_minute
        )
        self._pool: ConnectionPool | None = None
        self._strategy: MovingWindowRateLimiter | None = None

    async def start(self) -> None:
        uri = self.settings.rate_limit_storage
        options: dict[str, Any] = {}
        if uri.split(":", 1)[0] in {"redis", "rediss"}:
            # redis-py is a dependency already; the asyncio default is coredis.
            self._pool = ConnectionPool.from_url(uri)
            options = {"implementation": "redispy", "connection_pool": self._pool}
        storage = storage_from_string(async_storage_uri(uri), **options)
        if not isinstance(storage, Storage):
            raise TypeError("the rate limit needs an asyncio storage")

        self._strategy = MovingWindowRateLimiter(storage)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
        self._strategy = None

    @property
    def strategy(self) -> MovingWindowRateLimiter:
        if self._strategy is None:
            raise RuntimeError("the rate limiter is used before the app started")
        return self._strategy

    async def hit(self, budget: Budget) -> tuple[bool, int, float]:
        """Count one request: (allowed, remaining, reset epoch seconds)."""
        allowed = await self.strategy.hit(budget.item, budget.key)
        stats = await self.strategy.get_window_stats(budget.item, budget.key)
        return allowed, max(0, stats.remaining), stats.reset_time

    def budget_for(self, scope: Scope) -> Budget:
        """Which budget a request spends: its user's, or its webhook endpoint's."""
        path = scope.get("path", "")
        if path.startswith(WEBHOOK_PREFIX):
            # Deliveries carry a signature, not a token, and a busy CI system
            # sends many from few addresses; each team's endpoint counts alone.
            return Budget(WEBHOOK_POLICY_NAME, self.webhook_item, "webhook:" + path)
        return Budget(POLICY_NAME, self.item, self.key_for(scope))

    def key_for(self, scope: Scope) -> str:
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and token:
                    try:
                        return "user:" + token_subject(token.strip(), self.settings)
                    except AppError:
                        break
                break

        client = scope.get("client")
        return "address:" + (client[0] if client else "unknown")


class RateLimitMiddleware:
    """Refuse a key's requests past the per-minute budget with a 429."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return

        budget = self.limiter.budget_for(scope)
        try:
            allowed, remaining, reset_at = await self.limiter.hit(budget)
        except Exception:
            # A rate-limit store that is down must not take the API down with it.
            log.warning("ratelimit.storage_unavailable", exc_info=True)
            await self.app(scope, receive, send)
            return

        limit = budget.item.amount
        reset_in = max(0, math.ceil(reset_at - time.time()))
        headers = {
            "RateLimit-Policy": f'"{budget.policy}";q={limit};w=60',
            "RateLimit": f'"{budget.policy}";r={remaining};t={reset_in}',
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(reset_at)),
        }

        if not allowed:
            log.warning("ratelimit.refused", policy=budget.policy)
            retry_after = max(1, reset_in)
            error = RateLimited(
                f"More than {limit} requests in a minute; retry in {retry_after} s."
            )
            headers["Retry-After"] = str(retry_after)
            request_id = scope.get("state", {}).get("request_id")
            await send_error(send, request_id, error, headers)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in headers.items():
                    response_headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
