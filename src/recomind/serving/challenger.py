"""A train run's challenger: the hybrid plus its learned ranker, scored against the champion.

:func:`fit_challenger` splits the deployment's events by time
(:func:`~recomind.recommend.ltr_fit.split_by_time`: past, label window, holdout), fits the
learned ranker on the label window (a hybrid fitted on the past proposes the candidates),
then fits the serving hybrid on everything before the holdout. :func:`gate` ranks each
holdout user's catalogue from their history before the holdout with five contestants:

* ``challenger``: the new hybrid re-ranked by the new learned ranker (the hybrid alone when
  no ranker could be fitted);
* ``hybrid``: the new hybrid's fixed-weight blend;
* ``champion``: the model serving now (its own item index: the histories are mapped by id);
* ``model-free``: the model-free ranker's formula (:class:`~recomind.recommend.ltr_data.
  ModelFreeRanker`) over the new hybrid's candidates, which is what serves while no model
  is published;
* ``trending``: the new hybrid's popularity ranking, the same for everyone;

and scores them (:func:`~recomind.evaluation.holdout.score_lists`). The challenger is
published only if its NDCG@10 beats what serves by ``margin`` (relative): the champion, or
with none the model-free replay (``gate_model_free``; off: the first model is published
unjudged). With no holdout user to judge on, it is published. The lists are the models' own
pages (caps included), without serving's follow-ups, fresh uploads and exploration, which
are the same for every contestant.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from recomind.config import Settings
from recomind.evaluation.holdout import (
    HoldoutTruth,
    holdout_truth,
    padded,
    sampled,
    score_lists,
)
from recomind.recommend.base import IntArray, Interactions
from recomind.recommend.batch_rank import rank_rows
from recomind.recommend.candidates import Rescorer
from recomind.recommend.hybrid import HybridRecommender
from recomind.recommend.ltr_data import ModelFreeRanker, RerankModel, histories_of
from recomind.recommend.ltr_features import Histories, ItemStats, hour_of
from recomind.recommend.ltr_fit import TimeSplit, fit_rerank_model, split_by_time, subset
from recomind.recommend.pages import PagePolicy
from recomind.serving.model_store import LoadedModel

logger = logging.getLogger(__name__)

K = 20
#: The contestant that replays the model-free ranker (the champion while no model serves).
MODEL_FREE = "model-free"


@dataclass
class Challenger:
    """A new model and the facts of its fit."""

    hybrid: HybridRecommender
    rerank: RerankModel | None
    split: TimeSplit
    fitted_on: Interactions
    facts: dict[str, Any]


def thresholds(settings: Settings) -> tuple[float, float]:
    """``(like_at, long_at)``: the summed weight of a like, and of a long watch (half a
    video's view weight)."""
    return settings.weight_like, 0.5 * settings.weight_view


def fit_challenger(
    data: Interactions,
    settings: Settings,
    fit_hybrid: Callable[[Interactions], HybridRecommender],
) -> Challenger:
    """Fit the serving hybrid and its learned ranker on ``data`` (see the module)."""
    split = split_by_time(data, holdout=settings.gate_holdout, window=settings.ranker_window)
    fitted_on = split.fit_part if split.holdout.users.size else data
    like_at, long_at = thresholds(settings)
    facts: dict[str, Any] = {
        "split": {
            "label_at": split.label_at,
            "holdout_at": split.holdout_at,
            "holdout_events": int(split.holdout.users.size),
        }
    }
    rerank = None
    if settings.learned_ranker:
        t0 = time.perf_counter()
        fit = fit_rerank_model(
            fit_hybrid,
            split,
            fitted_on,
            like_at=like_at,
            long_at=long_at,
            time_of_day=settings.ranker_time_of_day,
            max_groups=settings.ranker_max_groups,
        )
        rerank = fit.model
        facts["ranker_fit"] = {**fit.figures, "seconds": round(time.perf_counter() - t0, 3)}
    t0 = time.perf_counter()
    hybrid = fit_hybrid(fitted_on)
    facts["hybrid_seconds"] = round(time.perf_counter() - t0, 3)
    return Challenger(hybrid, rerank, split, fitted_on, facts)


#: Binds a contestant's scorer to a batch's histories (``None``: the blend ranks).
Contestant = Callable[[HybridRecommender, Histories], Rescorer | None]


def _learned(rerank: RerankModel | None) -> Contestant:
    def bind(hybrid: HybridRecommender, hist: Histories) -> Rescorer | None:
        return rerank.rescorer(hybrid, hist, now=hybrid.ref_time_) if rerank else None

    return bind


def _model_free(stats: ItemStats) -> Contestant:
    def bind(hybrid: HybridRecommender, hist: Histories) -> Rescorer | None:
        return ModelFreeRanker(hybrid, hist, stats)

    return bind


def _lists(
    hybrid: HybridRecommender,
    data: Interactions,
    users: IntArray,
    hour: IntArray,
    contestants: Sequence[Contestant],
) -> list[list[list[int]]]:
    """Each contestant's top ``K`` of ``hybrid``'s candidates for the users (one candidate
    pass for all)."""
    hist = histories_of(hybrid, data, users, hour)
    now = hybrid.ref_time_
    rows = hybrid.candidate_rows(hist.recent, fill=PagePolicy.paged(K, K).fill)
    out = []
    for bind in contestants:
        recs = rank_rows(
            hybrid,
            hist.recent,
            n=K,
            page=K,
            now=now,
            rescorer=bind(hybrid, hist),
            explain=False,
            rows=rows,
        )
        out.append([[r.item for r in rs] for rs in recs])
    return out


def _champion_lists(
    champion: LoadedModel, data: Interactions, users: IntArray, hour: IntArray
) -> list[list[int]]:
    """The champion's lists, its histories and items mapped by id to and from ``data``."""
    index = champion.item_index
    to_champ = np.asarray([index.get(v, -1) for v in data.item_ids], dtype=np.int64)
    mapped = to_champ[data.items]
    known = mapped >= 0
    remapped = replace(
        subset(data, known),
        item_ids=champion.item_ids,
        item_tags=champion.item_tags,
        item_titles=champion.item_titles,
        item_created=champion.item_created,
        item_creators=champion.item_creators,
    )
    remapped = replace(remapped, items=mapped[known])
    back = {i: j for j, i in enumerate(to_champ.tolist()) if i >= 0}
    [lists] = _lists(champion.hybrid, remapped, users, hour, [_learned(champion.rerank)])
    return [[back[i] for i in items if i in back] for items in lists]


def gate(
    challenger: Challenger,
    champion: LoadedModel | None,
    settings: Settings,
) -> dict[str, Any]:
    """The contestants' holdout figures and the decision (``publish``, ``reason``)."""
    like_at, long_at = thresholds(settings)
    truth: HoldoutTruth = sampled(
        holdout_truth(challenger.split.holdout, like_at=like_at, long_at=long_at),
        max_users=settings.gate_users,
    )
    if truth.users.size == 0:
        return {"publish": True, "reason": "no holdout user to judge on", "figures": {}}
    data = challenger.fitted_on
    first = np.full(data.n_users, np.inf)
    hold = challenger.split.holdout
    np.minimum.at(first, hold.users, hold.timestamps)
    hour = hour_of(first[truth.users])
    figures: dict[str, dict[str, float]] = {}
    h = challenger.hybrid
    stats = (  # the ranker's item figures are those of the same events, when there is one
        challenger.rerank.stats
        if challenger.rerank is not None
        else ItemStats.from_events(
            data.items, data.weights, data.timestamps, data.n_items, like_at=like_at
        )
    )
    contestants = [_learned(challenger.rerank), _learned(None), _model_free(stats)]
    for name, lists in zip(
        ("challenger", "hybrid", MODEL_FREE),
        _lists(h, data, truth.users, hour, contestants),
        strict=True,
    ):
        figures[name] = score_lists(padded(lists, K), truth)
    ranking = h.models["popularity"].ranking() if "popularity" in h.models else None
    if ranking is not None:
        counted = data.matrix()
        order = ranking[1].tolist()
        tops = []
        for u in truth.users.tolist():
            seen = set(counted.indices[counted.indptr[u] : counted.indptr[u + 1]].tolist())
            tops.append([i for i in order[: K + len(seen)] if i not in seen][:K])
        figures["trending"] = score_lists(padded(tops, K), truth)
    decision: dict[str, Any] = {"figures": figures, "margin": settings.gate_margin}
    if champion is None:
        if not settings.gate_model_free:
            return {**decision, "publish": True, "reason": "no model is serving"}
        return {**decision, **_verdict(figures, MODEL_FREE, settings.gate_margin)}
    try:
        figures["champion"] = score_lists(
            padded(_champion_lists(champion, data, truth.users, hour), K), truth
        )
    except Exception as exc:  # a champion that cannot rank must not block a working model
        logger.warning("gate: the champion %s could not be scored: %s", champion.version, exc)
        return {**decision, "publish": True, "reason": f"the champion failed to rank: {exc}"}
    return {**decision, **_verdict(figures, "champion", settings.gate_margin)}


def _verdict(figures: dict[str, dict[str, float]], serving: str, margin: float) -> dict[str, Any]:
    """Publish the challenger only if its NDCG@10 beats ``serving``'s by ``margin``."""
    new, old = figures["challenger"]["ndcg@10"], figures[serving]["ndcg@10"]
    if new > old * (1.0 + margin) or (old == 0 and new > 0):
        return {"publish": True, "reason": f"ndcg@10 {new:.4f} beats the {serving}'s {old:.4f}"}
    return {
        "publish": False,
        "reason": f"ndcg@10 {new:.4f} does not beat the {serving}'s {old:.4f} by the margin",
    }
