"""Every strategy by name, and building one (used by the service and the offline evaluation).

:data:`COMPONENTS` (from :mod:`recomind.recommend.components`) are the strategies a hybrid
can blend; :data:`STRATEGIES` adds the hybrid.
"""

from __future__ import annotations

import logging
from typing import Any

from recomind.recommend.base import Recommender
from recomind.recommend.components import COMPONENTS
from recomind.recommend.hybrid import HybridRecommender

logger = logging.getLogger(__name__)

__all__ = ["COMPONENTS", "STRATEGIES", "build"]

#: Every strategy class by its stable ``name``: the hybrid's components, then the hybrid.
STRATEGIES: dict[str, type[Recommender]] = {**COMPONENTS, HybridRecommender.name: HybridRecommender}


def build(name: str, **params: Any) -> Recommender:
    """Instantiate the strategy called ``name`` with constructor ``params``.

    Parameters
    ----------
    name
        One of :data:`STRATEGIES` (``"popularity"``, ``"content"``, ``"itemknn"``,
        ``"userknn"``, ``"als"``, ``"ease"``, ``"hybrid"``).
    **params
        Constructor arguments of that strategy.

    Returns
    -------
    Recommender
        An unfitted strategy.

    Raises
    ------
    KeyError
        If ``name`` is not a known strategy.
    """
    try:
        cls = STRATEGIES[name]
    except KeyError:
        known = ", ".join(sorted(STRATEGIES))
        raise KeyError(f"unknown strategy {name!r}; known: {known}") from None
    logger.debug("building strategy %s with %s", name, params)
    return cls(**params)
