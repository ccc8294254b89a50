"""The ranker that needs no model: tag affinity over a shared pool of popular and new videos.

:class:`TagAffinityRanker` answers until a model is published (and on its own where none
is configured); :class:`CandidatePool` is the per-process pool of candidates it scores.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import Connection

from recomind.config import Settings
from recomind.schemas import RecommendedVideo, Video, recommended
from recomind.serving.trending import compute_trending
from recomind.storage.actions import HistoryItem
from recomind.storage.profiles import ProfileRow
from recomind.storage.videos import get_videos, newest_videos


@dataclass
class CandidatePool:
    """Popular and new videos with their data, rebuilt every ``candidate_pool_ttl_s`` seconds.

    Shared by every request of this process, so a cache miss costs the user's own rows only.
    """

    settings: Settings
    size: int = 400
    _built_at: float = field(default=-1e18, init=False)
    _popularity: dict[str, float] = field(default_factory=dict, init=False)
    _videos: dict[str, Video] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def get(self, conn: Connection) -> tuple[dict[str, float], dict[str, Video]]:
        with self._lock:
            if time.monotonic() - self._built_at > self.settings.candidate_pool_ttl_s:
                trending = compute_trending(conn, settings=self.settings, limit=self.size)
                popularity = {t.video_id: t.score for t in trending}
                newest = newest_videos(conn, limit=self.size // 2)
                ids = list(popularity)
                ids += [v.video_id for v in newest if v.video_id not in popularity]
                self._videos = get_videos(conn, video_ids=ids)
                self._popularity = popularity
                self._built_at = time.monotonic()
            return self._popularity, self._videos

    def invalidate(self) -> None:
        with self._lock:
            self._built_at = -1e18


@dataclass
class TagAffinityRanker:
    """Trending blended with the user's liked tags: the service core's simple, real ranker.

    Candidates are the most popular and the newest videos; each scores its tag affinity with
    the user's profile (skipped tags count against) plus a share of normalised popularity.
    """

    settings: Settings
    popularity_share: float = 0.3
    pool: CandidatePool | None = None

    def rank(
        self,
        conn: Connection,
        *,
        user_id: str,
        history: list[HistoryItem],
        profile: ProfileRow | None,
        exclude: set[str],
        n: int,
    ) -> list[RecommendedVideo]:
        if self.pool is None:
            self.pool = CandidatePool(self.settings)
        pop, videos = self.pool.get(conn)
        top_pop = max(pop.values(), default=0.0) or 1.0
        weights = profile.tag_weights if profile else {}
        top_w = max((w for w in weights.values() if w > 0), default=1.0)
        scored: list[tuple[float, str, str]] = []
        for vid, v in videos.items():
            if vid in exclude:
                continue
            tag_scores = {t: weights.get(t, 0.0) / top_w for t in v.tags}
            affinity = sum(tag_scores.values()) / len(v.tags) if v.tags else 0.0
            score = affinity + self.popularity_share * max(pop.get(vid, 0.0), 0.0) / top_pop
            best = max(tag_scores, key=lambda t: tag_scores[t], default=None)
            if best is not None and tag_scores[best] > 0:
                reason = f"because you liked #{best}"
            elif vid in pop and pop[vid] > 0:
                reason = "trending now"
            else:
                reason = "new upload"
            scored.append((score, vid, reason))
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [recommended(videos[vid], s, r) for s, vid, r in scored[:n]]
