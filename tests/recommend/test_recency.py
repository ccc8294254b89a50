"""Recency weighting of history rows: hand-computed factors, positions and matrices."""

from __future__ import annotations

import numpy as np
import pytest

from recomind.recommend import recency
from recomind.recommend.base import Interactions
from recomind.recommend.hybrid import HybridRecommender


def _data() -> Interactions:
    # user 0: items 0 (t=5), 2 (t=5, later in the file, so newer), 3 (t=3), a skip of 4 (t=1)
    # user 1: items 1 (t=1), 2 (t=2)
    return Interactions(
        user_ids=["a", "b"],
        item_ids=[f"v{i}" for i in range(5)],
        users=np.array([0, 1, 0, 0, 1, 0]),
        items=np.array([0, 1, 2, 3, 2, 4]),
        weights=np.array([4.0, 1.0, 1.0, 1.0, 4.0, -1.0], dtype=np.float32),
        timestamps=np.array([5.0, 1.0, 5.0, 3.0, 2.0, 1.0]),
    )


def test_factors_by_hand() -> None:
    got = recency.factors([0, 2, 4], half_life=2.0, floor=0.01)
    assert got == pytest.approx([1.0, 0.01 + 0.99 * 0.5, 0.01 + 0.99 * 0.25])
    assert recency.factors([0, 7], half_life=0.0, floor=0.5).tolist() == [1.0, 1.0]
    far = recency.factors([10_000], half_life=1.0, floor=0.05)
    assert far[0] == pytest.approx(0.05)


def test_positions_count_newer_events_and_ties_keep_file_order() -> None:
    d = _data()
    got = recency.positions_from_newest(d.users, d.timestamps)
    assert got.tolist() == [1, 1, 0, 2, 0, 3]


def test_history_matrix_weights_each_event_by_its_position() -> None:
    d = _data()
    assert (recency.history_matrix(d, 0.0, 0.01) != d.matrix()).nnz == 0
    m = recency.history_matrix(d, 1.0, 0.1).toarray()
    f = recency.factors([0, 1, 2, 3], 1.0, 0.1)
    want = np.zeros((2, 5), dtype=np.float32)
    want[0, [2, 0, 3, 4]] = [1.0 * f[0], 4.0 * f[1], 1.0 * f[2], -1.0 * f[3]]
    want[1, [2, 1]] = [4.0 * f[0], 1.0 * f[1]]
    assert m == pytest.approx(want)
    # Same items as the plain matrix, same signs: exclusion and cold/warm counts hold.
    assert np.array_equal(np.sign(m), np.sign(d.matrix().toarray()))


@pytest.mark.parametrize(
    ("params", "field"),
    [({"recency_half_life": -1.0}, "recency_half_life"), ({"recency_floor": 0.0}, "floor")],
)
def test_bad_recency_params_are_rejected(params: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        HybridRecommender(**params)


def test_hybrid_rows_use_its_recency_and_round_trip() -> None:
    d = _data()
    model = HybridRecommender(components=["popularity"], recency_half_life=1.0, recency_floor=0.1)
    assert (model.history_matrix(d) != recency.history_matrix(d, 1.0, 0.1)).nnz == 0
    assert model.recency_factors([0, 1]).tolist() == pytest.approx([1.0, 0.55])
    assert HybridRecommender(**model.get_params()).get_params() == model.get_params()
