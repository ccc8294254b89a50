"""The cache's note of a user's recent actions (``recent:{user_id}``): how a member is
written and how the set is read back.

The API notes every accepted action at once, before any consumer has stored it, so the next
list excludes the video and counts the action. The note is a sorted set: a member is
``{action}:{video}``, scored by the unix time it was noted in whole microseconds (a repeat
only moves its time).
The times order the set (the next list follows the newest action) and decide which of a
video's likes and unlikes is the current state (the newest). The set keeps the newest
``recent_actions_keep`` members: older actions are in the database by then.
"""

from __future__ import annotations

from collections.abc import Mapping

from recomind.weights import TOGGLES


def member(action_type: str, video_id: str) -> str:
    """The set member of one action (scored by the time it was noted)."""
    return f"{action_type}:{video_id}"


def noted_videos(noted: Mapping[str, float]) -> set[str]:
    """The videos of ``recent`` members: never served to the user again."""
    return {m.partition(":")[2] for m in noted}


def recent_pairs(noted: Mapping[str, float]) -> list[tuple[str, str]]:
    """``(action_type, video_id)`` of ``recent`` members (``member -> time``), newest first.

    A video id may hold ``:``; the action never does. Malformed members are skipped.
    """
    parsed: list[tuple[float, str, str]] = []
    for m, at in noted.items():
        action, sep, video = m.partition(":")
        if sep and action and video:
            parsed.append((at, action, video))
    parsed.sort(key=lambda p: (-p[0], p[1], p[2]))
    return [(a, v) for _, a, v in parsed]


def current_pairs(noted: Mapping[str, float]) -> list[tuple[str, str]]:
    """:func:`recent_pairs` with, of each video's likes and unlikes, only the newest (the
    like state the user is in now)."""
    out: list[tuple[str, str]] = []
    toggled: set[str] = set()
    for kind, video in recent_pairs(noted):
        if kind in TOGGLES:
            if video in toggled:
                continue
            toggled.add(video)
        out.append((kind, video))
    return out
