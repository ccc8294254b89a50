"""Shared fixtures: a synthetic catalogue to fit and store models on."""

from __future__ import annotations

import pytest

from recomind.recommend.base import Interactions
from recomind.recommend.synthetic import make_synthetic


@pytest.fixture(scope="session")
def synthetic() -> Interactions:
    return make_synthetic(n_users=300, n_items=250, n_events=6000, n_tags=20, seed=3)
