"""Trending: videos by decayed popularity, topped up with the newest uploads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from recomind.config import Settings
from recomind.folds.popularity import score_at
from recomind.schemas import RecommendedVideo, recommended, utcnow
from recomind.storage.popularity import top_popularity
from recomind.storage.videos import get_videos, newest_videos


def compute_trending(
    conn: Connection, *, settings: Settings, limit: int, now: datetime | None = None
) -> list[RecommendedVideo]:
    """Videos by popularity decayed to ``now``; topped up with the newest uploads."""
    now = now or utcnow()
    half_life = settings.popularity_half_life_hours * 3600.0
    rows = top_popularity(conn, limit=max(3 * limit, 300))
    scored = sorted(
        ((score_at(r, now, half_life), r.video_id) for r in rows), key=lambda p: (-p[0], p[1])
    )
    chosen = [(s, vid) for s, vid in scored if s > 0][:limit]
    videos = get_videos(conn, video_ids=[vid for _, vid in chosen])
    out = [recommended(videos[vid], s, "trending now") for s, vid in chosen if vid in videos]
    if len(out) < limit:
        have = {i.video_id for i in out}
        for v in newest_videos(conn, limit=limit + len(have)):
            if v.video_id not in have and len(out) < limit:
                out.append(recommended(v, 0.0, "new upload"))
    return out


def top_up(
    items: list[RecommendedVideo], have: set[str], trending: list[RecommendedVideo], limit: int
) -> list[RecommendedVideo]:
    """Append ``trending`` items not in ``have`` to ``items`` (in place) up to ``limit``."""
    for t in trending:
        if len(items) >= limit:
            break
        if t.video_id not in have:
            items.append(t)
    return items
