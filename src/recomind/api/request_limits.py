"""Request rate limits per API key, per end user and per client address, per route group.

Each request falls in one route group (:func:`route_group`) and is counted against the group's
limits of ``RECOMIND_RATE_LIMITS_PER_KEY`` (requests with an API key, the master key counted as
the key ``master``), ``_PER_USER`` (requests with a user's token) and, always,
``_PER_ADDRESS`` (the client address, through :class:`~recomind.api.proxies.TrustedProxies`).
The principal is what the auth layer put in ``scope["state"]["recomind_principal"]``; without
one the request counts as anonymous (its address only). Over any limit: 429 with
``Retry-After`` (whole seconds until every window it is over has room again) and the limit
named in the JSON error; every request counts, refused or not.

The counting is :mod:`recomind.api.rate_limit`'s, the event limit's: limits' fixed windows, in
this process's memory on the embedded default (checked inline: no thread hop, no await) or in
Redis (one script call per round trip for all concurrent requests; a refusal costs one more
round trip for the windows' ends). If Redis does not answer within ``RECOMIND_CACHE_TIMEOUT_S``
the request goes on unchecked: a cache outage must not stop the API.

This middleware sits inside auth and outside the cache-hit path, so hits are limited too.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

import orjson
from limits import RateLimitItem
from prometheus_client import Counter
from starlette.types import ASGIApp, Receive, Scope, Send

from recomind.api.principal import principal_of
from recomind.api.proxies import TrustedProxies
from recomind.api.rate_limit import (
    CLOCK_SLACK_S,
    WARN_EVERY_S,
    KeyedLimits,
    MemoryHits,
    RedisCounts,
    open_storage,
)
from recomind.cache import keys
from recomind.config import Settings

logger = logging.getLogger(__name__)

REFUSED = Counter(
    "recomind_requests_rate_limited_total",
    "Requests refused with 429 (request rate limits), by route group and scope",
    ["group", "scope"],
)
#: Never limited: the load balancer's probes.
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz"})
#: The error's ``field`` per scope: what the client would change.
FIELDS = {"key": "header.authorization", "user": "header.authorization", "address": "client"}
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def route_group(method: str, path: str) -> str | None:
    """The route group of a request (``None``: never limited)."""
    if path in UNLIMITED_PATHS:
        return None
    if path.startswith("/auth/"):
        return "auth"
    if method in _WRITES:
        if path in ("/video_action", "/video_actions/batch", "/users"):
            return "ingest"
        return "admin"  # catalogue writes, DELETEs, keys
    if path.startswith("/recommendations/") or path == "/trending":
        return "recommend"
    if path in ("/users", "/api/stats", "/dashboard") or path.startswith(
        ("/metrics", "/experiments")
    ):
        return "admin"
    return "read"


def identities(scope: Scope, proxies: TrustedProxies) -> list[tuple[str, str]]:
    """``[(scope, identity)]`` a request counts as: its key or user, and its address."""
    principal = principal_of(scope)
    out = []
    if principal.kind in ("key", "master"):
        out.append(("key", principal.key_id or "master"))
    elif principal.kind == "user" and principal.user_id:
        out.append(("user", principal.user_id))
    out.append(("address", proxies.client(scope)))
    return out


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused: its group, the scope and limit it is over, and when to retry."""

    group: str
    scope: str
    item: RateLimitItem
    retry_after_s: int

    def body(self) -> bytes:
        rate = f"{self.item.amount}/{self.item.multiples}{self.item.GRANULARITY.name}"
        return orjson.dumps(
            {
                "error": "rate_limited",
                "message": f"at most {self.item} per {self.scope} for {self.group} requests; "
                f"retry in {self.retry_after_s} s",
                "field": FIELDS[self.scope],
                "limit": {"group": self.group, "scope": self.scope, "rate": rate},
                "retry_after_s": self.retry_after_s,
            }
        )


def _longest(waits: list[tuple[float, str, RateLimitItem]], group: str) -> Refusal:
    wait, scope, item = max(waits, key=lambda w: w[0])
    return Refusal(group, scope, item, max(1, math.ceil(wait + CLOCK_SLACK_S)))


