"""The learned ranker: labels, features, training groups without leakage, fit and persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recomind.recommend.base import Interactions
from recomind.recommend.hybrid import HybridRecommender
from recomind.recommend.ltr import LIKE, LONG_WATCH, SHORT_VIEW, SKIP, grades
from recomind.recommend.ltr_data import RerankModel, histories_of, training_groups
from recomind.recommend.ltr_features import feature_names, hour_of
from recomind.recommend.ltr_fit import fit_rerank_model, split_by_time, window_of

pytest.importorskip("lightgbm")

LIKE_AT, LONG_AT = 4.0, 0.5
TOPICS = 12


def _audience(users: int = 120, items: int = 240, rounds: int = 6, seed: int = 0) -> Interactions:
    """Users who like 2 of 12 topics (a video's one tag); 10 random videos a round each."""
    rng = np.random.default_rng(seed)
    topic = rng.integers(0, TOPICS, items)
    liked = np.zeros((users, TOPICS), dtype=bool)
    for u in range(users):
        liked[u, rng.choice(TOPICS, 2, replace=False)] = True
    rows, t = [], 1.7e9
    for _ in range(rounds):
        for u in range(users):
            for v in rng.choice(items, 10, replace=False):
                p = 0.75 if liked[u, topic[v]] else 0.05
                liked_it = rng.random() < p  # a skip or a view is drawn only when not liked
                w = 4.0 if liked_it else (-1.0 if rng.random() < 0.5 else 0.3)
                t += 7.0
                rows.append((u, v, w, t))
    ev = np.asarray(rows)
    return Interactions(
        user_ids=[f"u{u}" for u in range(users)],
        item_ids=[f"v{i}" for i in range(items)],
        users=ev[:, 0].astype(np.int64),
        items=ev[:, 1].astype(np.int64),
        weights=ev[:, 2].astype(np.float32),
        timestamps=ev[:, 3],
        item_tags=[[f"t{topic[i]}"] for i in range(items)],
        item_titles=[f"Clip {i}" for i in range(items)],
        item_created=np.full(items, 1.6e9),
        item_creators=[f"c{i % 30}" for i in range(items)],
    )


def _hybrid(data: Interactions) -> HybridRecommender:
    return HybridRecommender(components=["popularity", "content", "itemknn"]).fit(data)


def test_grades_order_like_long_short_skip() -> None:
    w = np.asarray([4.5, 4.0, 0.8, 0.5, 0.2, 0.0, -1.0])
    assert grades(w, like_at=LIKE_AT, long_at=LONG_AT).tolist() == [
        LIKE,
        LIKE,
        LONG_WATCH,
        LONG_WATCH,
        SHORT_VIEW,
        SKIP,
        SKIP,
    ]


def test_split_by_time_is_a_partition_in_time_order() -> None:
    data = _audience(users=20, rounds=3)
    split = split_by_time(data, holdout=0.1, window=0.2)
    sizes = [split.past.users.size, split.window.users.size, split.holdout.users.size]
    assert sum(sizes) == data.users.size
    assert split.past.timestamps.max() < split.window.timestamps.min()
    assert split.window.timestamps.max() < split.holdout.timestamps.min()
    assert abs(split.holdout.users.size / data.users.size - 0.1) < 0.02


def test_groups_hold_window_items_with_labels_and_sampled_negatives() -> None:
    data = _audience(users=40, rounds=4)
    split = split_by_time(data, holdout=0.0, window=0.25)
    hybrid = _hybrid(split.past)
    groups = training_groups(
        hybrid, split.past, window_of(split.window), like_at=LIKE_AT, long_at=LONG_AT, negatives=5
    )
    assert groups.features == feature_names(hybrid.components, time_of_day=True)
    assert groups.x.shape == (groups.labels.size, len(groups.features))
    assert groups.sizes.sum() == groups.labels.size
    window_users = np.unique(split.window.users)
    assert groups.n_groups == window_users.size
    # every window pair is in its group, graded; the rest are skips (sampled negatives)
    pairs = np.unique(split.window.users * data.n_items + split.window.items).size
    assert (groups.labels > SKIP).sum() <= pairs <= groups.labels.size
    assert np.bincount(groups.labels, minlength=4)[LIKE] > 0


def test_window_outcomes_do_not_leak_into_features() -> None:
    """A user's features come from the past only: liking more in the window changes labels,
    not the rows that describe the user."""
    data = _audience(users=30, rounds=4)
    split = split_by_time(data, holdout=0.0, window=0.25)
    hybrid = _hybrid(split.past)
    w = window_of(split.window)
    flipped = (w[0], w[1], np.full_like(w[2], 4.0), w[3])
    a = training_groups(hybrid, split.past, w, like_at=LIKE_AT, long_at=LONG_AT, negatives=0)
    b = training_groups(hybrid, split.past, flipped, like_at=LIKE_AT, long_at=LONG_AT, negatives=0)
    np.testing.assert_array_equal(a.x, b.x)
    assert (b.labels == LIKE).all() and not (a.labels == LIKE).all()


def test_tag_features_follow_the_users_past_likes() -> None:
    data = _audience(users=30, rounds=3)
    hybrid = _hybrid(data)
    users = np.arange(data.n_users)
    hist = histories_of(hybrid, data, users, hour_of(np.zeros(users.size)))
    rows = hybrid.candidate_rows(hist.recent, fill=0)
    from recomind.recommend.ltr_features import ItemStats, feature_matrix

    stats = ItemStats.from_events(
        data.items, data.weights, data.timestamps, data.n_items, like_at=LIKE_AT
    )
    x = feature_matrix(
        rows,
        hybrid.row_weights(hist.recent),
        hist,
        components=hybrid.components,
        catalogue=hybrid.catalogue,
        stats=stats,
        freshness=np.ones(sum(r.items.size for r in rows), np.float32),
        ref_time=hybrid.ref_time_,
        time_of_day=False,
    )
    col = feature_names(hybrid.components, time_of_day=False).index("tag:pos")
    # user 0's liked tags: the tags of the videos they liked
    u0 = data.users == 0
    liked_tags = {data.item_tags[i][0] for i in data.items[u0 & (data.weights >= LIKE_AT)]}
    items = rows[0].items
    own = x[: items.size, col]
    in_liked = np.asarray([data.item_tags[i][0] in liked_tags for i in items])
    assert in_liked.any() and (~in_liked).any()
    assert own[in_liked].min() > own[~in_liked].max()


def test_learned_ranker_beats_the_fixed_blend_on_a_tag_signal(tmp_path: Path) -> None:
    from recomind.evaluation.holdout import holdout_truth, padded, score_lists
    from recomind.recommend.batch_rank import rank_rows

    data = _audience()
    split = split_by_time(data, holdout=0.15, window=0.2)
    fit = fit_rerank_model(
        _hybrid, split, split.fit_part, like_at=LIKE_AT, long_at=LONG_AT, time_of_day=False
    )
    assert fit.model is not None, fit.figures
    # persistence keeps the predictions
    fit.model.save(tmp_path / "ranker.npz")
    loaded = RerankModel.load(tmp_path / "ranker.npz")
    hybrid = _hybrid(split.fit_part)
    truth = holdout_truth(split.holdout, like_at=LIKE_AT, long_at=LONG_AT)
    hist = histories_of(hybrid, split.fit_part, truth.users, np.zeros(truth.users.size, np.int64))

    def lists(model: RerankModel | None) -> list[list[int]]:
        resc = model.rescorer(hybrid, hist, now=None) if model else None
        recs = rank_rows(hybrid, hist.recent, n=20, page=20, rescorer=resc)
        return [[r.item for r in rs] for rs in recs]

    learned, again = lists(fit.model), lists(loaded)
    assert learned == again
    ltr = score_lists(padded(learned, 20), truth)
    blend = score_lists(padded(lists(None), 20), truth)
    assert ltr["like_rate@10"] > blend["like_rate@10"]
    assert ltr["ndcg@10"] > blend["ndcg@10"]


def test_too_little_data_fits_no_ranker() -> None:
    data = _audience(users=5, rounds=2)
    split = split_by_time(data, holdout=0.0, window=0.3)
    fit = fit_rerank_model(_hybrid, split, data, like_at=LIKE_AT, long_at=LONG_AT)
    assert fit.model is None
    assert "fewer than" in fit.figures["skipped"]


def test_groups_and_gate_users_are_capped_by_seeded_samples() -> None:
    from recomind.evaluation.holdout import holdout_truth, sampled

    data = _audience(users=40, rounds=4)
    split = split_by_time(data, holdout=0.2, window=0.25)
    hybrid = _hybrid(split.past)
    w = window_of(split.window)
    kw = {"like_at": LIKE_AT, "long_at": LONG_AT, "negatives": 3}
    capped = training_groups(hybrid, split.past, w, max_users=7, **kw)
    again = training_groups(hybrid, split.past, w, max_users=7, **kw)
    assert capped.n_groups == 7 < np.unique(split.window.users).size
    np.testing.assert_array_equal(capped.x, again.x)  # seeded: the same users each run
    truth = holdout_truth(split.holdout, like_at=LIKE_AT, long_at=LONG_AT)
    assert truth.users.size > 5
    few = sampled(truth, max_users=5)
    assert few.users.size == 5 and set(few.users.tolist()) <= set(truth.users.tolist())
    row = {int(u): r for r, u in enumerate(truth.users.tolist())}
    for r, u in enumerate(few.users.tolist()):  # each kept user keeps their own targets
        assert (few.targets[r] != truth.targets[row[u]]).nnz == 0
    assert sampled(truth, max_users=10_000) is truth


def test_taste_features_follow_the_top_tag_and_survive_a_catalogue_without_creators() -> None:
    from dataclasses import replace

    data = replace(_audience(users=30, rounds=3), item_creators=None)
    split = split_by_time(data, holdout=0.0, window=0.3)
    hybrid = _hybrid(split.past)
    groups = training_groups(
        hybrid, split.past, window_of(split.window), like_at=LIKE_AT, long_at=LONG_AT
    )
    names = groups.features
    creator = groups.x[:, names.index("taste:creator")]
    assert np.all(creator == 0)  # no creators: the term is 0, not an error
    tag = groups.x[:, names.index("taste:tag")]
    assert tag.max() <= 1.0 + 1e-6 and tag.max() > 0.5  # relative to the user's top tag
    liked = groups.labels == LIKE
    assert tag[liked].mean() > tag[groups.labels == SKIP].mean()
