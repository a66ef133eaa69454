"""Login throttling: failed logins per username + IP, per username, and per IP.

Three windows, each with its own limit (settings ``login_max_failures*``):

* username + IP: one person mistyping; the tightest limit.
* username, any IP: a botnet guessing one account's password from many addresses.
* IP, any username: one address spraying common passwords across accounts.

With more than one web process the counts must be shared, or each process grants its
own budget: they live in Redis (sorted sets of failure times, expiring with the window).
Every failure is also counted in this process, and when Redis cannot be reached the
local counts decide alone until it is back: throttling degrades, it never switches off.
Keys are HMACs (namespaced by the secret key), so Redis never holds usernames or IPs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from callcenter.keys import derive_key
from callcenter.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

REDIS_TIMEOUT_S = 0.5  # a login must not hang on a sick Redis
REDIS_RETRY_AFTER_S = 30.0  # after a failure, use local counts this long before retrying
MAX_LOCAL_KEYS = 20_000  # bounds memory under a spraying attack


@dataclass(frozen=True)
class Limits:
    per_pair: int
    per_user: int
    per_ip: int
    window_s: float


class _LocalWindows:
    """Sliding windows of failure times, in this process."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str) -> deque[float]:
        now = time.monotonic()
        failures = self._failures.setdefault(key, deque())
        while failures and now - failures[0] > self.window_s:
            failures.popleft()
        return failures

    def count(self, key: str) -> tuple[int, float]:
        """(failures in the window, seconds until the oldest leaves it)."""
        failures = self._recent(key)
        if not failures:
            return 0, 0.0
        return len(failures), self.window_s - (time.monotonic() - failures[0])

    def add(self, key: str) -> None:
        self._recent(key).append(time.monotonic())
        while len(self._failures) > MAX_LOCAL_KEYS:
            del self._failures[next(iter(self._failures))]

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)


class LoginThrottle:
    def __init__(self, limits: Limits, *, namespace: bytes, redis_url: str | None) -> None:
        self.limits = limits
        self._namespace = namespace
        self._local = _LocalWindows(limits.window_s)
        self._redis = (
            aioredis.Redis.from_url(
                redis_url,
                socket_timeout=REDIS_TIMEOUT_S,
                socket_connect_timeout=REDIS_TIMEOUT_S,
                retry_on_timeout=False,
            )
            if redis_url
            else None
        )
        self._redis_down_until = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginThrottle:
        limits = Limits(
            per_pair=settings.login_max_failures,
            per_user=settings.login_max_failures_per_user,
            per_ip=settings.login_max_failures_per_ip,
            window_s=float(settings.login_window_s),
        )
        return cls(
            limits,
            namespace=derive_key(settings.secret_key, "login-throttle"),
            redis_url=throttle_redis_url(settings),
        )

    @property
    def shared(self) -> bool:
        """True while counts go to Redis (False: this process only)."""
        return self._redis is not None and time.monotonic() >= self._redis_down_until

    def _keys(self, username: str, ip: str) -> list[tuple[str, int]]:
        name = username.strip().lower()

        def key(kind: str, value: str) -> str:
            digest = hmac.new(self._namespace, f"{kind}\0{value}".encode(), hashlib.sha256)
            return f"callcenter:login:{kind}:{digest.hexdigest()[:32]}"

        return [
            (key("pair", f"{name}\0{ip}"), self.limits.per_pair),
            (key("user", name), self.limits.per_user),
            (key("ip", ip), self.limits.per_ip),
        ]

    async def retry_after(self, username: str, ip: str) -> int:
        """0 when a login attempt may go ahead, else seconds to wait (for Retry-After)."""
        wait = 0.0
        for key, limit in self._keys(username, ip):
            count, left = self._local.count(key)
            if self.shared:
                remote = await self._redis_count(key)
                if remote is not None and remote[0] >= count:
                    count, left = remote
            if count >= limit:
                wait = max(wait, left)
        return 0 if wait <= 0 else max(1, int(wait) + 1)

    async def failed(self, username: str, ip: str) -> None:
        for key, _ in self._keys(username, ip):
            self._local.add(key)
            if self.shared:
                await self._redis_add(key)

    async def succeeded(self, username: str, ip: str) -> None:
        # Only the pair: logging into one's own account must not reset what an address
        # or a targeted username has piled up.
        key = self._keys(username, ip)[0][0]
        self._local.clear(key)
        if self.shared:

            async def forget(r: aioredis.Redis) -> None:
                await r.delete(key)

            await self._redis_call(forget)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    # --- Redis ------------------------------------------------------------------------

    async def _redis_count(self, key: str) -> tuple[int, float] | None:
        now = time.time()
        window = self.limits.window_s

        async def count(r: aioredis.Redis) -> tuple[int, float]:
            async with r.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(key, 0, now - window)
                pipe.zcard(key)
                pipe.zrange(key, 0, 0, withscores=True)
                _, total, oldest = await pipe.execute()
            left = window - (now - oldest[0][1]) if oldest else 0.0
            return int(total), left

        return await self._redis_call(count)

    async def _redis_add(self, key: str) -> None:
        now = time.time()

        async def add(r: aioredis.Redis) -> None:
            async with r.pipeline(transaction=True) as pipe:
                pipe.zadd(key, {f"{now:.6f}-{secrets.token_hex(4)}": now})
                pipe.zremrangebyscore(key, 0, now - self.limits.window_s)
                pipe.expire(key, int(self.limits.window_s) + 1)
                await pipe.execute()

        await self._redis_call(add)

    async def _redis_call(self, work: Callable[[aioredis.Redis], Awaitable[T]]) -> T | None:
        assert self._redis is not None
        try:
            return await work(self._redis)
        except (RedisError, OSError) as error:
            self._redis_down_until = time.monotonic() + REDIS_RETRY_AFTER_S
            log.warning(
                "login throttle: Redis unreachable (%s); counting in this process for %.0f s",
                type(error).__name__,
                REDIS_RETRY_AFTER_S,
            )
            return None


def throttle_redis_url(settings: Settings) -> str | None:
    configured = settings.throttle_redis_url.strip()
    if configured == "memory":
        return None
    if configured:
        return configured
    broker = settings.celery_broker_url
    return broker if broker.startswith(("redis://", "rediss://")) else None
