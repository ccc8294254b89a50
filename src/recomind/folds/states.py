"""The per-(user, video) rules of :mod:`recomind.weights` applied by the folds and the live
path: a like counts once, an unlike takes it back, repeated views count less.

Each fold keeps its own states in ``action_states`` (keyed by the fold's name), read and
written in the fold's transaction, so a consumer group claims its offsets, changes its
states and applies the change together: exactly once. :func:`changes` turns a batch into
*terms*, weights at event times to add to a decayed sum (negative: taken back); since the
rules depend on the set of a pair's actions only, the terms add up to the same sums in any
order and batching as a fold from scratch.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from recomind.schemas import ActionEvent, to_naive_utc
from recomind.storage.action_states import Pair, lock_states, save_states
from recomind.storage.actions import HistoryItem
from recomind.weights import (
    REPEATED,
    TOGGLES,
    Act,
    counted,
    counted_alone,
    is_liked,
    pair_state,
    pair_terms,
)

EPOCH = datetime(1970, 1, 1)
_US = timedelta(microseconds=1)


def to_us(ts: datetime) -> int:
    """A time (naive UTC, or aware) as microseconds since the epoch."""
    return (to_naive_utc(ts) - EPOCH) // _US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


@dataclass(frozen=True)
class Term:
    """A weight the fold adds at time ``at`` (negative: a term taken back)."""

    user_id: str
    video_id: str
    weight: float
    at: datetime


def changes(
    conn: Connection,
    *,
    fold: str,
    events: Sequence[ActionEvent],
    weigh: Callable[[ActionEvent], float],
    window_us: int = 0,
) -> list[Term]:
    """Update ``fold``'s states with ``events`` and return what changes in the fold.

    Parameters
    ----------
    conn
        The fold's transaction (its states stay locked until it ends).
    fold
        The fold's name in ``action_states``.
    events
        New events (each applied once: the caller claims them).
    weigh
        An event's own weight (:func:`recomind.weights.action_weight` with the deployment's
        weights); stored with it, so taking it back later removes exactly what was added.
    window_us
        The distinct-user window of :func:`recomind.weights.counted` (0: none).

    Returns
    -------
    list of Term
        Terms added (new counted actions) and taken back (negative weights: a like undone,
        a view that now counts less), per pair.
    """
    by_pair: dict[Pair, list[Act]] = defaultdict(list)
    for e in events:
        by_pair[(e.user_id, e.video_id)].append((e.action_type, to_us(e.timestamp), weigh(e)))
    if not by_pair:
        return []
    stored = lock_states(conn, fold=fold, pairs=list(by_pair))
    new_states: dict[Pair, list[Act]] = {}
    out: list[Term] = []
    for pair, acts in by_pair.items():
        old = stored[pair]
        if not old and len(acts) == 1:  # a pair's first action (most of them): itself
            new_states[pair] = acts
            if w := counted_alone(acts[0]):
                out.append(Term(*pair, w, from_us(acts[0][1])))
            continue
        new = pair_state(old + acts, window_us=window_us)
        if new == old:
            continue
        new_states[pair] = new
        before = Counter(pair_terms(old, window_us=window_us))
        after = Counter(pair_terms(new, window_us=window_us))
        for (w, at), n in (after - before).items():
            out.extend([Term(*pair, w, from_us(at))] * n)
        for (w, at), n in (before - after).items():
            out.extend([Term(*pair, -w, from_us(at))] * n)
    save_states(conn, fold=fold, states=new_states)
    return out


def history_weights(
    history: Sequence[HistoryItem], weigh: Callable[[HistoryItem], float]
) -> list[float]:
    """What each of a user's actions counts (:func:`recomind.weights.counted` per video);
    ``weigh`` gives an action's own weight."""
    by_video: dict[str, list[int]] = defaultdict(list)
    for j, h in enumerate(history):
        by_video[h.video_id].append(j)
    out = [0.0] * len(history)
    for js in by_video.values():
        acts = [
            (history[j].action_type, to_us(history[j].timestamp), weigh(history[j])) for j in js
        ]
        for j, w in zip(js, counted(acts), strict=True):
            out[j] = w
    return out


def pending_actions(
    history: Sequence[HistoryItem], recent: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Of the ``(action_type, video_id)`` pairs noted in the cache, those the stored
    ``history`` does not account for yet, by the state rules.

    A view or skip is pending unless one of that video is stored (the stored one may be the
    same event). A noted like is pending unless the stored state is liked already (a like
    noted twice counts once); a noted unlike only if the stored state is liked. ``recent``
    holds the latest like/unlike per video (see ``RecommendationService.recent_actions``).
    """
    stored = {(h.action_type, h.video_id) for h in history}
    toggles: dict[str, list[Act]] = defaultdict(list)
    for h in history:
        if h.action_type in TOGGLES:
            toggles[h.video_id].append((h.action_type, to_us(h.timestamp), 0.0))
    out: list[tuple[str, str]] = []
    for kind, video in recent:
        if kind in REPEATED:
            pending = (kind, video) not in stored
        else:  # a like changes an unliked video, an unlike a liked one
            liked = is_liked(toggles.get(video, []))
            pending = liked if kind == "unlike" else not liked
        if pending:
            out.append((kind, video))
    return out


def first_likes(history: Iterable[HistoryItem]) -> dict[str, datetime]:
    """``video_id -> time of the user's first stored like of it``: where a like counts."""
    out: dict[str, datetime] = {}
    for h in history:
        if h.action_type == "like" and (h.video_id not in out or h.timestamp < out[h.video_id]):
            out[h.video_id] = h.timestamp
    return out
