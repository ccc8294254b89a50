"""The batched precompute caches what a per-user refresh would, behind the same guard."""

from __future__ import annotations

import pytest

from recomind.cache import keys
from recomind.config import Settings
from recomind.jobs import JobContext, precompute, run_jobs
from recomind.serving import list_codec
from recomind.serving.model_ranker import ModelRanker
from tests.jobs.conftest import Served, load_design


def _cached(served: Served, user: str) -> list[str] | None:
    service = served.state.recommendations
    raw = service.cache.get(keys.key(served.settings.cache_prefix, keys.RECOMMENDATIONS, user))
    listed = None if raw is None else list_codec.decode(raw)
    return None if listed is None else listed.ids


def test_batched_precompute_stores_the_refreshed_lists(served: Served) -> None:
    load_design(served)
    served.settle()
    served.run("train")
    service = served.state.recommendations
    assert isinstance(service.ranker, ModelRanker)
    [pre] = run_jobs(JobContext(served.settings, served.engine, service), ["precompute"])
    assert pre.ok, pre.error
    assert pre.summary["batched"] is True
    assert pre.summary["users"] > 0
    assert pre.summary["stored_from_batch"] == pre.summary["users"]
    for user in ("A", "o1", "k2"):
        cached = _cached(served, user)
        assert cached is not None
        fresh = [i.video_id for i in service.compute_for_user(user)]
        assert cached == fresh


def test_small_jobs_and_in_process_caches_rank_in_process() -> None:
    redis = Settings(cache_url="redis://127.0.0.1:6379/0", precompute_workers=2)
    per_worker = precompute.BATCH * precompute.MIN_CHUNKS_PER_WORKER
    assert precompute.worker_count(redis, 10_000) == 2
    assert precompute.worker_count(redis, 2 * per_worker) == 2
    assert precompute.worker_count(redis, 2 * per_worker - precompute.BATCH) == 1  # 15 chunks
    assert precompute.worker_count(redis, 10) == 1
    assert precompute.worker_count(redis.model_copy(update={"precompute_workers": 1}), 10_000) == 1
    assert precompute.worker_count(Settings(cache_url="memory://"), 10_000) == 1


def test_store_list_respects_the_generation_guard(served: Served) -> None:
    load_design(served)
    served.settle()
    service = served.state.recommendations
    items = service.compute_for_user("A")
    before = service.generation("A")
    service.lists.drop("A")  # the user's state changed while the list was computed
    assert service.store_list("A", items, before) is False
    assert _cached(served, "A") is None
    assert service.store_list("A", items, service.generation("A")) is True
    assert _cached(served, "A") == [i.video_id for i in items]


def test_precompute_in_worker_processes_stores_the_same_lists(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two worker processes fill a shared cache (Redis) with the lists an in-process run
    stores; an in-process cache (the embedded default) is always filled in-process."""
    monkeypatch.setattr(precompute, "BATCH", 2)  # 15 users: 8 chunks to share out
    monkeypatch.setattr(precompute, "MIN_CHUNKS_PER_WORKER", 4)
    load_design(served)
    served.settle()
    served.run("train")
    service = served.state.recommendations
    settings = served.settings.model_copy(update={"precompute_workers": 2})
    [pre] = run_jobs(JobContext(settings, served.engine, service), ["precompute"])
    assert pre.ok, pre.error
    shared = not settings.cache_url.startswith("memory://")
    assert pre.summary["workers"] == (2 if shared else 1)
    users = sorted({f"o{u}" for u in range(8)} | {f"k{u}" for u in range(6)} | {"A"})
    assert pre.summary["users"] == len(users)
    assert pre.summary["stored_from_batch"] == len(users)
    for user in users:
        assert _cached(served, user) == [i.video_id for i in service.compute_for_user(user)]
