"""Shared fixtures: the design catalogue with known answers."""

from __future__ import annotations

import pytest
from recommend_design import A_LIKES, N_ITEMS, make_design
from scipy import sparse

from recomind.recommend.base import Interactions, history_row
from recomind.weights import DEFAULT_ACTION_WEIGHTS as ACTION_WEIGHTS


@pytest.fixture(scope="session")
def design() -> Interactions:
    return make_design()


@pytest.fixture(scope="session")
def history_a() -> sparse.csr_matrix:
    return history_row(A_LIKES, [ACTION_WEIGHTS["like"]] * len(A_LIKES), N_ITEMS)
