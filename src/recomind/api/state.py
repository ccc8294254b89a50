"""Composition root of ``recomind serve``: the long-lived objects one app instance owns.

Built once at start-up over a :class:`~recomind.serving.stack.ServingStack`, plus what only
serving needs: the producer, the per-user event rate limit, the note batcher, the in-process
consumer groups (on the embedded bus) and the job scheduler.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from sqlalchemy import Engine

from recomind.api.action_notes import NoteBatcher
from recomind.api.rate_limit import EventRateLimiter
from recomind.cache.safe import SafeCache
from recomind.config import Settings
from recomind.jobs import JobContext
from recomind.jobs.scheduler import Scheduler, start_scheduler
from recomind.serving.experiment_admin import Results
from recomind.serving.service import RecommendationService
from recomind.serving.stack import ServingStack
from recomind.stream.bus import Producer
from recomind.stream.consumers import GROUPS, Context
from recomind.stream.factory import open_producer

logger = logging.getLogger(__name__)


def serve_groups(settings: Settings) -> list[str]:
    """Which consumer groups ``recomind serve`` runs in-process."""
    choice = settings.serve_consumers.strip().lower()
    if choice == "auto":
        return list(GROUPS) if settings.event_bus_url.startswith("sqlite") else []
    if choice == "all":
        return list(GROUPS)
    if choice in ("", "none"):
        return []
    groups = [g.strip() for g in choice.split(",") if g.strip()]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise ValueError(
            f"RECOMIND_SERVE_CONSUMERS: unknown group(s) {unknown}; expected {', '.join(GROUPS)}"
        )
    return groups


@dataclass
class AppState:
    stack: ServingStack
    producer: Producer
    rate_limiter: EventRateLimiter
    #: Videos this process has seen, with their duration (``None``: unknown); an action on
    #: one of them needs no database read.
    known_videos: dict[str, float | None] = field(default_factory=dict)
    notes: NoteBatcher = field(init=False)
    #: ``GET /experiments/{name}/results`` reused briefly (:mod:`recomind.api.routes.experiments`).
    experiment_results: Results | None = None
    _stop: asyncio.Event | None = None
    _consumers: asyncio.Task[None] | None = None
    _scheduler: Scheduler | None = None

    def __post_init__(self) -> None:
        self.notes = NoteBatcher(self.recommendations.note_actions)

    @classmethod
    def build(cls, settings: Settings) -> AppState:
        stack = ServingStack.open(settings, log_impressions=True)
        return cls(stack, open_producer(settings), EventRateLimiter(settings))

    @property
    def settings(self) -> Settings:
        return self.stack.settings

    @property
    def engine(self) -> Engine:
        return self.stack.engine

    @property
    def cache(self) -> SafeCache:
        return self.stack.cache

    @property
    def recommendations(self) -> RecommendationService:
        return self.stack.service

    @property
    def context(self) -> Context:
        return Context(self.settings, self.engine, self.cache, self.recommendations)

    async def start(self) -> None:
        try:
            await self.producer.start()
        except Exception as exc:  # the bus may come up later; publishing retries
            logger.warning("event bus not reachable at start-up: %r", exc)
        groups = serve_groups(self.settings)
        if groups:
            from recomind.stream.runner import run_groups

            self._stop = asyncio.Event()
            self._consumers = asyncio.create_task(run_groups(self.context, groups, self._stop))
            logger.info("running consumer groups in-process: %s", ", ".join(groups))
        ctx = JobContext(self.settings, self.engine, self.recommendations)
        self._scheduler = start_scheduler(ctx)

    async def stop(self) -> None:
        if self._scheduler is not None:
            await self._scheduler.stop()
        if self._stop is not None and self._consumers is not None:
            self._stop.set()
            await self._consumers
        await self.producer.stop()
        await self.rate_limiter.close()
        self.close()

    def close(self) -> None:
        self.stack.close()
