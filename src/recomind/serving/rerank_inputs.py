"""What the learned ranker reads of a batch's users at serving, from their live histories.

The training groups (:mod:`recomind.recommend.ltr_data`) describe a user by their counted
actions per video (the per-(user, video) rules of :mod:`recomind.weights`, no recency), the
recency-weighted row the hybrid scores, and their actions per hour of the day. Here the
same three come from each user's history as serving loads it (database rows plus what the
cache noted), so a like counts in the ranker's features at once, as it does in the hybrid's
row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse

from recomind.folds.states import history_weights
from recomind.recommend.ltr_data import counted_rows
from recomind.recommend.ltr_features import Histories, hour_of
from recomind.serving.inputs import UserInput
from recomind.storage.actions import HistoryItem


def ranker_histories(
    users: Sequence[UserInput],
    recent: sparse.csr_matrix,
    *,
    index: dict[str, int],
    n_items: int,
    weigh: Callable[[HistoryItem], float],
    pending_weight: float,
    now: float,
) -> Histories:
    """The :class:`~recomind.recommend.ltr_features.Histories` of ``users``.

    Parameters
    ----------
    users
        The batch; ``recent`` is their recency-weighted rows, in the same order.
    index
        The model's item index by video id (videos it does not know are left out).
    weigh
        An action's own weight (:meth:`recomind.config.Settings.action_weight`).
    pending_weight
        What a video noted in the cache but not stored yet counts (a view).
    now
        Unix time of the request (its hour of the day is the time-of-day feature's).
    """
    rows: list[tuple[np.ndarray, np.ndarray]] = []
    hours = np.zeros((len(users), 24), dtype=np.float32)
    for r, user in enumerate(users):
        in_history = {h.video_id for h in user.history}
        items: list[int] = []
        weights: list[float] = []
        for video_id in user.exclude - in_history:
            i = index.get(video_id)
            if i is not None:
                items.append(i)
                weights.append(pending_weight)
        for h, w in zip(user.history, history_weights(user.history, weigh), strict=True):
            i = index.get(h.video_id)
            if i is not None and w != 0.0:
                items.append(i)
                weights.append(w)
            hours[r, h.timestamp.hour] += 1.0
        rows.append((np.asarray(items, dtype=np.int64), np.asarray(weights, dtype=np.float32)))
    hour = np.full(len(users), int(hour_of([now])[0]), dtype=np.int64)
    return Histories(counted_rows(rows, n_items), recent.tocsr(), hours, hour)
