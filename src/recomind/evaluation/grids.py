"""Hyper-parameter grids searched on validation, per data set and model.

Grids are deliberately small: both data sets must evaluate end to end in under 15 minutes on
a 2-core machine, and EASE alone costs one dense 19k x 19k inversion (1-2 minutes) per
setting on MicroLens. The first entry of each grid is the ``--fast`` choice. A model without
an entry runs with its defaults (no tuning).

MicroLens grids were pruned after a full probe run (validation NDCG@10 on 10,000 users,
fitted on train): EASE lambda 2000 < 500 (0.0312) < 100 (0.0323) > 30 (0.0312), so
lambda=100 is fixed; itemknn-cosine (k=100, shrink=0) 0.0233 < (100, 10) 0.0286 < (400, 10)
0.0301; iALS alpha=1 0.0146 and reg=1.0 0.0197 vs (64, .05, 10) 0.0197 and (128, .05, 10)
0.0237; BPR lr=0.01 0.0066 vs lr=0.05 0.0186 (64 factors) and 0.0205 (128 factors);
RecoMind's ALS alpha=4 0.0191 vs alpha=10 0.0197. A later full run confirmed the winners
(itemknn-cosine (400, 10) 0.0301 vs (100, 10) 0.0286; iALS 128 factors 0.0237 vs 64 0.0197;
BPR 128 factors 0.0205 vs 64 0.0191), so each MicroLens peer now runs its winning point only.
On MovieLens, EASE lambda=5000 (0.0863) and itemknn-cosine k=400 (0.0859) were the worst
points of their grids (best 0.0949 and 0.0935) and were dropped to save time.
"""

from __future__ import annotations

from typing import Any

Params = dict[str, Any]

#: Recency floor of every tuned blend (see ``recomind.recommend.recency``).
_FLOOR = 0.01


def _blend(
    lam: float,
    warm: dict[str, float],
    half_life: float,
    params: dict[str, Params],
    *,
    floor: float = _FLOOR,
) -> Params:
    """An EASE-led blend: ``warm`` weights (EASE first among equals) on recency-weighted rows.

    Popularity leads only for the coldest rows; ``warm_after=2`` makes nearly every
    evaluated user warm (both data sets give every user at least 2 training events).
    """
    components = ["popularity", *(c for c in warm if c != "ease"), "ease"]
    cold = {"popularity": 1.0, "ease": 0.4, **({"itemknn": 0.4} if "itemknn" in warm else {})}
    return {
        "components": components,
        "component_params": {"ease": {"lam": lam}, **{c: params[c] for c in warm if c in params}},
        "cold_weights": cold,
        "warm_weights": {"popularity": 0.05, **warm},
        "warm_after": 2.0,
        "recency_half_life": half_life,
        "recency_floor": floor,
    }


#: Components' own parameters inside the hybrid: each strategy's validation choice.
_MICROLENS_PARAMS: dict[str, Params] = {"itemknn": {"k": 400, "shrinkage": 20.0}}
_MOVIELENS_PARAMS: dict[str, Params] = {
    "itemknn": {"k": 400, "shrinkage": 20.0},
    "userknn": {"k": 50},
    "als": {"alpha": 4.0},
}
_EASE = {"ease": 1.0}
_EASE_KNN = {"ease": 1.0, "itemknn": 0.5}
_EASE_KNN_ALS = {"ease": 1.0, "itemknn": 0.5, "als": 0.3}
_EASE_KNN_TAGS = {"ease": 1.0, "itemknn": 0.25, "content": 0.2}


GRIDS: dict[str, dict[str, list[Params]]] = {
    "microlens-50k": {
        "most-popular": [{}],
        # One point each: the winner on validation of the probe runs (module docstring).
        "itemknn-cosine": [{"k": 400, "shrink": 10.0}],
        "ease": [{"lam": 100.0}],
        "ials": [{"factors": 128, "regularization": 0.05, "alpha": 10.0}],
        "bpr": [{"factors": 128, "learning_rate": 0.05, "regularization": 0.001}],
    },
    "movielens-small": {
        "most-popular": [{}],
        "itemknn-cosine": [
            {"k": 100, "shrink": 10.0},
            {"k": 50, "shrink": 0.0},
            {"k": 200, "shrink": 10.0},
        ],
        "ease": [{"lam": 500.0}, {"lam": 100.0}, {"lam": 2000.0}],
        "ials": [
            {"factors": 64, "regularization": 0.05, "alpha": 10.0},
            {"factors": 64, "regularization": 0.05, "alpha": 1.0},
            {"factors": 128, "regularization": 0.05, "alpha": 10.0},
            {"factors": 32, "regularization": 1.0, "alpha": 10.0},
        ],
        "bpr": [
            {"factors": 64, "learning_rate": 0.05, "regularization": 0.01},
            {"factors": 64, "learning_rate": 0.01, "regularization": 0.01},
            {"factors": 128, "learning_rate": 0.05, "regularization": 0.001},
        ],
    },
}