class RequestRateLimiter:
    """Counts requests against the per-key, per-user and per-address limits of their group."""

    def __init__(self, settings: Settings) -> None:
        self.limits: Mapping[str, Mapping[str, list[RateLimitItem]]] = settings.rate_limits
        self.groups = frozenset(g for by_group in self.limits.values() for g in by_group)
        self.proxies = TrustedProxies(settings.trusted_proxies)
        storage = open_storage(settings, keys.REQUEST_RATE) if self.groups else None
        self.counts = RedisCounts(storage) if storage is not None else None
        self._keyed = {
            (scope, group): KeyedLimits(storage, items, scope, group)
            for scope, by_group in self.limits.items()
            for group, items in by_group.items()
            if storage is not None
        }
        self._memory = {
            (scope, group): MemoryHits(items)
            for scope, by_group in self.limits.items()
            for group, items in by_group.items()
            if storage is None
        }
        self._warned_at = -math.inf

    @property
    def in_memory(self) -> bool:
        return self.counts is None

    def hit_memory(self, group: str, ids: list[tuple[str, str]]) -> Refusal | None:
        """Count one request in this process (inline: no await)."""
        waits = []
        for scope, identity in ids:
            hits = self._memory.get((scope, group))
            if hits is None:
                continue
            for i, ok in enumerate(hits.hit(identity)):
                if not ok:
                    waits.append((hits.seconds_left(i, identity), scope, hits.limits[i]))
        return None if not waits else self._refused(waits, group)

    async def hit_redis(self, group: str, ids: list[tuple[str, str]]) -> Refusal | None:
        """Count one request in Redis; ``None`` (let it through) when Redis does not answer."""
        assert self.counts is not None
        counted = [
            (scope, identity, self._keyed[scope, group])
            for scope, identity in ids
            if (scope, group) in self._keyed
        ]
        if not counted:  # e.g. only keys are limited and this request has none
            return None
        try:
            counts = await self.counts.incr(
                [k for _, identity, keyed in counted for k in keyed.keys(identity)],
                [e for _, _, keyed in counted for e in keyed.expiries],
            )
            at, over = 0, []
            for scope, identity, keyed in counted:
                for item, count in zip(keyed.limits, counts[at:], strict=False):
                    if count > item.amount:
                        over.append((scope, item, keyed.key(item, identity)))
                at += len(keyed.limits)
            if not over:
                return None
            waits = [(await self.counts.seconds_left(key), s, item) for s, item, key in over]
        except Exception as exc:  # the store is down or slow: let the request through
            now = time.monotonic()
            if now - self._warned_at >= WARN_EVERY_S:
                self._warned_at = now
                logger.warning("request rate limits not checked (store unavailable): %r", exc)
            return None
        return self._refused(waits, group)

    @staticmethod
    def _refused(waits: list[tuple[float, str, RateLimitItem]], group: str) -> Refusal:
        refusal = _longest(waits, group)
        REFUSED.labels(group, refusal.scope).inc()
        return refusal

    def counter_keys(self, user_id: str) -> list[str]:
        """The Redis keys of ``user_id``'s per-user counters (an erasure deletes them)."""
        return [
            k
            for (scope, _), keyed in self._keyed.items()
            if scope == "user"
            for k in keyed.keys(user_id)
        ]

    async def close(self) -> None:
        """Close the Redis connections, if any."""
        if self.counts is not None:
            await self.counts.close()


class RequestLimits:
    """ASGI middleware: 429 for a request over its group's limits, else on to the app."""

    def __init__(self, app: ASGIApp, limiter: RequestRateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        group = route_group(scope["method"], scope["path"]) if scope["type"] == "http" else None
        if group is None or group not in self.limiter.groups:
            await self.app(scope, receive, send)
            return
        ids = identities(scope, self.limiter.proxies)
        if self.limiter.in_memory:
            refusal = self.limiter.hit_memory(group, ids)
        else:
            refusal = await self.limiter.hit_redis(group, ids)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        body = refusal.body()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(body)),
            (b"retry-after", b"%d" % refusal.retry_after_s),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})
