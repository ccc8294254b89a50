"""The learned ranker: LightGBM's ``lambdarank`` over the strategies' candidates.

:class:`LearnedRanker` re-ranks the union of the hybrid's candidates
(:mod:`recomind.recommend.ltr_features`: each strategy's score and rank, the item's figures,
the user's history with the item's tags and creator, time of day). It is fitted on groups
of candidates with graded labels (:func:`grades`: like > long watch > short view > skip),
built by :mod:`recomind.recommend.ltr_data` from a time split of the deployment's own
events. LightGBM is in the ``ml`` extra and imported when a ranker is fitted or loaded.

The booster is kept as LightGBM's own text format (no pickle), inside the ``.npz`` file
the rest of the model uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from recomind.recommend.base import FloatArray, IntArray

#: Label of a like, a long watch, a short view and a skip (or an unliked / shown-only item).
LIKE, LONG_WATCH, SHORT_VIEW, SKIP = 3, 2, 1, 0
#: Feature groups (a feature's prefix) that stand for each reason source.
SOURCE_OF_GROUP = {"tag": "content", "creator": "content", "item": "popularity"}


def grades(weights: FloatArray, *, like_at: float, long_at: float) -> IntArray:
    """Graded labels of summed per-(user, item) weights: :data:`LIKE` from ``like_at``,
    :data:`LONG_WATCH` from ``long_at``, :data:`SHORT_VIEW` above 0, else :data:`SKIP`."""
    w = np.asarray(weights, dtype=np.float64)
    out = np.full(w.shape, SKIP, dtype=np.int64)
    out[w > 0] = SHORT_VIEW
    out[w >= long_at] = LONG_WATCH
    out[w >= like_at] = LIKE
    return out


class LearnedRanker:
    """A LightGBM ``lambdarank`` model over named features.

    Parameters
    ----------
    features
        Column names, in order (:func:`~recomind.recommend.ltr_features.feature_names`).
    n_estimators, learning_rate, num_leaves, min_data_in_leaf
        LightGBM's parameters of the same names.
    random_state
        Seed (LightGBM's ``seed``); with one thread the fit is deterministic.
    """

    def __init__(
        self,
        features: list[str],
        *,
        n_estimators: int = 150,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_data_in_leaf: int = 20,
        random_state: int = 0,
    ) -> None:
        self.features = list(features)
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_data_in_leaf = min_data_in_leaf
        self.random_state = random_state
        self._booster: Any = None
        self.meta: dict[str, Any] = {}

    @property
    def fitted(self) -> bool:
        return self._booster is not None

    def fit(self, x: FloatArray, labels: IntArray, groups: IntArray) -> Self:
        """Fit on rows ``x`` with ``labels``, in consecutive groups of sizes ``groups``."""
        import lightgbm as lgb

        if x.shape[1] != len(self.features):
            raise ValueError(f"{x.shape[1]} columns for {len(self.features)} features")
        params = {
            "objective": "lambdarank",
            "metric": "ndcg",
            "eval_at": [10],
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "lambdarank_truncation_level": 20,
            "label_gain": [0.0, 1.0, 3.0, 7.0],
            "seed": self.random_state,
            "deterministic": True,
            "num_threads": 1,
            "verbose": -1,
        }
        data = lgb.Dataset(
            np.asarray(x, dtype=np.float32),
            label=np.asarray(labels, dtype=np.float32),
            group=np.asarray(groups, dtype=np.int64),
            feature_name=[f.replace(":", "__") for f in self.features],
            free_raw_data=True,
        )
        self._booster = lgb.train(params, data, num_boost_round=self.n_estimators)
        return self

    def predict(self, x: FloatArray) -> FloatArray:
        """Scores per row (higher: better)."""
        if self._booster is None:
            raise RuntimeError("the ranker is not fitted")
        if x.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        return np.asarray(self._booster.predict(x, num_threads=1), dtype=np.float32)

    def contributions(self, x: FloatArray) -> FloatArray:
        """Per row, each feature's contribution to its score (SHAP values; last column:
        the expected value)."""
        if self._booster is None:
            raise RuntimeError("the ranker is not fitted")
        return np.asarray(self._booster.predict(x, pred_contrib=True, num_threads=1))

    def sources(self, x: FloatArray, components: list[str]) -> list[str]:
        """The reason source of each row: the component (or feature group standing for
        one, :data:`SOURCE_OF_GROUP`) whose features added the most to its score."""
        if x.shape[0] == 0:
            return []
        contrib = self.contributions(x)[:, :-1]
        groups: dict[str, list[int]] = {}
        for j, name in enumerate(self.features):
            prefix = name.split(":", 1)[0]
            source = prefix if prefix in components else SOURCE_OF_GROUP.get(prefix)
            if source is not None and source in components:
                groups.setdefault(source, []).append(j)
        if not groups:
            return [components[0]] * x.shape[0]
        names = list(groups)
        sums = np.stack([contrib[:, cols].sum(axis=1) for cols in groups.values()], axis=1)
        return [names[int(b)] for b in sums.argmax(axis=1)]

    def importances(self) -> dict[str, float]:
        """Total gain per feature, largest first."""
        if self._booster is None:
            return {}
        gain = self._booster.feature_importance(importance_type="gain")
        pairs = sorted(zip(self.features, gain.tolist(), strict=True), key=lambda p: -p[1])
        return {name: round(float(g), 3) for name, g in pairs}

    # -- persistence ------------------------------------------------------------------------

    def state(self) -> dict[str, npt.NDArray[Any]]:
        if self._booster is None:
            raise RuntimeError("cannot save an unfitted ranker")
        text = self._booster.model_to_string()
        meta = {
            "features": self.features,
            "params": {
                "n_estimators": self.n_estimators,
                "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves,
                "min_data_in_leaf": self.min_data_in_leaf,
                "random_state": self.random_state,
            },
            "meta": self.meta,
        }
        return {
            "booster": np.frombuffer(text.encode(), dtype=np.uint8),
            "ranker_meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        }

    @classmethod
    def from_state(cls, arrays: dict[str, npt.NDArray[Any]]) -> LearnedRanker:
        import lightgbm as lgb

        meta = json.loads(arrays["ranker_meta"].tobytes().decode())
        ranker = cls(meta["features"], **meta["params"])
        ranker.meta = meta.get("meta", {})
        ranker._booster = lgb.Booster(model_str=arrays["booster"].tobytes().decode())
        return ranker

    def save(self, path: str | Path, extra: dict[str, npt.NDArray[Any]] | None = None) -> None:
        """Write the ranker (and ``extra`` arrays) to one ``.npz`` file."""
        with open(path, "wb") as fh:
            np.savez(fh, allow_pickle=False, **self.state(), **(extra or {}))

    @staticmethod
    def read(path: str | Path) -> dict[str, npt.NDArray[Any]]:
        """Every array of a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
