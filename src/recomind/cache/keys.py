"""Cache key names from the design, joined by one helper."""

from __future__ import annotations

RECOMMENDATIONS = "recommendations"
POPULAR_VIDEOS = "popular_videos"
USER_PROFILE = "user_profile"


def key(prefix: str, *parts: str) -> str:
    """``key('t1:', 'recommendations', 'u1')`` -> ``'t1:recommendations:u1'``."""
    return prefix + ":".join(parts)


#: ``action:video`` pairs a user did recently, each scored by its time (a sorted set): excluded
#: and counted at once, before the consumers have stored them. (A plain set of
#: ``time:action:video`` members until 0.4: the new name keeps the two types apart.)
RECENT_ACTIONS = "recent"
#: A video's card, the record every cached list renders its items from.
VIDEO_CARD = "video_card"
#: Bumped whenever a user's list is invalidated; a refresh that raced with it is not stored.
GENERATION = "recommendations_generation"
#: Bumped whenever a user's profile changes; a read that raced with it is not cached.
PROFILE_GENERATION = "user_profile_generation"
#: Held while one process runs the scheduled batch jobs (``recomind serve --workers N``).
JOBS_LOCK = "jobs_lock"
#: How many actions a user did since their list was last refreshed (``retrain-trigger``
#: refreshes it every ``refresh_after_interactions``).
ACTIONS_SINCE_REFRESH = "actions_since_refresh"
#: Prefix of the per-user event rate-limit counters (the ``limits`` library's keys follow it).
EVENT_RATE = "event_rate"
#: Prefix of the request rate-limit counters (per key, user and address; limits' keys follow).
REQUEST_RATE = "request_rate"
#: The online figures per source (like and skip rates per impression), computed by the
#: ``online-figures`` job from the lake.
ONLINE_FIGURES = "online_figures"


def user_keys(prefix: str, user_id: str) -> list[str]:
    """Every key named after one user (what erasing them deletes: docs/erasure.md)."""
    kinds = (
        RECOMMENDATIONS,
        GENERATION,
        RECENT_ACTIONS,
        USER_PROFILE,
        PROFILE_GENERATION,
        ACTIONS_SINCE_REFRESH,
    )
    return [key(prefix, kind, user_id) for kind in kinds]
