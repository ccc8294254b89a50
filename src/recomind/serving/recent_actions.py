"""The cache's note of a user's recent actions (``recent_actions:{user_id}``): how a member is
written and how the set is read back.

The API notes every accepted action at once, before any consumer has stored it, so the next
list excludes the video and counts the action. A member is ``{unix time}:{action}:{video}``:
the time orders the set (the next list follows the newest action) and decides which of a
video's likes and unlikes is the current state (the newest).
"""

from __future__ import annotations

from collections.abc import Iterable

from recomind.weights import TOGGLES


def member(at: float, action_type: str, video_id: str) -> str:
    """The set member of one action noted at unix time ``at``."""
    return f"{at:.6f}:{action_type}:{video_id}"


def recent_pairs(members: Iterable[str]) -> list[tuple[str, str]]:
    """``(action_type, video_id)`` of ``recent_actions`` members, newest first, each once.

    A member is ``{unix time}:{action_type}:{video_id}`` (a video id may hold ``:``); one
    written before times were noted (``{action_type}:{video_id}``) counts as oldest.
    """
    parsed: list[tuple[float, str, str]] = []
    for m in members:
        head, _, rest = m.partition(":")
        try:
            at = float(head)
        except ValueError:
            at, rest = float("-inf"), m
        action, sep, video = rest.partition(":")
        if sep and action and video:
            parsed.append((at, action, video))
    parsed.sort(key=lambda p: (-p[0], p[1], p[2]))
    return list(dict.fromkeys((a, v) for _, a, v in parsed))


def current_pairs(members: Iterable[str]) -> list[tuple[str, str]]:
    """:func:`recent_pairs` with, of each video's likes and unlikes, only the newest (the
    like state the user is in now)."""
    out: list[tuple[str, str]] = []
    toggled: set[str] = set()
    for kind, video in recent_pairs(members):
        if kind in TOGGLES:
            if video in toggled:
                continue
            toggled.add(video)
        out.append((kind, video))
    return out
