"""The learned ranker as a row of the evaluation: the hybrid's candidates, re-ranked.

``recomind:learned`` is the service's two-stage model (``docs/ranker.md``): the tuned
``recomind:hybrid`` proposes candidates and a LightGBM ``lambdarank`` model
(:class:`~recomind.recommend.ltr.LearnedRanker`) orders them. ``recomind:learned+tod`` is
the same with the hour-of-day features (the service's ``RECOMIND_RANKER_TIME_OF_DAY``).

The public data sets have no impressions, so the ranker learns from the fitting data alone
(train + validation, the data every row's test figures are fitted on), by a time split
inside it, as :func:`~recomind.recommend.ltr_fit.fit_rerank_model` does for a deployment:

1. the **label window** is the last 20 % of each user's fitting events (``split="user"``,
   the default: at least one event for users with 3 or more; the test protocols cut each
   user's timeline too) or of the global timeline (``split="global"``: the service's
   :func:`~recomind.recommend.ltr_fit.split_by_time`); the rest is the **past**;
2. a hybrid with the tuned hybrid's parameters is fitted on the past, and each user who
   acted in the window gets a group (:func:`~recomind.recommend.ltr_data.training_groups`):
   their window items (every event weighs 1 here, a "long watch", grade 2) and 10 of the
   hybrid's candidates from their past that they did not touch (grade 0); the features
   see the past only;
   (``window_items="proposed"`` keeps only the window items the past hybrid proposed);
3. the ranker is fitted on the groups (its defaults: 150 trees of 15 leaves), with the item
   figures of the fitting data, and re-ranks the candidates of the hybrid fitted on all the
   fitting data (the ``recomind:hybrid`` row's own model) for every test user, at the hour of
   their first test event.

The learned row's list is the top 20 of the candidates by the ranker's score, with no page
caps, exactly as the hybrid's row is the top 20 of its blend; the blend is positive only on
candidates, so both rows choose from the same items. The ranker is not tuned on
validation (its parameters are the service's).
"""

from __future__ import annotations

import itertools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from recomind.recommend.base import Interactions
from recomind.recommend.hybrid import HybridRecommender
from recomind.recommend.ltr import LearnedRanker
from recomind.recommend.ltr_data import Groups, RerankModel, training_groups, user_hours
from recomind.recommend.ltr_features import Histories, ItemStats, feature_names, hour_of
from recomind.recommend.ltr_fit import MIN_GROUPS, RankerFit, TimeSplit, split_by_time, subset
from recomind.weights import DEFAULT_ACTION_WEIGHTS

from . import metrics, significance
from .fitting import SELECTION_METRIC, FitCache, ModelResult, ModelSpec, fit
from .grids import Params
from .peers import default_threads
from .ranking import DEFAULT_BATCH, Ranking, hits_of, measure
from .splits import MIN_EVENTS, Split, Targets, timeline_positions

logger = logging.getLogger(__name__)

HYBRID = "recomind:hybrid"
LEARNED = "recomind:learned"
LEARNED_TOD = "recomind:learned+tod"
LABELS = (LEARNED, LEARNED_TOD)
#: A like's summed weight and a long watch's (the service's defaults: ``thresholds``).
LIKE_AT = DEFAULT_ACTION_WEIGHTS["like"]
LONG_AT = 0.5 * DEFAULT_ACTION_WEIGHTS["view"]
#: Users whose groups are built at once (bounds the dense component rows in memory).
GROUP_CHUNK = 4000
K = 20

SplitKind = Literal["user", "global"]


def default_params(*, time_of_day: bool) -> Params:
    """The learned row's settings: the service's window, negatives and ranker."""
    return {"time_of_day": time_of_day, "split": "user", "window": 0.2, "negatives": 10}


def specs(hybrid: ModelSpec) -> dict[str, ModelSpec]:
    """The learned rows; they fit hybrids with ``hybrid``'s constructor."""
    return {
        LEARNED: ModelSpec(LEARNED, "recomind", hybrid.build, [default_params(time_of_day=False)]),
        LEARNED_TOD: ModelSpec(
            LEARNED_TOD, "recomind", hybrid.build, [default_params(time_of_day=True)]
        ),
    }


def with_hybrid(chosen: dict[str, ModelSpec], all_specs: dict[str, ModelSpec]) -> None:
    """Put ``recomind:hybrid`` before the first learned row if it was not chosen: the
    learned rows re-rank its candidates with its tuned parameters."""
    if HYBRID in chosen or not any(label in chosen for label in LABELS):
        return
    items = list(chosen.items())
    at = next(i for i, (label, _) in enumerate(items) if label in LABELS)
    items.insert(at, (HYBRID, all_specs[HYBRID]))
    chosen.clear()
    chosen.update(items)


