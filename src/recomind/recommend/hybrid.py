"""The hybrid: a blend of fitted strategies, turned into feed pages with reasons.

:class:`HybridRecommender` fits its components (:mod:`recomind.recommend.components`), blends
them (:mod:`recomind.recommend.blend`, on candidates where it can:
:mod:`recomind.recommend.candidates`) and builds pages (:mod:`recomind.recommend.pages`:
freshness, caps) with a reason per item (:mod:`recomind.recommend.reasons`), from the item
metadata it keeps (:mod:`recomind.recommend.catalogue`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from scipy import sparse

from recomind.recommend import reasons, recency
from recomind.recommend._sparse import as_csr
from recomind.recommend.base import (
    FloatArray,
    IntArray,
    Interactions,
    Recommendation,
    Recommender,
)
from recomind.recommend.blend import Blend, BlendWeights, Normalisation
from recomind.recommend.candidates import CandidateRow, Rescorer
from recomind.recommend.catalogue import ItemCatalogue
from recomind.recommend.components import COMPONENTS
from recomind.recommend.hybrid_defaults import (
    DEFAULT_COLD_WEIGHTS,
    DEFAULT_COMPONENTS,
    DEFAULT_RECENCY_FLOOR,
    DEFAULT_RECENCY_HALF_LIFE,
    DEFAULT_WARM_WEIGHTS,
)
from recomind.recommend.pages import PagePolicy, pick

logger = logging.getLogger(__name__)

#: Fits one component: ``(name, constructor params) -> fitted strategy``.
ComponentFitter = Callable[[str, dict[str, Any]], Recommender]


def _sibling(path: Path, name: str) -> Path:
    return path.with_name(f"{path.stem}.{name}{path.suffix or '.npz'}")


class HybridRecommender(Recommender):
    """Blend of fitted strategies, leaning on content + popularity for new users.

    Each component's scores are normalised per row (over its top ``candidates``), then
    mixed with weights interpolated linearly between ``cold_weights`` (no positive
    interactions) and ``warm_weights`` (``warm_after`` or more): see
    :mod:`recomind.recommend.blend`. A row with an empty history gets popularity alone
    (trending). Items already in the history row score
    :data:`~recomind.recommend.blend.HISTORY_SCORE`.

    :meth:`rank` turns the blend into a feed page, :meth:`pages` into feeds for many rows:
    exclusions, per-creator / per-tag caps, a freshness boost and a reason per item.

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
        ``"minmax"`` or ``"rank"`` (see :func:`~recomind.recommend.blend.normalise_rows`).
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
        normalisation: Normalisation = "minmax",
        candidates: int = 200,
        max_per_creator: int = 2,
        max_per_tag: int = 8,
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
        self.normalisation: Normalisation = normalisation
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
        self.catalogue = ItemCatalogue.empty()

    # -- fitting --------------------------------------------------------------------------

    def fit(self, data: Interactions) -> Self:
        """Fit every component on ``data`` and keep the item metadata for the pages."""
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
        self.catalogue = ItemCatalogue.from_interactions(data)
        self.fitted = True
        return self

    # -- scoring --------------------------------------------------------------------------

    def recency_factors(self, positions: npt.ArrayLike) -> FloatArray:
        """Weight multipliers of actions ``positions`` newer-actions old (0 = newest)."""
        return recency.factors(positions, self.recency_half_life, self.recency_floor)

    def history_matrix(self, data: Interactions) -> sparse.csr_matrix:
        """Each user's recency-weighted history row (see :mod:`recomind.recommend.recency`)."""
        return recency.history_matrix(data, self.recency_half_life, self.recency_floor)

    def blend(self) -> Blend:
        """The fitted components' blend, with this model's weights and normalisation."""
        return Blend(
            self.models,
            BlendWeights(self.cold_weights, self.warm_weights, self.warm_after),
            self.normalisation,
            self.candidates,
            self.n_items,
        )

    def row_weights(self, histories: sparse.csr_matrix) -> dict[str, FloatArray]:
        """Per-row blend weight of each component, from the number of positive events."""
        return self.blend().weights.per_row(as_csr(histories, self.n_items), self.components)

    def score(self, histories: sparse.csr_matrix) -> FloatArray:
        """Blended ``[0, sum(weights)]`` scores; history items get
        :data:`~recomind.recommend.blend.HISTORY_SCORE`."""
        return self.blend().score(histories)

    def candidate_rows(self, histories: sparse.csr_matrix, *, fill: int) -> list[CandidateRow]:
        """Per row, the items whose blend can be positive, and the parts on them
        (:meth:`~recomind.recommend.blend.Blend.candidate_rows`)."""
        return self.blend().candidate_rows(histories, fill=fill)

    def full_row(self, history: sparse.csr_matrix) -> CandidateRow:
        """Every non-history item as a candidate, scored by the dense path."""
        return self.blend().full_row(history)

    # -- feed pages -----------------------------------------------------------------------

    def freshness(self, now: float | None = None, items: IntArray | None = None) -> FloatArray:
        """Multiplicative freshness factor per item (``1`` for old or undated items).

        With ``items``, the factor of those only (no catalogue-wide work unless cached).
        """
        ref = self.ref_time_ if now is None else float(now)
        boost, half_life = self.freshness_boost, self.freshness_half_life_hours
        if items is None:
            return self.catalogue.freshness(ref, boost=boost, half_life_hours=half_life)
        return self.catalogue.freshness_at(items, ref, boost=boost, half_life_hours=half_life)

    def warm(self) -> None:
        """Build the lazily cached per-item data now (not on the first request)."""
        self.catalogue.cap_codes()
        for model in self.models.values():
            model.warm()

    def rank(
        self,
        history: sparse.csr_matrix,
        n: int = 20,
        exclude: npt.ArrayLike | None = None,
        *,
        now: float | None = None,
    ) -> list[Recommendation]:
        """Final feed page of at most ``n`` for one ``(1, n_items)`` history row, as
        :meth:`pages` with one row: its items and ``exclude`` are never returned, the caps
        hold, freshness is measured at ``now`` (default: the model's)."""
        h = as_csr(history, self.n_items)[:1]
        excludes = [exclude] if exclude is not None else None
        return self.pages(h, PagePolicy.single_page(n), excludes=excludes, now=now)[0]

    def pages(
        self,
        histories: sparse.csr_matrix,
        policy: PagePolicy,
        *,
        excludes: Sequence[npt.ArrayLike] | None = None,
        now: float | None = None,
        rescorer: Rescorer | None = None,
        explain: bool = True,
        rows: Sequence[CandidateRow] | None = None,
    ) -> list[list[Recommendation]]:
        """A feed for each history row, picked as ``policy`` says (the one page path).

        Parameters
        ----------
        histories
            ``(k, n_items)`` history rows; their items are never returned.
        policy
            List size, page size the caps hold for, candidate pool (:class:`PagePolicy`).
        excludes
            Per row, further item indices never to return.
        now
            Reference time of the freshness boost (default: the model's ``now``).
        rescorer
            Scores the candidates instead of the blend (the learned ranker); its rows are
            this call's rows.
        explain
            Whether items get reason texts and the rescorer's sources (``False``: the blend's
            main source and no text, for lists only scored, as the gate's).
        rows
            The rows' candidates, when the caller has them
            (``candidate_rows(histories, fill=policy.fill)``: one batch ranked twice).

        Returns
        -------
        list of list of Recommendation
            One list per row, best first, each item with a reason and its main source.
        """
        h = as_csr(histories, self.n_items)
        if rows is None:
            rows = self.candidate_rows(h, fill=policy.fill)
        at = now if now is not None else self.now
        exclude = [
            np.asarray(excludes[i], dtype=np.int64).ravel()
            if excludes is not None and i < len(excludes)
            else np.empty(0, dtype=np.int64)
            for i in range(len(rows))
        ]
        kept = [row.without(ex) for row, ex in zip(rows, exclude, strict=True)]
        learned = rescorer.scores(kept, list(range(len(kept)))) if rescorer else None
        return [
            self._page(
                h[i],
                i,
                rows[i],
                exclude[i],
                policy,
                at,
                rescorer,
                (kept[i], learned[i]) if learned is not None else None,
                explain,
            )
            for i in range(len(rows))
        ]

    def _page(
        self,
        h: sparse.csr_matrix,
        i: int,
        row: CandidateRow,
        exclude: IntArray,
        policy: PagePolicy,
        now: float | None,
        rescorer: Rescorer | None,
        scored: tuple[CandidateRow, FloatArray] | None,
        explain: bool,
    ) -> list[Recommendation]:
        """One row's list; every item densely when the caps starve its candidates."""
        creators, tags = self.catalogue.cap_codes()
        while True:
            if scored is not None:  # the batch's rescored candidates of ``row``
                kept, total = scored
                scored = None
            else:
                kept = row.without(exclude)
                if rescorer is None:
                    total = kept.total()
                    total *= self.freshness(now, kept.items)
                else:
                    total = rescorer.scores([kept], [i])[0]
            picked = pick(
                kept.items,
                total,
                policy,
                creators=creators,
                tags=tags,
                max_per_creator=self.max_per_creator,
                max_per_tag=self.max_per_tag,
            )
            if len(picked) >= policy.n or row.complete:
                break
            row = self.full_row(h)  # the caps starved the candidates: every item, densely
        return reasons.labelled(
            kept,
            picked,
            total,
            h,
            rescorer=rescorer if explain else None,
            position=i,
            explain=explain,
            models=self.models,
            catalogue=self.catalogue,
        )

    # -- persistence ----------------------------------------------------------------------

    def state(self) -> dict[str, npt.NDArray[Any]]:
        return {
            "ref_time": np.asarray([self.ref_time_], dtype=np.float64),
            **self.catalogue.state(),
        }

    def set_state(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.ref_time_ = float(arrays["ref_time"][0])
        self.catalogue = ItemCatalogue.from_state(arrays)

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
