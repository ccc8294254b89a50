"""What a user's newest actions say, and the share of a page kept for exploration.

A profile (``user_profiles``) is the long-term taste, decayed by the clock. The page after an
action must follow *that* action, so both rankers also read the **recent taste**
(:func:`recent_taste`): the newest distinct videos of the user's history, each with the net
weight of the user's actions on it (:meth:`recomind.config.Settings.action_weight`: a like
and its unlike cancel out, a skip counts against), multiplied by its recency
(:func:`recomind.recommend.recency.factors` over positions among those videos, half-life
:data:`HALF_LIFE`: the newest counts most), spread over the video's tags (as the profile fold
does) and given to its creator.

:func:`explore` keeps every ``explore_every``-th place of a personal list (the 5th, 10th, ...
with the default 5, i.e. 20 %) for an item from elsewhere: none of its tags is one the user
showed a taste for (or skipped), and its creator is not one they liked.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from recomind.config import Settings
from recomind.recommend.recency import factors
from recomind.schemas import ACTION_TYPES, RecommendedVideo, Video
from recomind.storage.actions import HistoryItem

#: Newest distinct videos of a history that make the recent taste.
DEPTH = 30
#: Recency half-life of the recent taste, in videos (the hybrid's history rows use 2 too).
HALF_LIFE = 2.0
#: What the oldest of those videos still count (a share of the newest's weight).
FLOOR = 0.05
#: Newest positively acted videos whose tags and creators seed follow-up candidates.
SEEDS = 3


def positive_action_types(settings: Settings) -> list[str]:
    """Action types whose weight is positive (what "watched or liked" means)."""
    out = []
    for t in ACTION_TYPES:
        try:
            if settings.action_weight(t) > 0:
                out.append(t)
        except KeyError:  # a type this deployment gives no weight
            continue
    return out


@dataclass(frozen=True)
class Taste:
    """A user's recent taste.

    Attributes
    ----------
    tags, creators
        Recency-weighted net action weight per tag / creator (negative: skipped).
    positive
        The recent videos with a positive net weight, newest first.
    """

    tags: dict[str, float]
    creators: dict[str, float]
    positive: list[Video]

    @cached_property
    def _top_tag(self) -> float:
        return max((abs(w) for w in self.tags.values()), default=0.0)

    @cached_property
    def _top_creator(self) -> float:
        return max((abs(w) for w in self.creators.values()), default=0.0)

    @property
    def seeds(self) -> list[Video]:
        """The newest positively acted videos (what the next page follows)."""
        return self.positive[:SEEDS]

    def tag_affinity(self, tags: Sequence[str]) -> float:
        """Mean of the item's tags' weights over the largest absolute weight (``[-1, 1]``)."""
        top = self._top_tag
        if not tags or top <= 0:
            return 0.0
        return sum(self.tags.get(t, 0.0) for t in tags) / len(tags) / top

    def creator_affinity(self, creator_id: str | None) -> float:
        """The creator's weight over the largest absolute creator weight (``[-1, 1]``)."""
        top = self._top_creator
        if not creator_id or top <= 0:
            return 0.0
        return self.creators.get(creator_id, 0.0) / top

    def best_tag(self, tags: Sequence[str]) -> str | None:
        """The item's tag with the highest positive weight (``None``: none positive)."""
        best = max(tags, key=lambda t: self.tags.get(t, 0.0), default=None)
        return best if best is not None and self.tags.get(best, 0.0) > 0 else None

    def liked_by(self, creator_id: str | None) -> Video | None:
        """The newest positively acted video of ``creator_id``."""
        if not creator_id:
            return None
        return next((v for v in self.positive if v.creator_id == creator_id), None)


def recent_ids(history: Sequence[HistoryItem], depth: int = DEPTH) -> list[str]:
    """The newest ``depth`` distinct video ids of a history (newest first)."""
    out: dict[str, None] = {}
    for h in history:
        if len(out) >= depth:
            break
        out.setdefault(h.video_id)
    return list(out)


def recent_taste(
    history: Sequence[HistoryItem],
    videos: Mapping[str, Video],
    *,
    settings: Settings,
    depth: int = DEPTH,
) -> Taste:
    """The recent taste of a history (newest first); ``videos`` holds its videos' rows
    (videos missing there, e.g. deleted, take their recency place but add nothing)."""
    net: dict[str, float] = {}
    for h in history:
        if h.video_id not in net:
            if len(net) >= depth:
                continue
            net[h.video_id] = 0.0
        video = videos.get(h.video_id)
        try:
            w = settings.action_weight(
                h.action_type, h.watch_time_ms, video.duration_s if video else None
            )
        except KeyError:  # an action type this deployment gives no weight
            continue
        if math.isfinite(w):
            net[h.video_id] += w
    recency = factors(range(len(net)), HALF_LIFE, FLOOR)
    tags: dict[str, float] = {}
    creators: dict[str, float] = {}
    positive: list[Video] = []
    for (video_id, w), r in zip(net.items(), recency.tolist(), strict=True):
        video = videos.get(video_id)
        if video is None or w == 0:
            continue
        weight = w * r
        for t in video.tags:
            tags[t] = tags.get(t, 0.0) + weight / len(video.tags)
        if video.creator_id:
            creators[video.creator_id] = creators.get(video.creator_id, 0.0) + weight
        if w > 0:
            positive.append(video)
    return Taste(tags, creators, positive)


