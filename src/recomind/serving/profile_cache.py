"""Users' tag profiles, cache-first: ``user_profile:{user_id}`` (zlib-compressed JSON) in front
of the ``user_profiles`` table. Like lists, a profile read before a change is never cached
after it: a change bumps ``user_profile_generation:{user_id}`` (:meth:`ProfileCache.drop`),
and a read caches what it read only if the generation did not move meanwhile."""

from __future__ import annotations

import zlib

import orjson
from sqlalchemy import Engine

from recomind.cache import keys
from recomind.cache.safe import SafeCache
from recomind.config import Settings
from recomind.schemas import Profile
from recomind.storage.engine import read_tx
from recomind.storage.profiles import get_profile
from recomind.storage.users import get_user


class ProfileCache:
    def __init__(self, engine: Engine, cache: SafeCache, settings: Settings) -> None:
        self.engine = engine
        self.cache = cache
        self.settings = settings

    def _key(self, *parts: str) -> str:
        return keys.key(self.settings.cache_prefix, *parts)

    def get(self, user_id: str) -> Profile | None:
        """The user's stored profile; ``None`` for an unknown user."""
        key = self._key(keys.USER_PROFILE, user_id)
        cached = self.cache.get(key)
        if cached is not None:
            try:
                return Profile.model_validate_json(_inflate(cached))
            except (zlib.error, ValueError):  # unreadable: read the profile again
                pass
        generation_key = self._key(keys.PROFILE_GENERATION, user_id)
        before = self.cache.get(generation_key)
        with read_tx(self.engine) as conn:
            if get_user(conn, user_id=user_id) is None:
                return None
            row = get_profile(conn, user_id=user_id)
        profile = Profile(
            user_id=user_id,
            top_tags=row.top_tags if row else [],
            tag_weights=row.tag_weights if row else {},
            updated_at=row.updated_at if row else None,
        )
        if self.cache.get(generation_key) == before:
            packed = zlib.compress(orjson.dumps(profile.model_dump(mode="json")), 6)
            self.cache.set(key, packed, self.settings.user_profile_ttl_s)
        return profile

    def drop(self, user_id: str) -> None:
        """The user's profile changed: forget the cached one, and any read in flight."""
        self.cache.incr(
            self._key(keys.PROFILE_GENERATION, user_id), 2.0 * self.settings.user_profile_ttl_s
        )
        self.cache.delete(self._key(keys.USER_PROFILE, user_id))


def _inflate(cached: bytes) -> bytes:
    """A cached profile's JSON: zlib-compressed (half the bytes), or plain as before 0.4."""
    return cached if cached.startswith(b"{") else zlib.decompress(cached)
