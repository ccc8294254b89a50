"""User profiles: a decayed weight per tag from likes, watched views and skips (negative).

The fold is total: a ``nan``/``inf`` weight read from a row (or one that overflowed) is
dropped, never stored, and decay factors are finite (:func:`recomind.weights.decay_factor`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

from sqlalchemy import Connection

from recomind.config import Settings
from recomind.schemas import ActionEvent, Video, utcnow
from recomind.storage.profiles import ProfileRow, lock_profiles, save_profiles
from recomind.storage.videos import get_videos
from recomind.weights import decay_factor


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
) -> ProfileRow:
    """The profile plus actions not stored yet (undecayed): what ranking sees right away."""
    weights = dict(profile.tag_weights) if profile else {}
    for action_type, video_id in pending:
        video = videos.get(video_id)
        if video is None or not video.tags:
            continue
        w = settings.action_weight(action_type, None, video.duration_s)
        for tag in video.tags:
            weights[tag] = weights.get(tag, 0.0) + w / len(video.tags)
    updated = profile.updated_at if profile else utcnow()
    return ProfileRow(user_id, top_tags(weights, settings.profile_top_tags), weights, updated)


def apply(conn: Connection, *, settings: Settings, events: Sequence[ActionEvent]) -> list[str]:
    """Fold ``events`` into ``user_profiles``; returns the ids of users whose profile changed."""
    if not events:
        return []
    half_life = settings.profile_half_life_hours * 3600.0
    vids = get_videos(conn, video_ids=[e.video_id for e in events])
    by_user: dict[str, list[ActionEvent]] = defaultdict(list)
    for e in events:
        by_user[e.user_id].append(e)
    rows = lock_profiles(conn, user_ids=list(by_user))
    changed: list[ProfileRow] = []
    for uid, evs in by_user.items():
        row = rows[uid]
        weights = dict(row.tag_weights)
        last = row.updated_at
        for e in evs:
            video = vids.get(e.video_id)
            if video is None or not video.tags:
                continue
            at = e.timestamp.replace(tzinfo=None)
            w = settings.action_weight(e.action_type, e.watch_time_ms, video.duration_s)
            if at >= last:
                factor = decay_factor((at - last).total_seconds(), half_life)
                weights = {t: v * factor for t, v in weights.items()}
                last = at
                add = w
            else:
                add = w * decay_factor((last - at).total_seconds(), half_life)
            for tag in video.tags:
                weights[tag] = weights.get(tag, 0.0) + add / len(video.tags)
        weights = {t: round(v, 9) for t, v in weights.items() if math.isfinite(v) and abs(v) > 1e-9}
        changed.append(ProfileRow(uid, top_tags(weights, settings.profile_top_tags), weights, last))
    save_profiles(conn, rows=changed)
    return [r.user_id for r in changed]
