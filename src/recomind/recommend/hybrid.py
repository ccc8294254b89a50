"""The blender: per-row normalised, history-length-aware mix of several strategies."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt
from scipy import sparse

from recomind.recommend import candidates as cands
from recomind.recommend import recency
from recomind.recommend._sparse import (
    as_csr,
    csr_from_state,
    csr_state,
    positive_part,
    strings_from_state,
    strings_state,
    tag_matrix,
)
from recomind.recommend.base import (
    FloatArray,
    IntArray,
    Interactions,
    Recommendation,
    Recommender,
)
from recomind.recommend.candidates import CandidateRow
from recomind.recommend.components import COMPONENTS
from recomind.recommend.extras import single_threaded_blas

logger = logging.getLogger(__name__)

DEFAULT_COMPONENTS = ["popularity", "content", "itemknn", "userknn", "als"]
#: Weights for a user with no positive interactions yet.
DEFAULT_COLD_WEIGHTS = {
    "popularity": 1.0,
    "content": 0.6,
    "itemknn": 0.4,
    "userknn": 0.2,
    "als": 0.2,
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
#: Fits one component: ``(name, constructor params) -> fitted strategy``.
ComponentFitter = Callable[[str, dict[str, Any]], Recommender]
#: Reason templates (with the history item's title) of strategies that can name the watched
#: video an item follows, and their text when they can't.
_SOURCE_ITEM_REASONS = {
    "itemknn": ("viewers of {} also liked", "viewers like you also liked this"),
    "ease": ("because you watched {}", "picked for you"),
}
#: Score given by :meth:`HybridRecommender.score` to items already in the history row.
HISTORY_SCORE = -1.0


def normalise_rows(
    scores: FloatArray, candidates: int, method: Literal["minmax", "rank"] = "minmax"
) -> FloatArray:
    """Map each row's scores to ``[0, 1]`` using only its ``candidates`` best items.

    ``"minmax"`` maps the row maximum to 1 and the ``candidates``-th best score (and
    anything below it) to 0. ``"rank"`` gives ``1 - rank / candidates`` to the top
    ``candidates`` and 0 elsewhere. Constant rows map to 0. Modifies ``scores`` in place.

    Parameters
    ----------
    scores
        ``(n_rows, n_items)`` raw scores (``-inf`` allowed).
    candidates
        How many top items per row define the scale.
    method
        ``"minmax"`` or ``"rank"``.

    Returns
    -------
    numpy.ndarray
        The normalised ``scores`` array.
    """
    n_rows, n_items = scores.shape
    if n_rows == 0 or n_items == 0:
        return scores
    c = max(1, min(candidates, n_items))
    finite = np.isfinite(scores)
    if not finite.all():
        low = np.where(finite, scores, np.inf).min(axis=1, keepdims=True)
        low = np.where(np.isfinite(low), low, 0.0).astype(np.float32)
        np.copyto(scores, np.broadcast_to(low, scores.shape), where=~finite)
    if method == "rank":
        idx = np.argpartition(-scores, c - 1, axis=1)[:, :c]
        vals = np.take_along_axis(scores, idx, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        idx = np.take_along_axis(idx, order, axis=1)
        vals = np.take_along_axis(vals, order, axis=1)
        level = (1.0 - np.arange(c, dtype=np.float32) / c)[None, :]
        level = np.where(vals > vals[:, -1:], level, 0.0).astype(np.float32)  # ties at floor
        const = vals[:, :1] <= vals[:, -1:]
        level[const[:, 0]] = 0.0
        scores.fill(0.0)
        np.put_along_axis(scores, idx, level, axis=1)
        return scores
    hi = scores.max(axis=1, keepdims=True)
    if c < n_items:
        kth = n_items - c  # the c-th largest value sits at this position once partitioned
        thr = np.partition(scores, kth, axis=1)[:, kth : kth + 1]
    else:
        thr = scores.min(axis=1, keepdims=True)
    span = hi - thr
    inv = np.divide(1.0, span, out=np.zeros_like(span), where=span > 0).astype(np.float32)
    scores -= thr
    scores *= inv
    np.clip(scores, 0.0, 1.0, out=scores)
    return scores


def _sibling(path: Path, name: str) -> Path:
    return path.with_name(f"{path.stem}.{name}{path.suffix or '.npz'}")


class HybridRecommender(Recommender):
    """Blend of fitted strategies, leaning on content + popularity for new users.

    Each component's scores are normalised per row (:func:`normalise_rows`, over its top
    ``candidates``), then mixed with weights interpolated linearly between
    ``cold_weights`` (no positive interactions) and ``warm_weights`` (``warm_after`` or
    more). A row with an empty history gets popularity alone (trending). Items already in
    the history row score :data:`HISTORY_SCORE`.

    :meth:`rank` turns the blend into a feed page: exclusions, per-creator / per-tag caps,
    a freshness boost and a reason per item.

    Parameters
    ----------
    components
        Strategy names to fit and blend.
    component_params
        Constructor arguments per strategy name.
    cold_weights, warm_weights
        Blend weights per strategy name (missing names weigh 0).
    warm_after
        Number of positive interactions at which ``warm_weights`` apply fully.
    normalisation
        ``"minmax"`` or ``"rank"`` (see :func:`normalise_rows`).
    candidates
        Top items per row used to normalise each component.
    max_per_creator, max_per_tag
        Caps per page in :meth:`rank` (``0`` disables a cap).
    freshness_boost
        Relative boost of a just-uploaded item in :meth:`rank` (``0.1`` = +10%).
    freshness_half_life_hours
        Half-life of the freshness boost.
    now
        Reference time for freshness (and popularity decay when its params lack one);
        ``None`` uses the latest event seen at fit time.
    recency_half_life
        History rows weigh each action by its recency (:mod:`recomind.recommend.recency`):
        the bonus halves every this many newer actions; ``0`` weighs all actions alike.
    recency_floor
        Multiplier the oldest actions tend to, in ``(0, 1]``.
    """

    name = "hybrid"

    def __init__(
        self,
        components: list[str] | None = None,
        component_params: dict[str, dict[str, Any]] | None = None,
        cold_weights: dict[str, float] | None = None,
        warm_weights: dict[str, float] | None = None,
        warm_after: float = 20.0,
        normalisation: Literal["minmax", "rank"] = "minmax",
        candidates: int = 200,
        max_per_creator: int = 2,
        max_per_tag: int = 4,
        freshness_boost: float = 0.1,
        freshness_half_life_hours: float = 48.0,
        now: float | None = None,
        recency_half_life: float = DEFAULT_RECENCY_HALF_LIFE,
        recency_floor: float = DEFAULT_RECENCY_FLOOR,
    ) -> None:
        super().__init__()
        recency.validate(recency_half_life, recency_floor)
        self.components = list(components) if components is not None else list(DEFAULT_COMPONENTS)
        unknown = set(self.components) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown hybrid components: {sorted(unknown)}")
        self.component_params = {k: dict(v) for k, v in (component_params or {}).items()}
        self.cold_weights = dict(DEFAULT_COLD_WEIGHTS if cold_weights is None else cold_weights)
        self.warm_weights = dict(DEFAULT_WARM_WEIGHTS if warm_weights is None else warm_weights)
        self.warm_after = float(warm_after)
        self.normalisation: Literal["minmax", "rank"] = normalisation
        self.candidates = int(candidates)
        self.max_per_creator = int(max_per_creator)
        self.max_per_tag = int(max_per_tag)
        self.freshness_boost = float(freshness_boost)
        self.freshness_half_life_hours = float(freshness_half_life_hours)
        self.now = now
        self.recency_half_life = float(recency_half_life)
        self.recency_floor = float(recency_floor)
        self.models: dict[str, Recommender] = {}
        self.ref_time_ = 0.0
        self.item_ids_: list[str] = []
        self.titles_: list[str] = []
        self.creators_ = np.zeros(0, dtype=np.int64)
        self.created_ = np.zeros(0, dtype=np.float64)
        self.item_tags_ = sparse.csr_matrix((0, 0), dtype=np.float32)
        self.tags_: list[str] = []
        self._freshness: tuple[tuple[float, float, float], FloatArray] | None = None
        self._item_meta: tuple[list[int], list[tuple[int, ...]]] | None = None

    # -- fitting --------------------------------------------------------------------------

    def fit(self, data: Interactions) -> Self:
        """Fit every component on ``data`` and keep the item metadata for :meth:`rank`."""
        return self.fit_components(data)

    def component_kwargs(self, name: str) -> dict[str, Any]:
        """Constructor arguments of component ``name`` (its params, plus ``now``)."""
        params = dict(self.component_params.get(name, {}))
        if name == "popularity" and self.now is not None:
            params.setdefault("now", self.now)
        return params

    def fit_components(self, data: Interactions, fit_one: ComponentFitter | None = None) -> Self:
        """Fit every component with ``fit_one`` (default: build and fit it on ``data``).

        A caller that fits the same component many times (timing each fit, or reusing
        fits across blend settings in a grid search) passes its own ``fit_one``.
        """
        models: dict[str, Recommender] = {}
        for name in self.components:
            logger.info("hybrid: fitting %s", name)
            params = self.component_kwargs(name)
            models[name] = (
                fit_one(name, params) if fit_one else COMPONENTS[name](**params).fit(data)
            )
        return self.set_components(models, data)

    def set_components(self, models: Mapping[str, Recommender], data: Interactions) -> Self:
        """Use already fitted ``models`` (by strategy name) instead of fitting them.

        Parameters
        ----------
        models
            Fitted strategies keyed by name; must cover :attr:`components`.
        data
            The interactions they were fitted on (for item metadata).

        Returns
        -------
        HybridRecommender
            ``self``, fitted.
        """
        missing = set(self.components) - set(models)
        if missing:
            raise ValueError(f"missing fitted components: {sorted(missing)}")
        self.models = {name: models[name] for name in self.components}
        self.n_items = data.n_items
        if self.now is not None:
            self.ref_time_ = float(self.now)
        else:
            self.ref_time_ = float(data.timestamps.max()) if len(data.timestamps) else 0.0
        self.item_ids_ = list(data.item_ids)
        self.titles_ = list(data.item_titles)
        creators = np.asarray(data.item_creators, dtype=object)
        _, codes = np.unique(creators.astype(str), return_inverse=True)
        codes = codes.astype(np.int64)
        codes[creators == ""] = -1  # unknown creator: never capped
        self.creators_ = codes
        assert data.item_created is not None
        self.created_ = np.asarray(data.item_created, dtype=np.float64)
        self._freshness = None
        self._item_meta = None
        self.item_tags_, self.tags_ = tag_matrix(data.item_tags)
        self.fitted = True
        return self

    # -- scoring --------------------------------------------------------------------------

    def recency_factors(self, positions: npt.ArrayLike) -> FloatArray:
        """Weight multipliers of actions ``positions`` newer-actions old (0 = newest)."""
        return recency.factors(positions, self.recency_half_life, self.recency_floor)

    def history_matrix(self, data: Interactions) -> sparse.csr_matrix:
        """Each user's recency-weighted history row (see :mod:`recomind.recommend.recency`)."""
        return recency.history_matrix(data, self.recency_half_life, self.recency_floor)

    def row_weights(self, histories: sparse.csr_matrix) -> dict[str, FloatArray]:
        """Per-row blend weight of each component, from the number of positive events."""
        h = as_csr(histories, self.n_items)
        n_pos = np.asarray((h > 0).sum(axis=1), dtype=np.float32).ravel()
        t = np.clip(n_pos / max(self.warm_after, 1e-9), 0.0, 1.0).astype(np.float32)
        return {
            name: (
                (1.0 - t) * self.cold_weights.get(name, 0.0) + t * self.warm_weights.get(name, 0.0)
            ).astype(np.float32)
            for name in self.components
        }

    def _iter_parts(self, h: sparse.csr_matrix) -> Iterator[tuple[str, FloatArray]]:
        """Weighted, normalised score of each component (history items masked first)."""
        weights = self.row_weights(h)
        empty = np.diff(h.indptr) == 0
        seen_rows = np.repeat(np.arange(h.shape[0]), np.diff(h.indptr))
        for name, model in self.models.items():
            w = weights[name]
            if name == "popularity":
                w = np.where(empty, 1.0, w).astype(np.float32)
            else:
                w = np.where(empty, 0.0, w).astype(np.float32)
            if not np.any(w):
                continue
            s = model.score(h)
            s[seen_rows, h.indices] = -np.inf
            normalise_rows(s, self.candidates, self.normalisation)
            s *= w[:, None]
            yield name, s

    def score(self, histories: sparse.csr_matrix) -> FloatArray:
        """Blended ``[0, sum(weights)]`` scores; history items get :data:`HISTORY_SCORE`."""
        h = as_csr(histories, self.n_items)
        total = np.zeros(h.shape, dtype=np.float32)
        for _, part in self._iter_parts(h):
            total += part
        seen_rows = np.repeat(np.arange(h.shape[0]), np.diff(h.indptr))
        total[seen_rows, h.indices] = HISTORY_SCORE
        return total

    # -- candidates: the blend where it can be positive ----------------------------------

    def candidate_rows(self, histories: sparse.csr_matrix, *, fill: int) -> list[CandidateRow]:
        """Per row, the items whose blended score can be positive, and the parts on them.

        The weighted, normalised component scores on the candidates equal those of
        :meth:`score` (see :mod:`recomind.recommend.candidates`); every other non-history
        item blends to 0. ``fill`` of the most popular non-history items are added as
        candidates too (what a page falls back to when the caps starve it).
        """
        h = as_csr(histories, self.n_items)
        h.sort_indices()
        n_rows = h.shape[0]
        if (
            self.normalisation != "minmax"
            or self.n_items <= max(cands.DENSE_CATALOGUE, 4 * self.candidates)
            or n_rows == 0
        ):
            return [self.full_row(h[i]) for i in range(n_rows)]
        weights = self.row_weights(h)
        empty = np.diff(h.indptr) == 0
        for name in self.models:
            w = weights[name]
            w = np.where(empty, 1.0 if name == "popularity" else 0.0, w).astype(np.float32)
            weights[name] = w
        c = self.candidates
        hist = [h.indices[h.indptr[i] : h.indptr[i + 1]].astype(np.int64) for i in range(n_rows)]
        # Component rows: dense arrays, sparse matrices or the popularity ranking.
        dense: dict[str, FloatArray] = {}
        sparse_rows: dict[str, sparse.csr_matrix] = {}
        ranked: dict[str, tuple[FloatArray, IntArray]] = {}
        for name, model in self.models.items():
            ranking = model.ranking()
            if ranking is not None:
                ranked[name] = ranking
                continue
            if not (weights[name] > 0).any():
                continue
            sparse_scores = model.score_sparse(h)
            if sparse_scores is not None:
                sparse_rows[name] = sparse_scores
                continue
            # Serving batches are small (one request, a precompute chunk of 64): BLAS
            # threads mostly spin against other work on the cores (~15% CPU measured).
            with single_threaded_blas():
                dense[name] = np.ascontiguousarray(model.score_rows(h), dtype=np.float32)
        pop_scores: FloatArray | None = None
        pop_order: IntArray | None = None
        if "popularity" in ranked:
            pop_scores, pop_order = ranked["popularity"]
        out: list[CandidateRow] = []
        in_hist = np.zeros(self.n_items, dtype=bool)  # one row's history, reset after it
        for i in range(n_rows):
            in_hist[hist[i]] = True
            row = self._candidate_row(
                i, hist[i], in_hist, weights, dense, sparse_rows, pop_scores, pop_order, c, fill
            )
            in_hist[hist[i]] = False
            out.append(row if row is not None else self.full_row(h[i]))
        return out

    def _candidate_row(
        self,
        i: int,
        hist: IntArray,
        in_hist: npt.NDArray[np.bool_],
        weights: dict[str, FloatArray],
        dense: dict[str, FloatArray],
        sparse_rows: dict[str, sparse.csr_matrix],
        pop_scores: FloatArray | None,
        pop_order: IntArray | None,
        c: int,
        fill: int,
    ) -> CandidateRow | None:
        scales: dict[str, cands.Scale] = {}
        found: list[IntArray] = []
        for name in self.models:
            if weights[name][i] <= 0:
                continue
            scale: cands.Scale | None
            if name in dense:
                scale = cands.dense_scale(dense[name][i], hist, c)
            elif name in sparse_rows:
                r = sparse_rows[name][i]
                scale = cands.sparse_scale(
                    r.indices.astype(np.int64), r.data, hist, self.n_items, c, in_hist
                )
            elif name == "popularity" and pop_scores is not None and pop_order is not None:
                ranked = cands.ranked_scale(pop_scores, pop_order, hist, c, in_hist)
                scale = ranked[0] if ranked is not None else None
            else:
                return None
            if scale is None:
                return None
            scales[name] = scale
            found.append(scale.top)
        if pop_order is not None and fill > 0:
            head = pop_order[: fill + hist.size]
            found.append(head[~in_hist[head]][:fill] if hist.size else head)
        items = np.unique(np.concatenate(found)) if found else np.empty(0, dtype=np.int64)
        if hist.size and items.size:
            items = items[~in_hist[items]]
        items = items.astype(np.int64)
        parts: list[tuple[str, FloatArray]] = []
        for name, scale in scales.items():
            if name in dense:
                raw = dense[name][i][items]
            elif name in sparse_rows:
                raw = cands.values_at(sparse_rows[name][i], items)
            else:
                assert pop_scores is not None
                raw = pop_scores[items]
            part = scale.apply(raw)
            part *= weights[name][i]
            parts.append((name, part))
        return CandidateRow(items, parts, complete=items.size + hist.size >= self.n_items)

    def full_row(self, history: sparse.csr_matrix) -> CandidateRow:
        """Every non-history item as a candidate, scored by the dense path."""
        h = as_csr(history, self.n_items)[:1]
        mask = np.ones(self.n_items, dtype=bool)
        mask[h.indices] = False
        items = np.flatnonzero(mask).astype(np.int64)
        parts = [(name, part[0][items]) for name, part in self._iter_parts(h)]
        return CandidateRow(items, parts, complete=True)

    def freshness_at(self, items: IntArray, now: float | None = None) -> FloatArray:
        """:meth:`freshness` of ``items`` only (no catalogue-wide work)."""
        ref = self.ref_time_ if now is None else float(now)
        if self._freshness is not None and self._freshness[0][0] == ref:
            return self.freshness(now)[items]
        age_h = np.maximum(ref - self.created_[items], 0.0) / 3600.0
        hl = max(self.freshness_half_life_hours, 1e-9)
        decay = np.where(np.isfinite(age_h), np.exp2(-np.nan_to_num(age_h) / hl), 0.0)
        return (1.0 + self.freshness_boost * decay).astype(np.float32)

    def warm(self) -> None:
        """Build the lazily cached per-item data now (not on the first request)."""
        self.item_meta()
        for model in self.models.values():
            model.warm()

    def item_meta(self) -> tuple[list[int], list[tuple[int, ...]]]:
        """Per item, its creator code and tag codes as Python values (for the greedy caps)."""
        if self._item_meta is None:
            indptr, idx = self.item_tags_.indptr, self.item_tags_.indices.tolist()
            bounds = indptr.tolist()
            tags = [tuple(idx[bounds[i] : bounds[i + 1]]) for i in range(len(bounds) - 1)]
            self._item_meta = (self.creators_.tolist(), tags)
        return self._item_meta

    # -- the feed page --------------------------------------------------------------------

    def freshness(self, now: float | None = None) -> FloatArray:
        """Multiplicative freshness factor per item (``1`` for old or undated items)."""
        ref = self.ref_time_ if now is None else float(now)
        key = (ref, self.freshness_boost, self.freshness_half_life_hours)
        if self._freshness is not None and self._freshness[0] == key:
            return self._freshness[1]
        age_h = np.maximum(ref - self.created_, 0.0) / 3600.0
        hl = max(self.freshness_half_life_hours, 1e-9)
        decay = np.where(np.isfinite(age_h), np.exp2(-np.nan_to_num(age_h) / hl), 0.0)
        factor = (1.0 + self.freshness_boost * decay).astype(np.float32)
        factor.flags.writeable = False
        self._freshness = (key, factor)
        return factor

    def rank(
        self,
        history: sparse.csr_matrix,
        n: int = 20,
        exclude: npt.ArrayLike | None = None,
        *,
        now: float | None = None,
    ) -> list[Recommendation]:
        """Final feed page for one history row.

        Parameters
        ----------
        history
            ``(1, n_items)`` history row; its items (seen or skipped) are never returned.
        n
            Page size.
        exclude
            Further item indices never to return.
        now
            Reference time for the freshness boost (default: the model's ``now``).

        Returns
        -------
        list of Recommendation
            At most ``n`` items, best first, respecting ``max_per_creator`` and
            ``max_per_tag``, each with a short reason and its main source strategy.
        """
        h = as_csr(history, self.n_items)[:1]
        ex = np.asarray(exclude if exclude is not None else [], dtype=np.int64).ravel()
        row = self.candidate_rows(h, fill=max(4 * n, 64))[0]
        while True:
            items, total, parts = self._page_inputs(row, ex, now)
            picked = self._diversify(items, total, n)
            if len(picked) >= n or row.complete:
                break
            row = self.full_row(h)  # the caps starved the candidates: every item, densely
        if not picked:
            return []
        chosen = [int(items[j]) for j in picked]
        sources = self.sources(parts, picked)
        reasons = self._reasons(sources, h, chosen)
        return [
            Recommendation(item=item, score=float(total[j]), reason=reason, source=source)
            for item, j, source, reason in zip(chosen, picked, sources, reasons, strict=True)
        ]

    def _page_inputs(
        self, row: CandidateRow, exclude: IntArray, now: float | None
    ) -> tuple[IntArray, FloatArray, list[tuple[str, FloatArray]]]:
        """Candidates minus ``exclude``, their final scores and the parts on them."""
        keep = ~np.isin(row.items, exclude) if exclude.size else None
        items = row.items if keep is None else row.items[keep]
        parts = row.parts if keep is None else [(name, p[keep]) for name, p in row.parts]
        total = np.zeros(items.size, dtype=np.float32)
        for _, part in parts:
            total += part
        total *= self.freshness_at(items, now if now is not None else self.now)
        return items, total, parts

    @staticmethod
    def sources(parts: list[tuple[str, FloatArray]], picked: list[int]) -> list[str]:
        """Main source strategy of each picked candidate position."""
        if not parts:
            return ["popularity"] * len(picked)
        names = [name for name, _ in parts]
        contrib = np.vstack([part[picked] for _, part in parts])  # components x chosen
        best = contrib.argmax(axis=0)
        return [
            names[b] if contrib[b, j] > 0 or "popularity" not in names else "popularity"
            for j, b in enumerate(best.tolist())
        ]

    def _diversify(self, items: IntArray, total: FloatArray, n: int) -> list[int]:
        """Greedy best-first pick under the creator and tag caps; positions in ``items``."""
        n_finite = int(np.isfinite(total).sum())
        pool = min(n_finite, max(4 * n, 64))
        while True:
            if pool <= 0:
                return []
            cand = (
                np.argpartition(-total, pool - 1)[:pool]
                if pool < total.size
                else np.arange(total.size)
            )
            cand = cand[np.isfinite(total[cand])]
            order = cand[np.lexsort((items[cand], -total[cand]))]  # best first, ties by item
            chosen = [int(order[j]) for j in self._greedy_items(items[order].tolist(), n)]
            if len(chosen) >= n or pool >= n_finite:
                return chosen
            pool = min(n_finite, pool * 4)

    def _greedy_items(self, order: list[int], n: int) -> list[int]:
        """Positions in ``order`` (item indices, best first) picked under the caps."""
        creators, item_tags = self.item_meta()
        max_c, max_t = self.max_per_creator, self.max_per_tag
        picked: list[int] = []
        per_creator: dict[int, int] = {}
        per_tag: dict[int, int] = {}
        for j, item in enumerate(order):
            if len(picked) >= n:
                break
            creator = creators[item]
            if max_c > 0 and creator >= 0 and per_creator.get(creator, 0) >= max_c:
                continue
            tags = item_tags[item]
            if max_t > 0 and any(per_tag.get(t, 0) >= max_t for t in tags):
                continue
            picked.append(j)
            if creator >= 0:
                per_creator[creator] = per_creator.get(creator, 0) + 1
            for t in tags:
                per_tag[t] = per_tag.get(t, 0) + 1
        return picked

    def _greedy_pages(self, order: list[int], n: int, page: int) -> list[int]:
        """Positions in ``order`` (items, best first) picked page by page under the caps.

        Each page of ``page`` items is a greedy pick from what earlier pages left, in
        order; so every consecutive page respects the caps on its own.
        """
        creators, item_tags = self.item_meta()
        max_c, max_t = self.max_per_creator, self.max_per_tag
        remaining = list(range(len(order)))
        chosen: list[int] = []
        while len(chosen) < n and remaining:
            want = min(page, n - len(chosen))
            per_creator: dict[int, int] = {}
            per_tag: dict[int, int] = {}
            full_creators: set[int] = set()  # creators / tags at their cap on this page
            full_tags: set[int] = set()
            picked: list[int] = []
            left: list[int] = []
            for k, j in enumerate(remaining):
                if len(picked) >= want:
                    left.extend(remaining[k:])
                    break
                item = order[j]
                creator = creators[item]
                tags = item_tags[item]
                if creator in full_creators or not full_tags.isdisjoint(tags):
                    left.append(j)
                    continue
                picked.append(j)
                if creator >= 0 and max_c > 0:
                    count = per_creator.get(creator, 0) + 1
                    per_creator[creator] = count
                    if count >= max_c:
                        full_creators.add(creator)
                if max_t > 0:
                    for t in tags:
                        count = per_tag.get(t, 0) + 1
                        per_tag[t] = count
                        if count >= max_t:
                            full_tags.add(t)
            if not picked:
                break
            chosen += picked
            remaining = left
        return chosen

    def _reasons(self, sources: list[str], h: sparse.csr_matrix, items: list[int]) -> list[str]:
        """One short explanation per item, according to its main source."""
        out = [""] * len(items)
        by_source: dict[str, list[int]] = {}
        for j, src in enumerate(sources):
            by_source.setdefault(src, []).append(j)
        for src, js in by_source.items():
            its = [items[j] for j in js]
            if src == "content":
                texts = [
                    f"because you liked #{tag}" if tag else "similar to videos you watched"
                    for tag in self.models[src].explain_tags(h, its)
                ]
            elif src in _SOURCE_ITEM_REASONS:
                template, fallback = _SOURCE_ITEM_REASONS[src]
                texts = [
                    fallback if s is None else template.format(self.titles_[s] or self.item_ids_[s])
                    for s in self.models[src].explain_items(h, its)
                ]
            elif src == "userknn":
                texts = ["users like you liked this"] * len(its)
            elif src == "als":
                texts = ["picked for you"] * len(its)
            else:
                texts = self._popular_reasons(h, its)
            for j, text in zip(js, texts, strict=True):
                out[j] = text
        return out

    def _popular_reasons(self, h: sparse.csr_matrix, items: list[int]) -> list[str]:
        """``popular in #tag``, preferring the item's tag the history likes most."""
        pos = positive_part(h)
        hist_tags = (pos @ self.item_tags_).toarray().ravel() if pos.nnz else None
        out = []
        for item in items:
            idx = self.item_tags_.indices[
                self.item_tags_.indptr[item] : self.item_tags_.indptr[item + 1]
            ]
            if idx.size == 0:
                out.append("trending now")
                continue
            best = int(idx[0])
            if hist_tags is not None and hist_tags[idx].max() > 0:
                best = int(idx[int(np.argmax(hist_tags[idx]))])
            out.append(f"popular in #{self.tags_[best]}")
        return out

    # -- persistence ----------------------------------------------------------------------

    def state(self) -> dict[str, npt.NDArray[Any]]:
        return {
            "ref_time": np.asarray([self.ref_time_], dtype=np.float64),
            "creators": self.creators_,
            "created": self.created_,
            **strings_state("item_ids", self.item_ids_),
            **strings_state("titles", self.titles_),
            **strings_state("tags", self.tags_),
            **csr_state("item_tags", self.item_tags_),
        }

    def set_state(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.ref_time_ = float(arrays["ref_time"][0])
        self.creators_ = arrays["creators"].astype(np.int64)
        self.created_ = arrays["created"].astype(np.float64)
        self._freshness = None
        self._item_meta = None
        self.item_ids_ = strings_from_state("item_ids", arrays)
        self.titles_ = strings_from_state("titles", arrays)
        self.tags_ = strings_from_state("tags", arrays)
        self.item_tags_ = csr_from_state("item_tags", arrays)

    def save(self, path: str | Path) -> None:
        """Write the blender to ``path`` and each component to a sibling file.

        A component ``als`` of ``model.npz`` goes to ``model.als.npz``.
        """
        p = Path(path)
        super().save(p)
        for name, model in self.models.items():
            model.save(_sibling(p, name))

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a blender and its sibling component files written by :meth:`save`."""
        p = Path(path)
        model = super().load(p)
        model.models = {name: COMPONENTS[name].load(_sibling(p, name)) for name in model.components}
        return model