#: Grids for RecoMind's own strategies, by registry name; the first entry is the strategy's
#: default. MicroLens timestamps are watch positions, so popularity's half-life has nothing
#: to act on there.
RECOMIND_GRIDS: dict[str, dict[str, list[Params]]] = {
    "microlens-50k": {
        "popularity": [{}],
        "content": [{}],
        "itemknn": [{"k": 100, "shrinkage": 20.0}, {"k": 400, "shrinkage": 20.0}],
        "userknn": [{}],
        "als": [{"alpha": 10.0}],
        # EASE's lambda=100 was chosen on validation (module docstring); each fit costs
        # about a minute.
        "ease": [{"lam": 100.0}],
        # Probe (validation NDCG@10, 10,000 users; blend weights, then recency half-life):
        # EASE alone 0.0384 (hl 1), 0.0381 (2), 0.0371 (3); + itemknn .25: 0.0387 / 0.0384;
        # + itemknn .5: 0.0382 / 0.0386; + itemknn .5 + userknn .3: 0.0382 / 0.0384;
        # + itemknn .5 + als .3: 0.0386 / 0.0383; + itemknn, userknn, als .25 each: 0.0379
        # / 0.0380; + itemknn .25 + content .2: 0.0399 / 0.0398 (half-life 3 lost
        # everywhere). Without recency the best blend scored 0.0324.
        "hybrid": [
            _blend(100.0, _EASE_KNN_TAGS, 1.0, _MICROLENS_PARAMS),
            _blend(100.0, _EASE_KNN_TAGS, 2.0, _MICROLENS_PARAMS),
            _blend(100.0, {**_EASE_KNN_TAGS, "content": 0.4}, 1.0, _MICROLENS_PARAMS),
            _blend(100.0, {**_EASE_KNN_TAGS, "itemknn": 0.5}, 1.0, _MICROLENS_PARAMS),
        ],
    },
    "movielens-small": {
        "popularity": [
            {"half_life_hours": 72.0},
            {"half_life_hours": 24.0 * 365},
            {"half_life_hours": 1e9},
        ],
        "content": [{}, {"tag_weight": 0.5}],
        "itemknn": [{"k": 100, "shrinkage": 20.0}, {"k": 400, "shrinkage": 20.0}],
        "userknn": [{"k": 100}, {"k": 50}, {"k": 200}],
        "als": [{"alpha": 4.0}, {"alpha": 10.0}, {"alpha": 10.0, "factors": 128}],
        "ease": [{"lam": 500.0}, {"lam": 100.0}, {"lam": 2000.0}],
        # Blends probed on validation: EASE alone, + itemknn, + itemknn + ALS, + itemknn +
        # content, each at half-life 2 and 4 (1 lost everywhere in the probe), and the
        # default blend (no EASE) at the default recency.
        "hybrid": [
            _blend(500.0, _EASE_KNN_ALS, 2.0, _MOVIELENS_PARAMS),
            *(
                _blend(500.0, blend, hl, _MOVIELENS_PARAMS)
                for blend in (_EASE, _EASE_KNN, _EASE_KNN_ALS, _EASE_KNN_TAGS)
                for hl in (2.0, 4.0)
                if (blend, hl) != (_EASE_KNN_ALS, 2.0)
            ),
            _blend(500.0, _EASE_KNN_ALS, 2.0, _MOVIELENS_PARAMS, floor=0.05),
            {},
        ],
    },
}


def grid_for(dataset: str, label: str, *, fast: bool = False) -> list[Params]:
    """The grid to search for ``label`` (``ease``, ``recomind:als`` ...) on ``dataset``."""
    if label.startswith("recomind:"):
        grid = RECOMIND_GRIDS.get(dataset, {}).get(label.split(":", 1)[1], [{}])
    else:
        grid = GRIDS.get(dataset, {}).get(label, [{}])
    return grid[:1] if fast else list(grid)