def user_window(data: Interactions, share: float) -> TimeSplit:
    """The last ``share`` of each user's events (at least one for users with
    :data:`~.splits.MIN_EVENTS` or more, none for the others) as the label window."""
    pos, n, _ = timeline_positions(data)
    n_window = np.where(n >= MIN_EVENTS, np.maximum(1, np.floor(share * n + 0.5)), 0)
    in_window = pos >= n - n_window.astype(np.int64)
    empty = subset(data, np.zeros(data.users.size, dtype=bool))
    return TimeSplit(subset(data, ~in_window), subset(data, in_window), empty, 0.0, np.inf)


def time_split(data: Interactions, kind: SplitKind, share: float) -> TimeSplit:
    """Past and label window of the fitting data (see the module)."""
    if kind == "user":
        return user_window(data, share)
    return split_by_time(data, holdout=0.0, window=share)


def candidates_only(
    hybrid: HybridRecommender, split: TimeSplit, *, chunk: int = GROUP_CHUNK
) -> TimeSplit:
    """``split`` with only the window events whose item ``hybrid`` (fitted on the past)
    proposes to their user from the user's past: the groups then hold the items the
    ranker will actually have to order."""
    w, past = split.window, split.past
    recent = hybrid.history_matrix(past)
    users = np.unique(w.users)
    keep = np.zeros(w.users.size, dtype=bool)
    for lo in range(0, users.size, chunk):
        part = users[lo : lo + chunk]
        rows = hybrid.candidate_rows(recent[part], fill=0)
        n = past.n_items
        proposed = np.concatenate([u * n + r.items for u, r in zip(part, rows, strict=True)])
        mask = np.isin(w.users, part)
        keep[mask] = np.isin(w.users[mask] * n + w.items[mask], proposed)
    return TimeSplit(past, subset(w, keep), split.holdout, split.label_at, split.holdout_at)


def _concat(parts: list[Groups], names: list[str]) -> Groups:
    if not parts:
        empty = np.zeros(0, np.int64)
        return Groups(np.zeros((0, len(names)), np.float32), empty, empty, names)
    return Groups(
        np.concatenate([g.x for g in parts]),
        np.concatenate([g.labels for g in parts]),
        np.concatenate([g.sizes for g in parts]),
        parts[0].features,
    )


def fit_ranker(
    hybrid: HybridRecommender,
    split: TimeSplit,
    serving: Interactions,
    *,
    time_of_day: bool,
    negatives: int,
    seed: int = 0,
    chunk: int = GROUP_CHUNK,
) -> RankerFit:
    """:func:`~recomind.recommend.ltr_fit.fit_rerank_model` with ``hybrid`` already fitted
    on ``split.past``, building the groups ``chunk`` users at a time (the same groups: each
    depends on its own user only; the negatives are drawn per chunk)."""
    w = split.window
    figures: dict[str, Any] = {
        "past_events": int(split.past.users.size),
        "window_events": int(w.users.size),
    }
    users = np.unique(w.users)
    parts: list[Groups] = []
    for c, lo in enumerate(range(0, users.size, chunk)):
        mask = np.isin(w.users, users[lo : lo + chunk])
        window = (w.users[mask], w.items[mask], w.weights[mask], w.timestamps[mask])
        parts.append(
            training_groups(
                hybrid,
                split.past,
                window,
                like_at=LIKE_AT,
                long_at=LONG_AT,
                negatives=negatives,
                time_of_day=time_of_day,
                seed=seed + c,
            )
        )
    groups = _concat(parts, feature_names(hybrid.components, time_of_day=time_of_day))
    bounds = np.concatenate([[0], np.cumsum(groups.sizes)])
    varied = int(sum(np.ptp(groups.labels[s:e]) > 0 for s, e in itertools.pairwise(bounds)))
    figures |= {"groups": groups.n_groups, "rows": int(groups.labels.size), "varied": varied}
    figures["label_counts"] = np.bincount(groups.labels, minlength=4).tolist()
    if varied < MIN_GROUPS:
        return RankerFit(None, {**figures, "skipped": f"fewer than {MIN_GROUPS} groups to learn"})
    ranker = LearnedRanker(groups.features).fit(groups.x, groups.labels, groups.sizes)
    ranker.meta = {"training": figures}
    stats = ItemStats.from_events(
        serving.items, serving.weights, serving.timestamps, serving.n_items, like_at=LIKE_AT
    )
    return RankerFit(RerankModel(ranker, stats, time_of_day), figures)


