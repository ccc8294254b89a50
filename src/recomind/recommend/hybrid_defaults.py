"""The hybrid's default components, blend weights and recency (tuned on MicroLens)."""

from __future__ import annotations

DEFAULT_COMPONENTS = ["popularity", "content", "itemknn", "userknn", "als"]
#: Weights for a user with one positive interaction (an empty row gets popularity alone):
#: what that one like says (its tags: content; what its viewers watched: item-kNN) leads,
#: popularity only breaks ties among the rest.
DEFAULT_COLD_WEIGHTS = {
    "popularity": 0.3,
    "content": 1.0,
    "itemknn": 0.5,
    "userknn": 0.2,
    "als": 0.1,
}
#: Weights for a user with at least ``warm_after`` positive interactions.
DEFAULT_WARM_WEIGHTS = {
    "popularity": 0.05,
    "content": 0.1,
    "itemknn": 1.0,
    "userknn": 0.5,
    "als": 1.0,
}
#: Default recency half-life, in actions (see :mod:`recomind.recommend.recency`).
DEFAULT_RECENCY_HALF_LIFE = 2.0
#: Default weight multiplier of a user's oldest actions.
DEFAULT_RECENCY_FLOOR = 0.01
