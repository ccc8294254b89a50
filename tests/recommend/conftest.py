"""Shared fixtures: the design catalogue with known answers, and a synthetic one."""

from __future__ import annotations

import pytest
from recommend_design import A_LIKES, N_ITEMS, make_design
from scipy import sparse
from tests.utils.synthetic import make_synthetic

from recomind.recommend.base import Interactions, history_row
from recomind.weights import DEFAULT_ACTION_WEIGHTS as ACTION_WEIGHTS


@pytest.fixture(scope="session")
def design() -> Interactions:
    return make_design()


@pytest.fixture(scope="session")
def history_a() -> sparse.csr_matrix:
    return history_row(A_LIKES, [ACTION_WEIGHTS["like"]] * len(A_LIKES), N_ITEMS)


@pytest.fixture(scope="session")
def synthetic() -> Interactions:
    return make_synthetic(n_users=300, n_items=250, n_events=6000, n_tags=20, seed=3)
