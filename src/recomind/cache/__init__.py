"""Cache: one small interface, a Redis backend and an in-memory backend, chosen by URL."""

from recomind.cache.base import Cache, CacheError
from recomind.cache.factory import open_cache

__all__ = ["Cache", "CacheError", "open_cache"]
