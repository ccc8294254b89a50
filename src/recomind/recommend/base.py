"""The one interface every recommender implements, and the data it learns from.

Recommenders work in *index space*: users and items are dense integer indices into
``Interactions.user_ids`` / ``Interactions.item_ids``. The service and the offline
evaluation call exactly the same methods, so a figure measured offline is a figure about
the code that serves.

A recommender scores from a user's *history row* (a sparse vector of interaction weights
over items), not only from a user index learnt at fit time. That is what lets a brand-new
user's first like change their next feed at once, without waiting for a refit.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
from scipy import sparse

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


@dataclass
class Interactions:
    """Implicit-feedback events in index space, plus item side information.

    Parameters
    ----------
    user_ids, item_ids
        External ids; position ``i`` is index ``i``.
    users, items
        One entry per event: the user index and item index.
    weights
        One entry per event: positive confidence (likes, views weighted by watch time)
        or negative evidence (skips).
    timestamps
        One entry per event, unix seconds; used for time decay.
    item_tags
        Per item, its tags (lower-case, without ``#``).
    item_titles
        Per item, its title (may be empty strings).
    item_created
        Per item, upload time in unix seconds (``nan`` when unknown).
    item_creators
        Per item, the creator id (empty string when unknown).
    """

    user_ids: list[str]
    item_ids: list[str]
    users: IntArray
    items: IntArray
    weights: FloatArray
    timestamps: npt.NDArray[np.float64]
    item_tags: list[list[str]] = field(default_factory=list)
    item_titles: list[str] = field(default_factory=list)
    item_created: npt.NDArray[np.float64] | None = None
    item_creators: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.users)
        if not (len(self.items) == len(self.weights) == len(self.timestamps) == n):
            raise ValueError("users, items, weights and timestamps must have one entry per event")
        if not self.item_tags:
            self.item_tags = [[] for _ in self.item_ids]
        if not self.item_titles:
            self.item_titles = ["" for _ in self.item_ids]
        if not self.item_creators:
            self.item_creators = ["" for _ in self.item_ids]
        if self.item_created is None:
            self.item_created = np.full(len(self.item_ids), np.nan)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def matrix(
        self, *, positive_only: bool = False, weights: FloatArray | None = None
    ) -> sparse.csr_matrix:
        """User x item matrix of summed weights (duplicates add up).

        ``weights`` replaces :attr:`weights` (one per event), e.g. recency-weighted ones.
        """
        w = self.weights if weights is None else weights
        if positive_only:
            w = np.where(w > 0, w, 0.0).astype(np.float32)
        m = sparse.csr_matrix(
            (w.astype(np.float32), (self.users, self.items)),
            shape=(self.n_users, self.n_items),
            dtype=np.float32,
        )
        m.sum_duplicates()
        m.eliminate_zeros()
        return m


@dataclass(frozen=True)
class Recommendation:
    """One entry of a final, user-facing feed page.

    Parameters
    ----------
    item
        Item index.
    score
        Final blended score (higher is better).
    reason
        Short human-readable explanation, e.g. ``"because you liked #funny"``.
    source
        Name of the strategy that contributed most (``"content"``, ``"als"``, ...).
    """

    item: int
    score: float
    reason: str
    source: str


class Recommender(ABC):
    """Base of every strategy: ``fit`` / ``score`` / ``recommend`` / ``save`` / ``load``.

    Subclasses keep hyper-parameters as constructor arguments (with ``random_state`` where
    the method is random), each stored under its own name (so :meth:`get_params` reads them
    back), and store learnt state as numpy arrays so ``save`` needs no pickle.
    """

    #: Short, stable name used in settings, reports and reasons.
    name: ClassVar[str] = "base"

    def __init__(self) -> None:
        self.n_items = 0
        self.fitted = False

    @abstractmethod
    def fit(self, data: Interactions) -> Self:
        """Learn from ``data``; returns ``self``."""

    @abstractmethod
    def score(self, histories: sparse.csr_matrix) -> FloatArray:
        """Score every item for each history row.

        Parameters
        ----------
        histories
            ``(n_rows, n_items)`` sparse matrix of interaction weights, one row per user
            being scored (skips negative). Rows need not be users seen at fit time.

        Returns
        -------
        numpy.ndarray
            Dense ``(n_rows, n_items)`` float32 scores; higher is better. Items the model
            knows nothing about get ``-inf`` or a low constant, never ``nan``.
        """

    def history_matrix(self, data: Interactions) -> sparse.csr_matrix:
        """The history rows this model scores ``data``'s users from (one row per user).

        The default is each user's summed action weights, ``data.matrix()``; a strategy
        that weighs actions differently (the hybrid's recency weighting) overrides it, and
        the service builds its rows the same way.
        """
        return data.matrix()

    def recommend(
        self,
        history: sparse.csr_matrix,
        n: int,
        exclude: npt.ArrayLike | None = None,
    ) -> tuple[IntArray, FloatArray]:
        """Top-``n`` item indices and scores for one history row, skipping ``exclude``."""
        scores = self.score(history)[0]
        return top_n(scores, n, exclude)

    # -- optional abilities: what the hybrid uses when a strategy has it ---------------------

    def score_rows(self, histories: sparse.csr_matrix) -> FloatArray:
        """:meth:`score` of a small batch (a request, a precompute chunk): the same values.

        Default: :meth:`score`. A strategy overrides it where another way of computing the
        same scores is faster for a few rows.
        """
        return self.score(histories)

    def score_sparse(self, histories: sparse.csr_matrix) -> sparse.csr_matrix | None:
        """:meth:`score` as a sparse matrix (sorted indices), where scores are mostly 0.

        Returns ``None`` (the default) when the strategy's scores are dense; otherwise a
        ``(n_rows, n_items)`` matrix whose implicit entries are scores of exactly 0.
        """
        return None

    def ranking(self) -> tuple[FloatArray, IntArray] | None:
        """History-independent scores and every item index, best first (ties by index).

        Returns ``None`` (the default) when scores depend on the history row; otherwise
        ``(scores, order)`` where every history row scores ``scores``.
        """
        return None

    def explain_items(self, history: sparse.csr_matrix, items: list[int]) -> list[int | None]:
        """For each of ``items``, the history item contributing most to its score.

        Parameters
        ----------
        history
            ``(1, n_items)`` history row.
        items
            Item indices to explain.

        Returns
        -------
        list of int or None
            One history item index per item, ``None`` where none contributes positively.
            The default (a strategy whose scores do not come from single history items)
            is ``None`` for every item.
        """
        return [None] * len(items)

    def explain(self, history: sparse.csr_matrix, item: int) -> int | None:
        """:meth:`explain_items` of one item."""
        return self.explain_items(history, [item])[0]

    def explain_tags(self, history: sparse.csr_matrix, items: list[int]) -> list[str | None]:
        """For each of ``items``, the tag (without ``#``) of the history's taste it matches most.

        Takes the arguments of :meth:`explain_items`; returns one tag per item, ``None``
        where it shares none. The default (a strategy that does not score by tags) is
        ``None`` for every item.
        """
        return [None] * len(items)

    def explain_tag(self, history: sparse.csr_matrix, item: int) -> str | None:
        """:meth:`explain_tags` of one item."""
        return self.explain_tags(history, [item])[0]

    def warm(self) -> None:  # noqa: B027
        """Build lazily cached state now, not on the first request (default: none)."""

    # -- persistence -------------------------------------------------------------------------

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments, read from the attributes of the same names.

        ``type(self)(**self.get_params())`` builds the same, unfitted strategy; :meth:`save`
        writes them as JSON and :meth:`load` passes them back to the constructor.

        Raises
        ------
        TypeError
            If the class stores a constructor parameter under another name.
        """
        cls = type(self)
        missing = [name for name in _init_params(cls) if not hasattr(self, name)]
        if missing:
            raise TypeError(
                f"{cls.__name__} must store its constructor parameters {missing} "
                "as attributes of the same names"
            )
        return {name: getattr(self, name) for name in _init_params(cls)}

    def state(self) -> dict[str, npt.NDArray[Any]]:
        """Learnt arrays to save; override in subclasses."""
        return {}

    def set_state(self, arrays: dict[str, npt.NDArray[Any]]) -> None:  # noqa: B027
        """Restore learnt arrays produced by :meth:`state`; override in subclasses."""

    def save(self, path: str | Path) -> None:
        """Write params and learnt arrays to one ``.npz`` file (no pickle)."""
        arrays = dict(self.state())
        meta = {"name": self.name, "params": self.get_params(), "n_items": self.n_items}
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        with open(path, "wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        meta = json.loads(arrays.pop("__meta__").tobytes().decode())
        if meta["name"] != cls.name:
            raise ValueError(f"{path} holds a {meta['name']!r} model, not {cls.name!r}")
        model = cls(**meta["params"])
        model.n_items = int(meta["n_items"])
        model.set_state(arrays)
        model.fitted = True
        return model


@functools.cache
def _init_params(cls: type[Recommender]) -> tuple[str, ...]:
    """Names of the keyword-passable parameters of ``cls.__init__`` (``self`` excluded)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    return tuple(p.name for p in params if p.kind in kinds)


def top_n(
    scores: npt.NDArray[np.floating[Any]], n: int, exclude: npt.ArrayLike | None = None
) -> tuple[IntArray, FloatArray]:
    """Indices and values of the ``n`` best finite scores, best first, minus ``exclude``."""
    s = np.asarray(scores, dtype=np.float32).copy()
    if exclude is not None:
        ex = np.asarray(exclude, dtype=np.int64)
        if ex.size:
            s[ex] = -np.inf
    finite = np.isfinite(s)
    k = min(n, int(finite.sum()))
    if k <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    s[~finite] = -np.inf
    part = np.argpartition(-s, k - 1)[:k]
    order = part[np.argsort(-s[part], kind="stable")]
    return order.astype(np.int64), s[order]


def history_row(
    items: npt.ArrayLike,
    weights: npt.ArrayLike | None,
    n_items: int,
) -> sparse.csr_matrix:
    """One-row history matrix from item indices and their weights (default 1.0 each).

    Parameters
    ----------
    items
        Item indices the user interacted with (repeats add up).
    weights
        Matching interaction weights (see :mod:`recomind.weights`); ``None`` means all 1.0.
    n_items
        Catalogue size (number of columns).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(1, n_items)`` float32 history row.
    """
    idx = np.asarray(items, dtype=np.int64).ravel()
    w = (
        np.ones(idx.size, dtype=np.float32)
        if weights is None
        else np.asarray(weights, dtype=np.float32).ravel()
    )
    m = sparse.csr_matrix(
        (w, (np.zeros(idx.size, dtype=np.int64), idx)), shape=(1, n_items), dtype=np.float32
    )
    m.sum_duplicates()
    m.eliminate_zeros()
    return m
