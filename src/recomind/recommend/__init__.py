"""Recommendation strategies behind one interface (:class:`Recommender`)."""

from recomind.recommend.base import (
    Interactions,
    Recommendation,
    Recommender,
    history_row,
    top_n,
)

__all__ = [
    "Interactions",
    "Recommendation",
    "Recommender",
    "history_row",
    "top_n",
]
