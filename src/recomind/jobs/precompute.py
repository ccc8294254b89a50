"""The ``precompute`` job: rank recently active users in batches and cache their lists.

Users are ranked in chunks of :data:`BATCH` (one ``rank_many`` call each). With a shared
cache (Redis) the chunks are spread over worker processes (``RECOMIND_PRECOMPUTE_WORKERS``;
by default one per core, at most 4): ranking is mostly Python and numpy on one thread, so
a second process on a second core nearly halves the job. Each worker opens its own database
engine, cache client and model (:func:`_start_worker`). An in-process cache (``memory://``)
can only be filled by the process that serves it, so there the job always runs in-process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import timedelta
from typing import Any

from recomind.cache import open_cache
from recomind.cache.safe import SafeCache
from recomind.config import Settings
from recomind.folds.states import pending_actions
from recomind.jobs.runner import JobContext
from recomind.schemas import RecommendedVideo, utcnow
from recomind.serving.model_ranker import ModelRanker, batch_inputs
from recomind.serving.service import RecommendationService
from recomind.serving.trending import compute_trending, top_up
from recomind.storage.actions import active_users
from recomind.storage.engine import make_engine, read_tx

logger = logging.getLogger(__name__)

BATCH = 64
MAX_AUTO_WORKERS = 4  # each worker holds a copy of the model
#: Chunks each worker must have for a pool to pay off: starting a worker (imports, model
#: load) costs ~1-3 s, ranking one chunk ~0.5 s.
MIN_CHUNKS_PER_WORKER = 8


def chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def worker_count(settings: Settings, n_users: int) -> int:
    """Processes to rank in: 1 with an in-process cache; else ``precompute_workers``
    (0: one per core, at most :data:`MAX_AUTO_WORKERS`), but no more than give each worker
    :data:`MIN_CHUNKS_PER_WORKER` chunks (a small job runs in-process)."""
    if settings.cache_url.startswith("memory://"):
        return 1
    wanted = settings.precompute_workers or min(os.cpu_count() or 1, MAX_AUTO_WORKERS)
    n_chunks = -(-n_users // BATCH)
    return max(1, min(wanted, n_chunks // MIN_CHUNKS_PER_WORKER))


def _service(ctx: JobContext) -> RecommendationService:
    if ctx.service is None:
        raise RuntimeError("precompute needs the recommendation service (cache and ranker)")
    return ctx.service


def run(ctx: JobContext) -> dict[str, Any]:
    """Cache the lists of users active in the last ``precompute_active_hours``."""
    settings: Settings = ctx.settings
    service = _service(ctx)
    since = utcnow() - timedelta(hours=settings.precompute_active_hours)
    with read_tx(ctx.engine) as conn:
        users = active_users(conn, since=since, limit=settings.precompute_max_users)
    ranker = service.ranker
    model_ranker = ranker if isinstance(ranker, ModelRanker) else None
    if model_ranker is not None and model_ranker.loader is not None:
        model_ranker.loader.refresh()  # a model the train job just published
    batched = model_ranker is not None and model_ranker.model() is not None
    workers = worker_count(settings, len(users)) if batched else 1
    done = 0
    stored = 0
    if workers > 1:
        for n_users, n_stored in _in_processes(settings, chunks(users, BATCH), workers):
            done += n_users
            stored += n_stored
            ctx.report(done, len(users))
    else:
        for chunk in chunks(users, BATCH):
            if model_ranker is not None and batched:
                stored += precompute_chunk(settings, service, model_ranker, chunk)
            else:
                for user_id in chunk:
                    service.refresh_user(user_id)
            done += len(chunk)
            ctx.report(done, len(users))
    return {"users": done, "batched": batched, "stored_from_batch": stored, "workers": workers}


def precompute_chunk(
    settings: Settings,
    service: RecommendationService,
    ranker: ModelRanker,
    chunk: Sequence[str],
) -> int:
    """Rank ``chunk`` in one batch and cache each list (what ``refresh_user`` would store).

    Users with actions the consumers have not stored yet go through ``refresh_user`` (their
    pending actions fold into history and profile there). Each list is stored only if the
    user's generation did not move while it was computed. Returns how many were stored.
    """
    limit = settings.max_n
    before = {u: service.generation(u) for u in chunk}
    recent = {u: service.recent_actions(u) for u in chunk}
    model = ranker.model()
    pending: list[str] = []
    stored = 0
    if model is None:
        pending = list(chunk)
    else:
        with read_tx(service.engine) as conn:
            inputs = []
            for user in batch_inputs(conn, user_ids=chunk, seen={}):
                if pending_actions(user.history, recent.get(user.user_id, [])):
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


# -- worker processes -----------------------------------------------------------------------

_worker: tuple[Settings, RecommendationService, ModelRanker] | None = None


def _start_worker(settings: Settings) -> None:
    """Open this worker's engine, cache and model (once per process)."""
    global _worker
    engine = make_engine(settings.database_url)
    cache = SafeCache(open_cache(settings.cache_url, timeout_s=settings.cache_timeout_s))
    ranker = ModelRanker.from_settings(settings, background=False)
    _worker = (settings, RecommendationService(engine, cache, settings, ranker), ranker)


def _worker_chunk(chunk: Sequence[str]) -> tuple[int, int]:
    """``(users, stored)`` of one chunk, ranked in this worker."""
    if _worker is None:
        raise RuntimeError("precompute worker was not started")
    settings, service, ranker = _worker
    if ranker.model() is None:  # the store is empty here: rank one by one, as in-process
        for user_id in chunk:
            service.refresh_user(user_id)
        return len(chunk), 0
    return len(chunk), precompute_chunk(settings, service, ranker, chunk)


def _in_processes(
    settings: Settings, work: list[Sequence[str]], workers: int
) -> Iterator[tuple[int, int]]:
    """Yield ``(users, stored)`` per chunk as ``workers`` spawned processes finish them."""
    context = multiprocessing.get_context("spawn")  # no forked locks, threads or sockets
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(settings,)
    ) as pool:
        futures = [pool.submit(_worker_chunk, chunk) for chunk in work]
        for future in as_completed(futures):
            yield future.result()
