"""Recommendation strategies behind one interface (:class:`Recommender`)."""

from recomind.recommend.base import (
    ACTION_WEIGHTS,
    Interactions,
    Recommendation,
    Recommender,
    history_row,
    top_n,
)

__all__ = [
    "ACTION_WEIGHTS",
    "Interactions",
    "Recommendation",
    "Recommender",
    "history_row",
    "top_n",
]