def popular_reason(
    v: Video | RecommendedVideo, pop: Mapping[str, float], *, new: str = "new upload in"
) -> str:
    """What the item has: ``popular in #tag`` (its first tag) when it has popularity, else
    ``{new} #tag``; ``trending now`` / ``new upload`` without tags."""
    popular = pop.get(v.video_id, 0.0) > 0
    if not v.tags:
        return "trending now" if popular else "new upload"
    return f"popular in #{v.tags[0]}" if popular else f"{new} #{v.tags[0]}"


def evidence_reason(item: Video | RecommendedVideo, taste: Taste, pop: Mapping[str, float]) -> str:
    """A reason with evidence: a tag of the item the user liked or watched, else the creator
    of a video they liked or watched, else what the item has (:func:`popular_reason`)."""
    tag = taste.best_tag(item.tags)
    if tag is not None:
        return f"because you liked #{tag}"
    liked = taste.liked_by(item.creator_id)
    if liked is not None:
        return f"more from the creator of {liked.title}"
    return popular_reason(item, pop, new="something different:")


#: Reasons naming a tag the item must have: the text before ``#``.
_ITEM_TAG_REASONS = ("popular in #", "new upload in #", "something different: #")
#: Reasons naming a video the user liked or watched: the text around its title.
_TITLE_REASONS = (("viewers of ", " also liked"), ("because you watched ", ""))


def reason_holds(item: RecommendedVideo, taste: Taste, pop: Mapping[str, float]) -> bool:
    """Whether ``item.reason`` names something the item has or the user did (in ``taste``):
    a tag it has, a tag or video the user liked or watched, a creator of such a video, or
    its popularity (``pop``: what this process knows to be popular)."""
    reason = item.reason
    claims_popular = reason.startswith("popular in #") or reason == "trending now"
    if claims_popular and pop.get(item.video_id, 0.0) <= 0:
        return False
    titles = {v.title for v in taste.positive}
    if reason.startswith("because you liked #"):
        tag = reason.removeprefix("because you liked #")
        return tag in item.tags and taste.tags.get(tag, 0.0) > 0
    if reason.startswith("more from the creator of "):
        title = reason.removeprefix("more from the creator of ")
        return any(v.title == title and v.creator_id == item.creator_id for v in taste.positive)
    for prefix in _ITEM_TAG_REASONS:
        if reason.startswith(prefix):
            return reason.removeprefix(prefix) in item.tags
    for prefix, suffix in _TITLE_REASONS:
        if reason.startswith(prefix) and reason.endswith(suffix):
            return reason[len(prefix) : len(reason) - len(suffix)] in titles
    if reason == "picked for you":
        return not item.tags
    return reason in ("trending now", "new upload")


def elsewhere(
    taste: Taste, profile_weights: Mapping[str, float]
) -> Callable[[RecommendedVideo], bool]:
    """Whether an item is from elsewhere: none of its tags has a recent or profile weight
    (liked, watched or skipped) and its creator has no positive recent weight."""
    known = {t for t, w in taste.tags.items() if w != 0}
    known |= {t for t, w in profile_weights.items() if w != 0}
    liked_creators = {c for c, w in taste.creators.items() if w > 0}

    def check(item: RecommendedVideo) -> bool:
        return known.isdisjoint(item.tags) and item.creator_id not in liked_creators

    return check


def explore(
    items: Sequence[RecommendedVideo],
    others: Iterable[RecommendedVideo],
    *,
    every: int,
    is_elsewhere: Callable[[RecommendedVideo], bool],
) -> list[RecommendedVideo]:
    """``items`` with every ``every``-th place (1-based: ``every``, ``2 * every``, ...) taken
    by the best item from elsewhere, from ``items`` itself or else ``others`` (best first).

    The list keeps its length; the items pushed down keep their order. ``every <= 0`` or
    nothing from elsewhere leaves ``items`` as they are.
    """
    if every <= 0 or len(items) < every:
        return list(items)
    used: set[str] = set()

    def unused(source: Iterable[RecommendedVideo], test: bool) -> Iterator[RecommendedVideo]:
        for i in source:  # lazily: ``others`` may be long
            if i.video_id not in used and (not test or is_elsewhere(i)):
                yield i

    explored = unused(itertools.chain(items, others), True)
    main = unused(items, False)
    out: list[RecommendedVideo] = []
    while len(out) < len(items):
        item: RecommendedVideo | None = None
        if (len(out) + 1) % every == 0:
            item = next(explored, None)
        if item is None:
            item = next(main, None)
        if item is None:
            break
        used.add(item.video_id)
        out.append(item)
    return out
