"""What every role (serve, consume, jobs) shares: the database, the cache and the service.

Each role's composition root opens one :class:`ServingStack` and adds only what that role
needs: ``serve`` a producer, the in-process consumers and the scheduler
(:mod:`recomind.api.state`); ``consume`` the consumer groups (:mod:`recomind.stream.role`);
``jobs`` a job context (:mod:`recomind.jobs.role`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from recomind.cache import open_cache
from recomind.cache.safe import SafeCache
from recomind.config import Settings
from recomind.lake.impressions import ImpressionWriter
from recomind.serving.impressions import ImpressionLog
from recomind.serving.model_ranker import ModelRanker
from recomind.serving.service import RecommendationService
from recomind.storage.engine import make_engine


@dataclass
class ServingStack:
    """The database engine, the (failure-tolerant) cache and the service over them."""

    settings: Settings
    engine: Engine
    cache: SafeCache
    service: RecommendationService

    @classmethod
    def open(
        cls, settings: Settings, *, watch_models: bool = True, log_impressions: bool = False
    ) -> ServingStack:
        """Connect to ``settings``' database and cache, with the model-backed ranker.

        ``watch_models`` polls the model store for newer versions in the background (long
        running roles); a one-shot command loads the current model once.
        ``log_impressions`` writes every page served to the lake (the serving role, when
        ``impressions_log`` is on).
        """
        engine = make_engine(settings.database_url)
        cache = SafeCache(open_cache(settings.cache_url, timeout_s=settings.cache_timeout_s))
        ranker = ModelRanker.from_settings(settings, background=watch_models)
        log = None
        if log_impressions and settings.impressions_log:
            writer = ImpressionWriter(
                settings.lake_url, s3_endpoint_url=settings.lake_s3_endpoint_url
            )
            log = ImpressionLog(writer, flush_seconds=settings.impressions_flush_seconds)
        service = RecommendationService(engine, cache, settings, ranker, impressions=log)
        return cls(settings, engine, cache, service)

    def close(self) -> None:
        """Stop background refreshes, then close the cache and the database pool."""
        self.service.close()
        self.cache.close()
        self.engine.dispose()
