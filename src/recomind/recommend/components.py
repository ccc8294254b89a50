"""The strategies a hybrid can blend, by their stable ``name``.

The table the hybrid builds and loads its components from. :mod:`recomind.recommend.registry`
lists these plus the hybrid itself (every strategy by name); it imports this module and the
hybrid, and the hybrid imports only this one, so there is no import cycle.
"""

from __future__ import annotations

from recomind.recommend.als import ALSRecommender
from recomind.recommend.base import Recommender
from recomind.recommend.content import ContentRecommender
from recomind.recommend.ease import EASERecommender
from recomind.recommend.itemknn import ItemKNNRecommender
from recomind.recommend.popularity import PopularityRecommender
from recomind.recommend.userknn import UserKNNRecommender

#: Strategies a hybrid can blend, by their stable ``name``.
COMPONENTS: dict[str, type[Recommender]] = {
    c.name: c
    for c in (
        PopularityRecommender,
        ContentRecommender,
        ItemKNNRecommender,
        UserKNNRecommender,
        ALSRecommender,
        EASERecommender,
    )
}
