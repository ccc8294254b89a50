"""Pick the cache backend by URL scheme: ``redis://`` / ``rediss://`` / ``unix://`` or ``memory://``."""

from __future__ import annotations

from recomind.cache.base import Cache


def open_cache(url: str, *, timeout_s: float = 0.25) -> Cache:
    if url.startswith("memory://"):
        from recomind.cache.memory import MemoryCache

        return MemoryCache()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from recomind.cache.redis import RedisCache

        return RedisCache(url, timeout_s=timeout_s)
    raise ValueError(f"cache URL {url!r}: expected redis://... or memory://")
