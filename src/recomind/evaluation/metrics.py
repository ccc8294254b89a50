"""Top-k ranking metrics as small pure functions over hit matrices.

Every function takes the outcome of ranking for a batch of users: ``ranked`` is an
``(n_users, K)`` integer matrix of recommended item indices, best first, padded with ``-1``
where a model returned fewer than ``K`` items; ``hits`` is the matching boolean matrix
(``True`` where the recommended item is one of the user's held-out items). Keeping the
ranking and the scoring apart lets the same hand-checkable functions serve every protocol.

A mean over zero users is undefined, so every averaging metric returns ``nan`` for an empty
batch instead of a misleading ``0.0``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

BoolMatrix = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


def _check(hits: BoolMatrix, k: int) -> BoolMatrix:
    if k <= 0:
        raise ValueError(f"k must be a positive integer, got {k}")
    h = np.asarray(hits, dtype=bool)
    if h.ndim != 2:
        raise ValueError(f"hits must be a 2-D (n_users, K) matrix, got shape {h.shape}")
    if h.shape[1] < k and h.shape[0] > 0:
        raise ValueError(f"hits has {h.shape[1]} columns, fewer than k={k}")
    return h[:, :k]


def _n_targets(n_targets: npt.ArrayLike, n_users: int) -> npt.NDArray[np.float64]:
    n = np.asarray(n_targets, dtype=np.float64).reshape(-1)
    if n.shape[0] != n_users:
        raise ValueError(f"n_targets has {n.shape[0]} entries for {n_users} users")
    if np.any(n <= 0):
        raise ValueError("every evaluated user needs at least one held-out item (n_targets >= 1)")
    return n


def hit_rate_at_k(hits: BoolMatrix, k: int) -> float:
    """Fraction of users with at least one held-out item in their top ``k``.

    Parameters
    ----------
    hits
        ``(n_users, K)`` boolean matrix, ``K >= k``; ``hits[u, r]`` is true when the item at
        rank ``r`` for user ``u`` is held out for that user.
    k
        Cut-off.

    Returns
    -------
    float
        Mean over users of ``1`` if any of the first ``k`` ranks hits, else ``0``;
        ``nan`` when there are no users.
    """
    h = _check(hits, k)
    if h.shape[0] == 0:
        return float("nan")
    return float(h.any(axis=1).mean())


def recall_at_k(hits: BoolMatrix, n_targets: npt.ArrayLike, k: int) -> float:
    """Mean share of each user's held-out items found in the top ``k``.

    The denominator is ``min(k, n_targets)`` (as in Liang et al. 2018, "Variational
    autoencoders for collaborative filtering"), so a perfect ranker scores ``1.0`` even when a
    user has more than ``k`` held-out items.

    Parameters
    ----------
    hits
        ``(n_users, K)`` boolean hit matrix, ``K >= k``.
    n_targets
        ``(n_users,)`` number of held-out items per user (each ``>= 1``).
    k
        Cut-off.

    Returns
    -------
    float
        Mean over users; ``nan`` when there are no users.
    """
    h = _check(hits, k)
    if h.shape[0] == 0:
        return float("nan")
    n = _n_targets(n_targets, h.shape[0])
    return float((h.sum(axis=1) / np.minimum(n, k)).mean())


def ndcg_per_user(hits: BoolMatrix, n_targets: npt.ArrayLike, k: int) -> npt.NDArray[np.float64]:
    """Each user's normalised discounted cumulative gain at ``k`` with binary relevance.

    ``DCG = sum_r hit_r / log2(r + 2)`` over ranks ``r = 0 .. k-1``; the ideal DCG puts
    ``min(k, n_targets)`` hits at the top ranks.

    Parameters
    ----------
    hits
        ``(n_users, K)`` boolean hit matrix, ``K >= k``.
    n_targets
        ``(n_users,)`` number of held-out items per user (each ``>= 1``).
    k
        Cut-off.

    Returns
    -------
    numpy.ndarray
        ``(n_users,)`` values in ``[0, 1]``.
    """
    h = _check(hits, k)
    n = _n_targets(n_targets, h.shape[0])
    discounts = 1.0 / np.log2(np.arange(2, h.shape[1] + 2, dtype=np.float64))
    dcg = (h * discounts).sum(axis=1)
    ideal_cum = np.concatenate([[0.0], np.cumsum(discounts)])
    idcg = ideal_cum[np.minimum(n, h.shape[1]).astype(np.int64)]
    out: npt.NDArray[np.float64] = dcg / idcg
    return out


def ndcg_at_k(hits: BoolMatrix, n_targets: npt.ArrayLike, k: int) -> float:
    """Mean over users of :func:`ndcg_per_user`, in ``[0, 1]``; ``nan`` when there are none."""
    values = ndcg_per_user(hits, n_targets, k)
    return float(values.mean()) if values.size else float("nan")


def coverage(ranked: npt.ArrayLike, n_items: int, k: int) -> float:
    """Catalogue coverage: share of all items recommended to at least one user in the top ``k``.

    Parameters
    ----------
    ranked
        ``(n_users, K)`` recommended item indices, best first, ``-1`` as padding.
    n_items
        Catalogue size.
    k
        Cut-off.

    Returns
    -------
    float
        ``|union of top-k lists| / n_items``; ``0.0`` for an empty batch or catalogue.
    """
    if k <= 0:
        raise ValueError(f"k must be a positive integer, got {k}")
    r = np.asarray(ranked, dtype=np.int64)
    if n_items <= 0 or r.size == 0:
        return 0.0
    top = r.reshape(r.shape[0], -1)[:, :k]
    distinct = np.unique(top[top >= 0])
    return float(distinct.size / n_items)


def short_list_fraction(list_lengths: npt.ArrayLike, k: int) -> float:
    """Fraction of users for whom a model returned fewer than ``k`` items.

    Parameters
    ----------
    list_lengths
        ``(n_users,)`` number of items each user could be recommended (finite scores left
        after excluding what they have seen).
    k
        Required list length.

    Returns
    -------
    float
        Share of users with ``length < k``; ``nan`` when there are no users.
    """
    lengths = np.asarray(list_lengths).reshape(-1)
    if lengths.size == 0:
        return float("nan")
    return float((lengths < k).mean())
