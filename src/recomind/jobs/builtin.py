"""The batch jobs: ``popularity``, ``profiles``, ``train`` and ``precompute`` (in that order)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from recomind.folds.rebuild import POPULARITY, PROFILES, Table, rebuild, stored_events
from recomind.jobs import precompute
from recomind.jobs.runner import JobContext, job
from recomind.recommend import registry
from recomind.recommend.base import Recommender
from recomind.recommend.hybrid import HybridRecommender
from recomind.schemas import ActionEvent, utcnow
from recomind.serving.challenger import fit_challenger, gate
from recomind.serving.model_store import ModelStore
from recomind.serving.training_data import load_dataset, training_window
from recomind.storage.engine import write_tx
from recomind.storage.retrain_signals import consume_signals

logger = logging.getLogger(__name__)


def _events(ctx: JobContext) -> list[ActionEvent]:
    """Every stored action, read once per run of several jobs."""
    events: list[ActionEvent] | None = ctx.memo.get("events")
    if events is None:
        events = stored_events(ctx.engine)
        ctx.memo["events"] = events
    return events


def _refold(ctx: JobContext, table: Table) -> dict[str, Any]:
    """Replace ``table`` by a fold of every stored action (one transaction)."""
    events = _events(ctx)
    n = rebuild(
        ctx.engine, settings=ctx.settings, events=events, tables=[table], progress=ctx.report
    )
    return {"events": n}


@job("popularity", description="Recompute decayed popularity from every stored action.")
def popularity_job(ctx: JobContext) -> dict[str, Any]:
    return _refold(ctx, POPULARITY)


@job("profiles", description="Recompute users' tag profiles from every stored action.")
def profiles_job(ctx: JobContext) -> dict[str, Any]:
    return _refold(ctx, PROFILES)


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


def summing_fitter(seconds: dict[str, float]) -> Callable[[Any], HybridRecommender]:
    """:func:`fit_hybrid` that adds each component's fit seconds into ``seconds`` (a train
    run fits several hybrids)."""

    def fit(part: Any) -> HybridRecommender:
        hybrid, took = fit_hybrid(part)
        for name, s in took.items():
            seconds[name] = round(seconds.get(name, 0.0) + s, 3)
        return hybrid

    return fit


@job(
    "train",
    description="Fit the hybrid and its learned ranker on recent actions; publish the new "
    "model if it beats the serving one on the newest events (else keep it unpublished).",
)
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
        seconds: dict[str, float] = {}
        challenger = fit_challenger(data, settings, summing_fitter(seconds))
        fit_s = round(time.perf_counter() - t0, 3)
        store = ModelStore(settings.model_dir)
        t1 = time.perf_counter()
        decision = gate(challenger, store.load(), settings)
        gate_s = round(time.perf_counter() - t1, 3)
        extra = {
            "fit_seconds": seconds,
            "fit_seconds_total": fit_s,
            "gate_seconds": gate_s,
            **challenger.facts,
            "gate": decision,
        }
        summary |= {
            "fit_seconds": fit_s,
            "gate_seconds": gate_s,
            "items": data.n_items,
            "ranker": challenger.rerank is not None,
            "published": bool(decision["publish"]),
            "gate": decision["reason"],
        }
        # a rejected challenger is kept (unpublished) so it can be inspected or promoted
        summary["version"] = store.save(
            challenger.hybrid,
            challenger.fitted_on,
            durations=meta.durations,
            extra=extra,
            rerank=challenger.rerank,
            publish=bool(decision["publish"]),
            by="train",
            reason=str(decision["reason"]),
        )
    with write_tx(ctx.engine) as conn:
        summary["signals_consumed"] = consume_signals(conn, before=started)
    return summary


# -- precompute -----------------------------------------------------------------------------


@job("precompute", description="Cache top-N lists of recently active users.")
def precompute_job(ctx: JobContext) -> dict[str, Any]:
    return precompute.run(ctx)
