"""The batch jobs: ``popularity``, ``profiles``, ``train`` and ``precompute`` (in that order)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select, update

from recomind.config import Settings
from recomind.ingest import popularity, profiles
from recomind.ingest.rebuild import CHUNK, stored_events
from recomind.jobs.runner import JobContext, job
from recomind.recommend import registry
from recomind.recommend.base import Recommender
from recomind.recommend.dataset import load_dataset, training_window
from recomind.recommend.engine_ranker import EngineRanker, batch_inputs
from recomind.recommend.hybrid import HybridRecommender
from recomind.recommend.model_store import ModelStore
from recomind.recommend.serving import RecommendationService, compute_trending, top_up
from recomind.schemas import ActionEvent, RecommendedVideo, utcnow
from recomind.storage.engine import read_tx, retrying, write_tx
from recomind.storage.tables import retrain_signals, user_profiles, video_actions, video_popularity

logger = logging.getLogger(__name__)

PRECOMPUTE_BATCH = 64

Fold = Callable[..., Any]


def _events(ctx: JobContext) -> list[ActionEvent]:
    """Every stored action, read once per run of several jobs."""
    events: list[ActionEvent] | None = ctx.memo.get("events")
    if events is None:
        events = stored_events(ctx.engine)
        ctx.memo["events"] = events
    return events


def _refold(ctx: JobContext, table: Table, fold: Fold) -> dict[str, Any]:
    """Replace ``table`` by a fold of every stored action (one transaction, like rebuild)."""
    events = _events(ctx)

    def tx() -> int:
        with write_tx(ctx.engine) as conn:
            conn.execute(delete(table))
            for i in range(0, len(events), CHUNK):
                fold(conn, settings=ctx.settings, events=events[i : i + CHUNK])
                ctx.report(min(i + CHUNK, len(events)), len(events))
        return len(events)

    return {"events": retrying(tx)}


@job("popularity", description="Recompute decayed popularity from every stored action.")
def popularity_job(ctx: JobContext) -> dict[str, Any]:
    return _refold(ctx, video_popularity, popularity.apply)


@job("profiles", description="Recompute users' tag profiles from every stored action.")
def profiles_job(ctx: JobContext) -> dict[str, Any]:
    return _refold(ctx, user_profiles, profiles.apply)


# -- train ----------------------------------------------------------------------------------


def fit_hybrid(data: Any, **params: Any) -> tuple[HybridRecommender, dict[str, float]]:
    """Fit a hybrid component by component; returns it and the seconds each fit took."""
    seconds: dict[str, float] = {}

    def fit_one(name: str, kwargs: dict[str, Any]) -> Recommender:
        t0 = time.perf_counter()
        model = registry.build(name, **kwargs).fit(data)
        seconds[name] = round(time.perf_counter() - t0, 3)
        logger.info("train: %s fitted in %.2fs", name, seconds[name])
        return model

    return HybridRecommender(**params).fit_components(data, fit_one), seconds


def consume_signals(conn: Connection, *, before: datetime) -> int:
    """Mark retrain signals created up to ``before`` as consumed; returns how many."""
    result = conn.execute(
        update(retrain_signals)
        .where(retrain_signals.c.consumed_at.is_(None), retrain_signals.c.created_at <= before)
        .values(consumed_at=utcnow())
    )
    return int(result.rowcount or 0)


def pending_signals(conn: Connection) -> int:
    """Number of retrain signals the train job has not consumed yet."""
    stmt = select(func.count()).where(retrain_signals.c.consumed_at.is_(None))
    return int(conn.execute(stmt).scalar_one())


@job("train", description="Fit the hybrid on recent actions and publish it to the model store.")
def train_job(ctx: JobContext) -> dict[str, Any]:
    settings = ctx.settings
    if not settings.model_dir:
        raise RuntimeError("RECOMIND_MODEL_DIR is empty: nowhere to publish a model")
    started = utcnow()
    data, meta = load_dataset(
        ctx.engine,
        settings=settings,
        since=training_window(settings, now=started),
        max_events=settings.train_max_events or None,
    )
    summary: dict[str, Any] = {"events": len(data.users), "users": data.n_users}
    if len(data.users) == 0 or data.n_items == 0:
        summary["skipped"] = "no actions to learn from"
    else:
        t0 = time.perf_counter()
        hybrid, seconds = fit_hybrid(data)
        fit_s = round(time.perf_counter() - t0, 3)
        version = ModelStore(settings.model_dir).save(
            hybrid,
            data,
            durations=meta.durations,
            extra={"fit_seconds": seconds, "fit_seconds_total": fit_s},
        )
        summary |= {"version": version, "fit_seconds": fit_s, "items": data.n_items}
    with write_tx(ctx.engine) as conn:
        summary["signals_consumed"] = consume_signals(conn, before=started)
    return summary


# -- precompute -----------------------------------------------------------------------------


def active_users(conn: Connection, *, since: datetime, limit: int) -> list[str]:
    """Users with actions at or after ``since``, most recently active first."""
    a = video_actions.c
    last = func.max(a.timestamp)
    stmt = (
        select(a.user_id)
        .where(a.timestamp >= since)
        .group_by(a.user_id)
        .order_by(last.desc(), a.user_id)
    )
    if limit > 0:
        stmt = stmt.limit(limit)
    return list(conn.execute(stmt).scalars())


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _service(ctx: JobContext) -> RecommendationService:
    if ctx.service is None:
        raise RuntimeError("precompute needs the recommendation service (cache and ranker)")
    return ctx.service


@job("precompute", description="Cache top-N lists of recently active users.")
def precompute_job(ctx: JobContext) -> dict[str, Any]:
    settings: Settings = ctx.settings
    service = _service(ctx)
    since = utcnow() - timedelta(hours=settings.precompute_active_hours)
    with read_tx(ctx.engine) as conn:
        users = active_users(conn, since=since, limit=settings.precompute_max_users)
    ranker = service.ranker
    engine_ranker = ranker if isinstance(ranker, EngineRanker) else None
    if engine_ranker is not None and engine_ranker.loader is not None:
        engine_ranker.loader.refresh()  # a model the train job just published
    batched = engine_ranker is not None and engine_ranker.model() is not None
    done = 0
    stored = 0
    for chunk in _chunks(users, PRECOMPUTE_BATCH):
        if batched and engine_ranker is not None:
            stored += _precompute_chunk(ctx, service, engine_ranker, chunk)
        else:
            for user_id in chunk:
                service.refresh_user(user_id)
        done += len(chunk)
        ctx.report(done, len(users))
    return {"users": done, "batched": batched, "stored_from_batch": stored}


def _precompute_chunk(
    ctx: JobContext, service: RecommendationService, ranker: EngineRanker, chunk: Sequence[str]
) -> int:
    """Rank ``chunk`` in one batch and cache each list (what ``refresh_user`` would store).

    Users with actions the consumers have not stored yet go through ``refresh_user`` (their
    pending actions fold into history and profile there). Each list is stored only if the
    user's generation did not move while it was computed. Returns how many were stored.
    """
    settings: Settings = ctx.settings
    limit = settings.max_n
    before = {u: service.generation(u) for u in chunk}
    recent = {u: service.recent_actions(u) for u in chunk}
    model = ranker.model()
    pending: list[str] = []
    stored = 0
    if model is None:
        pending = list(chunk)
    else:
        with read_tx(ctx.engine) as conn:
            inputs = []
            for user in batch_inputs(conn, user_ids=chunk, seen={}):
                have = {(h.action_type, h.video_id) for h in user.history}
                if any((a, v) not in have for a, v in recent.get(user.user_id, [])):
                    pending.append(user.user_id)
                else:
                    inputs.append(user)
            known = [i for i in inputs if i.history]
            lists = dict(
                zip(
                    [i.user_id for i in known],
                    ranker.rank_many(conn, model, known, n=limit),
                    strict=True,
                )
            )
            trending: list[RecommendedVideo] = []
            trending_limit = -1
            for user in inputs:
                if not user.history:  # as compute_for_user: trending for no history
                    items = compute_trending(conn, settings=settings, limit=limit)
                else:
                    items = list(lists[user.user_id])
                    if len(items) < limit:
                        have_ids = user.exclude | {i.video_id for i in items}
                        want = limit + len(have_ids)
                        if want > trending_limit:  # a longer list extends a shorter one
                            trending = compute_trending(conn, settings=settings, limit=want)
                            trending_limit = want
                        top_up(items, have_ids, trending[:want], limit)
                stored += service.store_list(user.user_id, items, before[user.user_id])
    for user_id in pending:
        service.refresh_user(user_id)
    return stored
