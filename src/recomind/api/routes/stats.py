"""``GET /api/stats``: the operator dashboard's numbers in one JSON document.

Counters come from this process's Prometheus metrics (since it started); totals and events per
minute from the database, consumer lag from the event bus. ``batch_jobs`` is present but
``null``: the jobs (:mod:`recomind.jobs`) record their last runs only as Prometheus gauges
(``recomind_job_last_*`` in ``/metrics``), not here yet.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Query
from prometheus_client import Counter
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from recomind.api.deps import StateDep
from recomind.api.middleware import REQUESTS
from recomind.api.responses import errors
from recomind.api.routes.actions import ACTIONS
from recomind.api.state import AppState
from recomind.schemas import RecommendedVideo, UtcDatetime, utcnow
from recomind.serving.online_figures import load_figures
from recomind.serving.service import CACHE_LOOKUPS
from recomind.serving.trending import compute_trending
from recomind.storage.actions import actions_by_type, count_actions, events_per_minute
from recomind.storage.engine import read_tx
from recomind.storage.users import count_users
from recomind.storage.videos import count_videos
from recomind.stream.consumers import GROUPS
from recomind.stream.lag import group_lag

router = APIRouter(tags=["operations"])
logger = logging.getLogger(__name__)
LAG_TIMEOUT_S = 3.0


class CacheStats(BaseModel):
    hits: int
    misses: int
    hit_rate: float | None  # null before the first lookup
    by_kind: dict[str, dict[str, int]]


class BatchJob(BaseModel):
    name: str
    status: str
    last_run_at: UtcDatetime | None = None


class SourceOnline(BaseModel):
    """What users did with one source's impressions (``online-figures`` job)."""

    source: str  # model:{version}, tag-affinity, trending
    impressions: int
    likes: int
    skips: int
    like_rate: float
    skip_rate: float
    mean_watch_fraction: float | None
    watched: int


class OnlineFigures(BaseModel):
    generated_at: str
    sources: list[SourceOnline]


class Stats(BaseModel):
    generated_at: UtcDatetime
    totals: dict[str, int]
    actions_by_type: dict[str, int]
    events_per_minute: list[int]  # oldest first; the last entry is the current minute
    events_last_minute: int
    process: dict[str, int]  # counters of this process: http requests, accepted actions
    cache: CacheStats
    trending: list[RecommendedVideo]
    consumer_lag: int | None = None  # messages not yet applied, summed over consumer groups
    consumer_lag_by_group: dict[str, int] | None = None
    batch_jobs: list[BatchJob] | None = None
    #: Per source (model version): like and skip rates per impression; null before the
    #: ``online-figures`` job first ran.
    online: OnlineFigures | None = None


def _samples(counter: Counter) -> list[tuple[dict[str, str], float]]:
    return [
        (s.labels, s.value)
        for metric in counter.collect()
        for s in metric.samples
        if s.name.endswith("_total")
    ]


def cache_stats() -> CacheStats:
    by_kind: dict[str, dict[str, int]] = {}
    for labels, value in _samples(CACHE_LOOKUPS):
        by_kind.setdefault(labels["kind"], {"hit": 0, "miss": 0})[labels["result"]] = int(value)
    hits = sum(k.get("hit", 0) for k in by_kind.values())
    misses = sum(k.get("miss", 0) for k in by_kind.values())
    rate = hits / (hits + misses) if hits + misses else None
    return CacheStats(hits=hits, misses=misses, hit_rate=rate, by_kind=by_kind)


async def _lag(state: AppState) -> dict[str, int] | None:
    try:
        return await asyncio.wait_for(group_lag(state.settings, GROUPS), LAG_TIMEOUT_S)
    except Exception as exc:  # the bus may be down; the dashboard still renders
        logger.warning("consumer lag unavailable: %r", exc)
        return None


@router.get("/api/stats", response_model=Stats, responses=errors())
async def stats(
    state: StateDep,
    minutes: Annotated[int, Query(ge=1, le=180, description="Minutes of events per minute")] = 30,
    top: Annotated[int, Query(ge=1, le=50, description="How many trending videos")] = 10,
) -> Stats:
    now = utcnow()

    def from_database() -> tuple[dict[str, int], dict[str, int], list[int], list[RecommendedVideo]]:
        with read_tx(state.engine) as conn:
            return (
                {
                    "users": count_users(conn),
                    "videos": count_videos(conn),
                    "actions": count_actions(conn),
                },
                actions_by_type(conn),
                events_per_minute(conn, now=now, minutes=minutes),
                # From the database, not the cache: polling must not move the hit rate.
                compute_trending(conn, settings=state.settings, limit=top),
            )

    totals, by_type, per_minute, trending = await run_in_threadpool(from_database)
    lag = await _lag(state)
    return Stats(
        generated_at=now,
        totals=totals,
        actions_by_type=by_type,
        events_per_minute=per_minute,
        events_last_minute=per_minute[-1],
        process={
            "http_requests": int(sum(v for _, v in _samples(REQUESTS))),
            "actions_accepted": int(sum(v for _, v in _samples(ACTIONS))),
        },
        cache=cache_stats(),
        trending=trending,
        consumer_lag=sum(lag.values()) if lag is not None else None,
        consumer_lag_by_group=lag,
        online=load_figures(state.cache, state.settings),
    )
