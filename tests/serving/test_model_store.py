"""Model store: pickle-free round trip, atomic publish, hot swap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from recomind.recommend.base import Interactions
from recomind.recommend.hybrid import HybridRecommender
from recomind.serving.model_store import ModelLoader, ModelStore

PARAMS = {"components": ["popularity", "content", "itemknn"]}


@pytest.fixture(scope="module")
def fitted(synthetic: Interactions) -> HybridRecommender:
    return HybridRecommender(**PARAMS).fit(synthetic)  # type: ignore[arg-type]


def test_round_trip(tmp_path: Path, synthetic: Interactions, fitted: HybridRecommender) -> None:
    store = ModelStore(tmp_path / "models")
    assert store.load() is None
    durations = np.linspace(5, 60, synthetic.n_items)
    version = store.save(fitted, synthetic, durations=durations, extra={"note": "x"})
    assert store.latest() == version
    loaded = store.load()
    assert loaded is not None and loaded.version == version
    assert loaded.item_ids == synthetic.item_ids and loaded.user_ids == synthetic.user_ids
    assert loaded.item_tags == synthetic.item_tags
    assert loaded.item_titles == synthetic.item_titles
    assert loaded.item_creators == synthetic.item_creators
    np.testing.assert_allclose(loaded.item_durations, durations)
    assert loaded.meta["note"] == "x" and loaded.meta["n_items"] == synthetic.n_items
    assert loaded.item_index[synthetic.item_ids[7]] == 7
    rows = synthetic.matrix()[:5]
    np.testing.assert_allclose(loaded.hybrid.score(rows), fitted.score(rows), rtol=1e-5)
    h = sparse.csr_matrix(rows[0])
    assert [r.item for r in loaded.hybrid.rank(h, 10)] == [r.item for r in fitted.rank(h, 10)]
    # No pickle anywhere: every file loads with allow_pickle=False.
    for f in (tmp_path / "models" / version).glob("*.npz"):
        with np.load(f, allow_pickle=False) as npz:
            assert npz.files


def test_publish_is_atomic_and_prunes(
    tmp_path: Path,
    synthetic: Interactions,
    fitted: HybridRecommender,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = ModelStore(tmp_path, keep=2)
    first = store.save(fitted, synthetic)
    loader = ModelLoader(store, poll_seconds=0, background=False)
    m1 = loader.current()
    assert m1 is not None and m1.version == first

    def broken(path: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(fitted, "save", broken)
    with pytest.raises(OSError):
        store.save(fitted, synthetic)
    monkeypatch.undo()
    assert store.latest() == first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]
    versions = [store.save(fitted, synthetic) for _ in range(3)]
    assert store.latest() == versions[-1]
    assert store.versions() == versions[-2:]  # pruned to `keep`
    m2 = loader.current()
    assert m2 is not None and m2.version == versions[-1]  # hot-swapped


def test_loader_polls_at_most_every_poll_seconds(
    tmp_path: Path, synthetic: Interactions, fitted: HybridRecommender
) -> None:
    store = ModelStore(tmp_path)
    loader = ModelLoader(store, poll_seconds=3600, background=False)
    assert loader.current() is None
    store.save(fitted, synthetic)
    assert loader.current() is None  # not checked again yet
    assert loader.refresh() is not None
