"""User profiles: a decayed weight per tag from likes, watched views and skips (negative).

What each action counts follows the per-(user, video) rules of :mod:`recomind.weights` (a
like once, an unlike takes it back, repeated views less and less); the fold keeps its
per-pair states (:mod:`recomind.folds.states`, fold ``profiles``).
The fold is total: a ``nan``/``inf`` weight read from a row (or one that overflowed) is
dropped, never stored, and decay factors are finite (:func:`recomind.weights.decay_factor`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection

from recomind.config import Settings
from recomind.folds.states import Term, changes
from recomind.schemas import ActionEvent, Video, utcnow
from recomind.storage.action_states import clear_states
from recomind.storage.profiles import ProfileRow, clear_profiles, lock_profiles, save_profiles
from recomind.storage.videos import get_videos
from recomind.weights import decay_factor

FOLD = "profiles"
#: A tag whose weight is within this of zero is dropped from a profile. Weights are stored
#: rounded to 9 places and decayed at each fold, so a like then an unlike leaves a residue of
#: rounding error whose size depends on the order the events were folded in; a cut well above
#: that residue keeps the stored tag set the same whichever order the events came in.
NEGLIGIBLE_WEIGHT = 1e-6


def top_tags(weights: dict[str, float], k: int) -> list[str]:
    """The ``k`` tags with the highest positive weight (ties by name, for stable output)."""
    ranked = sorted((t for t, w in weights.items() if w > 0), key=lambda t: (-weights[t], t))
    return ranked[:k]


def fold_pending(
    profile: ProfileRow | None,
    *,
    user_id: str,
    pending: Sequence[tuple[str, str]],
    videos: Mapping[str, Video],
    settings: Settings,
    first_likes: Mapping[str, datetime] | None = None,
) -> ProfileRow:
    """The profile plus actions not stored yet: what ranking sees right away.

    ``pending`` are ``(action_type, video_id)`` pairs that change the stored state
    (:func:`recomind.folds.states.pending_actions`); a view or skip adds its undecayed
    weight. A like counts from the user's first like of the video (``first_likes``, their
    stored history): a first like adds its full weight, a like after an unlike the first
    like's weight decayed to the profile's time, and an unlike takes that back.
    """
    weights = dict(profile.tag_weights) if profile else {}
    updated = profile.updated_at if profile else utcnow()
    half_life = settings.profile_half_life_hours * 3600.0
    firsts = first_likes or {}
    for action_type, video_id in pending:
        video = videos.get(video_id)
        if video is None or not video.tags:
            continue
        if action_type in ("like", "unlike"):
            first = firsts.get(video_id)
            w = settings.action_weight("like")
            if first is not None:
                w *= decay_factor((updated - first).total_seconds(), half_life)
            if action_type == "unlike":
                w = -w
        else:
            w = settings.action_weight(action_type, None, video.duration_s)
        for tag in video.tags:
            weights[tag] = weights.get(tag, 0.0) + w / len(video.tags)
    return ProfileRow(user_id, top_tags(weights, settings.profile_top_tags), weights, updated)


def apply(conn: Connection, *, settings: Settings, events: Sequence[ActionEvent]) -> list[str]:
    """Fold ``events`` into ``user_profiles`` (states and rows locked for the transaction);
    returns the ids of the users whose events were folded.

    A term of a video without tags changes nothing; a profile is decayed to the newest of
    its user's events on tagged videos.
    """
    if not events:
        return []
    half_life = settings.profile_half_life_hours * 3600.0
    vids = get_videos(conn, video_ids=[e.video_id for e in events])
    terms = changes(
        conn,
        fold=FOLD,
        events=events,
        weigh=lambda e: settings.action_weight(
            e.action_type, e.watch_time_ms, v.duration_s if (v := vids.get(e.video_id)) else None
        ),
    )
    latest: dict[str, datetime] = {}
    for e in events:
        video = vids.get(e.video_id)
        if video is not None and video.tags:
            at = e.timestamp.replace(tzinfo=None)
            latest[e.user_id] = max(latest.get(e.user_id, at), at)
    by_user: dict[str, list[Term]] = {e.user_id: [] for e in events}
    for t in terms:
        by_user[t.user_id].append(t)
    rows = lock_profiles(conn, user_ids=list(by_user))
    changed: list[ProfileRow] = []
    for uid, user_terms in by_user.items():
        row = rows[uid]
        last = max(row.updated_at, latest.get(uid, row.updated_at))
        factor = decay_factor((last - row.updated_at).total_seconds(), half_life)
        weights = {t: v * factor for t, v in row.tag_weights.items()}
        for term in user_terms:
            video = vids.get(term.video_id)
            if video is None or not video.tags:
                continue
            add = term.weight * decay_factor((last - term.at).total_seconds(), half_life)
            for tag in video.tags:
                weights[tag] = weights.get(tag, 0.0) + add / len(video.tags)
        weights = {
            t: round(v, 9)
            for t, v in weights.items()
            if math.isfinite(v) and abs(v) > NEGLIGIBLE_WEIGHT
        }
        changed.append(ProfileRow(uid, top_tags(weights, settings.profile_top_tags), weights, last))
    save_profiles(conn, rows=changed)
    return [r.user_id for r in changed]


def clear(conn: Connection) -> None:
    """Empty ``user_profiles`` and the fold's states (before a rebuild)."""
    clear_profiles(conn)
    clear_states(conn, fold=FOLD)