def rank_candidates(
    hybrid: HybridRecommender,
    rerank: RerankModel | None,
    data: Interactions,
    targets: Targets,
    start: npt.NDArray[np.float64],
    *,
    k: int = K,
    batch_size: int = DEFAULT_BATCH,
    threads: int | None = None,
) -> Ranking:
    """Top ``k`` of each target user's candidates from ``data`` (their fitting events),
    by ``rerank`` (by the hybrid's blend with freshness when ``None``), ranked at the
    hour of ``start``."""
    t0 = time.perf_counter()
    n = targets.users.size
    counted = data.matrix()
    recent = hybrid.history_matrix(data)
    hours = user_hours(data.users, data.timestamps, data.n_users)
    ranked = np.full((n, k), -1, dtype=np.int64)
    lengths = np.zeros(n, dtype=np.int64)

    def one_batch(lo: int) -> None:
        hi = min(lo + batch_size, n)
        users = targets.users[lo:hi]
        hist = Histories(counted[users], recent[users], hours[users], hour_of(start[lo:hi]))
        seen = hist.counted
        rows = [
            r.without(seen.indices[seen.indptr[j] : seen.indptr[j + 1]].astype(np.int64))
            for j, r in enumerate(hybrid.candidate_rows(hist.recent, fill=0))
        ]
        if rerank is not None:
            scorer = rerank.rescorer(hybrid, hist, now=hybrid.ref_time_)
            scores = scorer.scores(rows, list(range(len(rows))))
        else:
            scores = [r.total() * hybrid.freshness(None, r.items) for r in rows]
        for j, (row, s) in enumerate(zip(rows, scores, strict=True)):
            top = np.argsort(-s, kind="stable")[:k]
            ranked[lo + j, : top.size] = row.items[top]
            lengths[lo + j] = row.items.size

    workers = max(1, threads if threads is not None else default_threads())
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(one_batch, range(0, n, batch_size)))
    hits = hits_of(ranked, targets.matrix)
    return Ranking(ranked, hits, targets.n_targets, lengths, time.perf_counter() - t0)


def evaluate(
    spec: ModelSpec,
    data_split: Split,
    done: list[ModelResult],
    *,
    batch_size: int = DEFAULT_BATCH,
    seed: int = 0,
    cache: FitCache | None = None,
) -> ModelResult:
    """The learned row ``spec``, over the candidates of the ``recomind:hybrid`` in ``done``."""
    cache = cache if cache is not None else FitCache()
    params = dict(spec.grid[0])
    base = next((m for m in done if m.label == HYBRID and not m.error), None)
    if base is None:
        raise ValueError(f"{spec.label} needs a {HYBRID} result in the same run")
    hybrid_spec = ModelSpec(HYBRID, "recomind", spec.build, [base.params])
    result = ModelResult(spec.label, spec.family, params)
    train_val = data_split.train_val
    kind: SplitKind = params["split"]
    t0 = time.perf_counter()
    split = cache.derived(
        ("ranker-split", id(train_val), kind, params["window"]),
        lambda: time_split(train_val, kind, float(params["window"])),
    )
    reused = cache.reused_seconds
    past_hybrid = fit(hybrid_spec, base.params, split.past, cache)
    assert isinstance(past_hybrid, HybridRecommender)
    if params.get("window_items", "all") == "proposed":
        split = candidates_only(past_hybrid, split)
    t1 = time.perf_counter()
    ranker_fit = fit_ranker(
        past_hybrid,
        split,
        train_val,
        time_of_day=bool(params["time_of_day"]),
        negatives=int(params["negatives"]),
        seed=seed,
    )
    t2 = time.perf_counter()
    hybrid = fit(hybrid_spec, base.params, train_val, cache)
    assert isinstance(hybrid, HybridRecommender)
    result.fit_seconds = time.perf_counter() - t0 + cache.reused_seconds - reused
    model = ranker_fit.model
    result.extra = {
        "ranker_fit": ranker_fit.figures,
        "seconds": {"past_hybrid": round(t1 - t0, 2), "groups_and_ranker": round(t2 - t1, 2)},
        "importance": dict(list(model.ranker.importances().items())[:12]) if model else {},
    }
    if model is None:
        logger.warning("%s: no ranker (%s); the hybrid ranks", spec.label, ranker_fit.figures)
    start = data_split.test_start
    if start is None:
        start = np.zeros(data_split.test.users.size)
    ranking = rank_candidates(
        hybrid, model, train_val, data_split.test, start, batch_size=batch_size
    )
    result.score_seconds = ranking.seconds
    result.metrics = measure(ranking, train_val.n_items, data_split.protocol)
    values = metrics.ndcg_per_user(ranking.hits, ranking.n_targets, 10)
    result.per_user[SELECTION_METRIC] = values
    if values.size >= 2:
        result.intervals[SELECTION_METRIC] = list(significance.mean_interval(values, seed=seed))
    logger.info("%s: test %s (%s)", spec.label, result.metrics, ranker_fit.figures)
    return result


#: The paired comparisons of the learned rows: (model, baseline).
PAIRS = ((LEARNED, HYBRID), (LEARNED_TOD, HYBRID), (LEARNED_TOD, LEARNED))


def comparisons(models: list[ModelResult], *, seed: int = 0) -> list[dict[str, Any]]:
    """Each learned row against the hybrid, and with time of day against without, paired
    over the same test users (:func:`.significance.compare`)."""
    by = {m.label: m.per_user.get(SELECTION_METRIC) for m in models if not m.error}
    out = []
    for a, b in PAIRS:
        va, vb = by.get(a), by.get(b)
        if va is not None and vb is not None and va.size >= 2:
            found = significance.compare(a, va, b, vb, metric=SELECTION_METRIC, seed=seed)
            out.append(asdict(found))
    return out
