"""The long-lived objects one app instance owns, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from recomind.cache import open_cache
from recomind.cache.safe import SafeCache
from recomind.config import Settings
from recomind.recommend.serving import RecommendationService
from recomind.storage.engine import make_engine


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    cache: SafeCache
    recommendations: RecommendationService

    @classmethod
    def build(cls, settings: Settings) -> AppState:
        engine = make_engine(settings.database_url)
        cache = SafeCache(open_cache(settings.cache_url))
        return cls(settings, engine, cache, RecommendationService(engine, cache, settings))

    def close(self) -> None:
        self.cache.close()
        self.engine.dispose()
