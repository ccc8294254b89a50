"""Without the ``ml`` extra a strategy that needs it says so; the others fit and rank."""

from __future__ import annotations

import contextlib
import re
import sys

import pytest

from recomind.recommend import extras
from recomind.recommend.als import ALSRecommender
from recomind.recommend.base import Interactions
from recomind.recommend.content import ContentRecommender
from recomind.recommend.extras import MissingExtraError
from recomind.recommend.hybrid import HybridRecommender

ML_EXTRA = ("implicit", "sklearn", "threadpoolctl")


def _message(strategy: str) -> str:
    return re.escape(f"strategy {strategy!r} needs the 'ml' extra: pip install 'recomind[ml]'")


def _without_ml(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the ``ml`` extra's packages unimportable (``None`` in ``sys.modules``)."""
    for name in list(sys.modules):
        if name.split(".")[0] in ML_EXTRA:
            monkeypatch.delitem(sys.modules, name)
    for name in ML_EXTRA:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setattr(extras, "_controller", None)


def test_fitting_als_without_the_extra_names_it(
    monkeypatch: pytest.MonkeyPatch, synthetic: Interactions
) -> None:
    _without_ml(monkeypatch)
    with pytest.raises(MissingExtraError, match=_message("als")) as err:
        ALSRecommender(factors=4, iterations=1).fit(synthetic)
    assert isinstance(err.value, ImportError)


def test_fitting_content_or_a_hybrid_with_it_without_the_extra(
    monkeypatch: pytest.MonkeyPatch, synthetic: Interactions
) -> None:
    _without_ml(monkeypatch)
    with pytest.raises(MissingExtraError, match=_message("content")):
        ContentRecommender().fit(synthetic)
    with pytest.raises(MissingExtraError, match=_message("content")):
        HybridRecommender(components=["popularity", "content"]).fit(synthetic)


def test_a_hybrid_of_base_install_strategies_fits_and_ranks(
    monkeypatch: pytest.MonkeyPatch, synthetic: Interactions
) -> None:
    _without_ml(monkeypatch)
    assert isinstance(extras.single_threaded_blas(), contextlib.nullcontext)
    model = HybridRecommender(components=["popularity", "itemknn", "userknn", "ease"])
    page = model.fit(synthetic).rank(synthetic.matrix()[0], 10)
    assert len(page) == 10
