"""Metrics pinned on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recomind.evaluation import metrics

LOG2_3 = math.log2(3)


def test_perfect_ranker_scores_one() -> None:
    hits = np.array([[True, False, False], [True, True, True], [True, True, False]])
    n_targets = np.array([1, 5, 2])
    assert metrics.hit_rate_at_k(hits, 3) == 1.0
    assert metrics.recall_at_k(hits, n_targets, 3) == pytest.approx(1.0)
    assert metrics.ndcg_at_k(hits, n_targets, 3) == pytest.approx(1.0)


def test_leave_one_out_target_at_rank_three() -> None:
    hits = np.array([[False, False, True, False]])
    assert metrics.hit_rate_at_k(hits, 2) == 0.0
    assert metrics.hit_rate_at_k(hits, 3) == 1.0
    assert metrics.ndcg_at_k(hits, [1], 4) == pytest.approx(0.5)  # 1 / log2(2 + 2)
    assert metrics.ndcg_at_k(hits, [1], 2) == 0.0


def test_known_permutation_ndcg() -> None:
    # ranking [3, 1, 2] against held-out {1, 2}: hits at ranks 1 and 2 (0-based)
    ranked = np.array([[3, 1, 2]])
    truth = {1, 2}
    hits = np.array([[r in truth for r in ranked[0]]])
    dcg = 1 / LOG2_3 + 1 / 2
    idcg = 1 + 1 / LOG2_3
    assert metrics.ndcg_at_k(hits, [2], 3) == pytest.approx(dcg / idcg)
    assert metrics.ndcg_at_k(hits, [2], 3) == pytest.approx(0.693426, abs=1e-6)
    assert metrics.recall_at_k(hits, [2], 3) == 1.0
    assert metrics.recall_at_k(hits, [2], 2) == 0.5


def test_ndcg_per_user_by_hand() -> None:
    hits = np.array([[False, True, True], [True, False, False], [False, False, False]])
    got = metrics.ndcg_per_user(hits, [2, 1, 1], 3)
    assert got == pytest.approx([(1 / LOG2_3 + 1 / 2) / (1 + 1 / LOG2_3), 1.0, 0.0])
    assert metrics.ndcg_at_k(hits, [2, 1, 1], 3) == pytest.approx(got.mean())


def test_recall_denominator_is_min_k_targets() -> None:
    hits = np.array([[True, False, True, False]])
    assert metrics.recall_at_k(hits, [10], 4) == pytest.approx(0.5)  # 2 / min(4, 10)
    assert metrics.recall_at_k(hits, [3], 4) == pytest.approx(2 / 3)


def test_means_are_over_users() -> None:
    hits = np.array([[True, False], [False, False]])
    assert metrics.hit_rate_at_k(hits, 2) == 0.5
    assert metrics.ndcg_at_k(hits, [1, 1], 2) == pytest.approx(0.5)


def test_empty_batches_are_nan() -> None:
    empty = np.zeros((0, 10), dtype=bool)
    assert math.isnan(metrics.hit_rate_at_k(empty, 10))
    assert math.isnan(metrics.recall_at_k(empty, [], 10))
    assert math.isnan(metrics.ndcg_at_k(empty, [], 10))
    assert math.isnan(metrics.short_list_fraction([], 10))
    assert metrics.coverage(np.zeros((0, 10), dtype=np.int64), 100, 10) == 0.0


def test_bad_inputs_are_refused() -> None:
    hits = np.zeros((2, 5), dtype=bool)
    with pytest.raises(ValueError, match="k must be"):
        metrics.hit_rate_at_k(hits, 0)
    with pytest.raises(ValueError, match="fewer than k"):
        metrics.ndcg_at_k(hits, [1, 1], 10)
    with pytest.raises(ValueError, match="at least one held-out"):
        metrics.ndcg_at_k(hits, [1, 0], 5)
    with pytest.raises(ValueError, match="2 users"):
        metrics.recall_at_k(hits, [1], 5)


def test_coverage_ignores_padding_and_counts_distinct_items() -> None:
    ranked = np.array([[0, 1, 2, 9], [1, 2, -1, -1], [3, -1, -1, -1]])
    assert metrics.coverage(ranked, 10, 2) == pytest.approx(4 / 10)  # {0, 1, 2, 3}
    assert metrics.coverage(ranked, 10, 4) == pytest.approx(5 / 10)


def test_short_list_fraction() -> None:
    assert metrics.short_list_fraction([10, 9, 0, 5000], 10) == 0.5
    assert metrics.short_list_fraction([10, 11], 10) == 0.0


def test_ranking_hits_and_padding() -> None:
    from scipy import sparse

    from recomind.evaluation.ranking import hits_of, top_k_rows

    scores = np.array(
        [[0.1, 0.9, -np.inf, 0.5], [-np.inf, -np.inf, 0.2, -np.inf]], dtype=np.float32
    )
    top = top_k_rows(scores, 3)
    assert top.tolist() == [[1, 3, 0], [2, -1, -1]]
    truth = sparse.csr_matrix(np.array([[1, 0, 0, 1], [1, 0, 0, 0]], dtype=np.float32))
    assert hits_of(top, truth).tolist() == [[False, True, True], [False, False, False]]
