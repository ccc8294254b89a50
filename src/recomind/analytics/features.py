"""Video and user features from the lake, as partial aggregates per hour partition and a merge.

:func:`partials` turns one hour partition (its events, its impressions and the catalogue's
``video_id, tags, creator_id, duration_s``) into four tables of *sums and counts*, never
rates, so partitions merge by adding them up; :func:`finalise` adds up any set of partials
and derives the features (:data:`FEATURES_VERSION`). Arrow tables in, Arrow tables out, DuckDB
SQL inside. ``docs/features.md`` describes every feature.

Per video: impressions (rows of the served-list log), likes, skips, views, smoothed like and
skip rates ``(likes + PRIOR_STRENGTH * global_like_rate) / (exposures + PRIOR_STRENGTH)``,
the mean watch fraction (capped at 1). Per user: tag and creator affinities (each action adds
its weight, :data:`ACTION_WEIGHTS` or a view's watch fraction, to every tag and to the creator
of its video), a 24-bin histogram of active hours (UTC) and the first and last time active.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

import pyarrow as pa

from recomind.analytics._duckdb import connect

#: Bump when a feature's definition changes: the job keeps each version under its own folder.
FEATURES_VERSION = 1
#: Pseudo-exposures of the prior: a video's rates start at the global rate and move towards
#: its own as its exposures grow past this many.
PRIOR_STRENGTH = 20.0
#: What one action adds to the user's affinity for each tag of the video and its creator. A
#: view adds the share of the video watched (capped at 1; nothing when unknown).
ACTION_WEIGHTS = MappingProxyType({"like": 1.0, "unlike": -1.0, "skip": -1.0})
#: Affinities kept per user (largest magnitude first).
TOP_AFFINITIES = 50

#: Where features live under the lake's root, and their files.
FOLDER = f"features/v{FEATURES_VERSION}"
VIDEOS_FILE = "videos.parquet"
USERS_FILE = "users.parquet"
MANIFEST_FILE = "manifest.json"
PARTIALS_FOLDER = "partials"

CATALOGUE = pa.schema(
    [
        pa.field("video_id", pa.string(), nullable=False),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("creator_id", pa.string()),
        pa.field("duration_s", pa.float64()),
    ]
)

#: The partial aggregates of a partition: sums and counts only.
VIDEO_PARTIALS = pa.schema(
    [
        pa.field("video_id", pa.string()),
        pa.field("impressions", pa.int64()),
        pa.field("actors", pa.int64()),  # distinct users acting on it within the hour
        pa.field("likers", pa.int64()),
        pa.field("unlikers", pa.int64()),
        pa.field("skippers", pa.int64()),
        pa.field("views", pa.int64()),
        pa.field("watch_sum", pa.float64()),
        pa.field("watch_n", pa.int64()),
    ]
)
USER_PARTIALS = pa.schema(
    [
        pa.field("user_id", pa.string()),
        pa.field("hour_of_day", pa.int64()),
        pa.field("events", pa.int64()),
        pa.field("likes", pa.int64()),
        pa.field("skips", pa.int64()),
        pa.field("views", pa.int64()),
        pa.field("first_at", pa.timestamp("us")),
        pa.field("last_at", pa.timestamp("us")),
    ]
)
AFFINITY_PARTIALS = pa.schema(
    [
        pa.field("user_id", pa.string()),
        pa.field("key", pa.string()),  # a tag or a creator id
        pa.field("score", pa.float64()),
        pa.field("actions", pa.int64()),
    ]
)

_SCORED = """
CREATE TEMP TABLE scored AS
WITH ev AS (
    SELECT * FROM events
    QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY timestamp) = 1
)
SELECT e.user_id, e.video_id, e.action_type, e.timestamp, c.tags, c.creator_id, wf,
       CASE e.action_type WHEN 'like' THEN $like WHEN 'unlike' THEN $unlike
            WHEN 'skip' THEN $skip WHEN 'view' THEN coalesce(wf, 0.0) ELSE 0.0 END AS weight
FROM ev e
LEFT JOIN catalogue c ON c.video_id = e.video_id,
LATERAL (SELECT CASE WHEN e.action_type = 'view' AND c.duration_s > 0
                          AND e.watch_time_ms IS NOT NULL
                     THEN least(e.watch_time_ms / 1000.0 / c.duration_s, 1.0) END AS wf)
"""

_VIDEO_PARTIALS = """
SELECT video_id, sum(impressions)::BIGINT AS impressions, sum(actors)::BIGINT AS actors,
       sum(likers)::BIGINT AS likers, sum(unlikers)::BIGINT AS unlikers,
       sum(skippers)::BIGINT AS skippers, sum(views)::BIGINT AS views,
       sum(watch_sum)::DOUBLE AS watch_sum, sum(watch_n)::BIGINT AS watch_n
FROM (
    SELECT video_id, count(*) AS impressions, 0 AS actors, 0 AS likers, 0 AS unlikers,
           0 AS skippers, 0 AS views, 0.0 AS watch_sum, 0 AS watch_n
    FROM impressions GROUP BY video_id
    UNION ALL
    SELECT video_id, 0, count(DISTINCT user_id),
           count(DISTINCT user_id) FILTER (WHERE action_type = 'like'),
           count(DISTINCT user_id) FILTER (WHERE action_type = 'unlike'),
           count(DISTINCT user_id) FILTER (WHERE action_type = 'skip'),
           count(*) FILTER (WHERE action_type = 'view'),
           coalesce(sum(wf), 0.0), count(wf)
    FROM scored GROUP BY video_id
) GROUP BY video_id ORDER BY video_id
"""

_USER_PARTIALS = """
SELECT user_id, hour(timestamp)::BIGINT AS hour_of_day, count(*)::BIGINT AS events,
       count(*) FILTER (WHERE action_type = 'like')::BIGINT AS likes,
       count(*) FILTER (WHERE action_type = 'skip')::BIGINT AS skips,
       count(*) FILTER (WHERE action_type = 'view')::BIGINT AS views,
       min(timestamp) AS first_at, max(timestamp) AS last_at
FROM scored GROUP BY ALL ORDER BY user_id, hour_of_day
"""

_TAG_PARTIALS = """
SELECT user_id, tag AS key, sum(weight)::DOUBLE AS score, count(*)::BIGINT AS actions
FROM (SELECT user_id, weight, unnest(tags) AS tag FROM scored WHERE tags IS NOT NULL)
GROUP BY ALL ORDER BY user_id, key
"""

_CREATOR_PARTIALS = """
SELECT user_id, creator_id AS key, sum(weight)::DOUBLE AS score, count(*)::BIGINT AS actions
FROM scored WHERE creator_id IS NOT NULL GROUP BY ALL ORDER BY user_id, key
"""


@dataclass(frozen=True, slots=True)
class Partials:
    """The partial aggregates of one or more partitions (merge with :func:`concat`)."""

    videos: pa.Table
    users: pa.Table
    tags: pa.Table
    creators: pa.Table

    @classmethod
    def empty(cls) -> Partials:
        return cls(
            VIDEO_PARTIALS.empty_table(),
            USER_PARTIALS.empty_table(),
            AFFINITY_PARTIALS.empty_table(),
            AFFINITY_PARTIALS.empty_table(),
        )


def concat(parts: list[Partials]) -> Partials:
    """Partials of several partitions side by side (:func:`finalise` adds them up)."""
    if not parts:
        return Partials.empty()
    return Partials(
        pa.concat_tables([p.videos for p in parts]),
        pa.concat_tables([p.users for p in parts]),
        pa.concat_tables([p.tags for p in parts]),
        pa.concat_tables([p.creators for p in parts]),
    )


def partials(*, events: pa.Table, impressions: pa.Table, catalogue: pa.Table) -> Partials:
    """The partial aggregates of one partition.

    Parameters
    ----------
    events
        The partition's events (``lake.schema.EVENTS`` columns; duplicates of an
        ``event_id`` count once).
    impressions
        The partition's served-list rows (at least ``video_id``).
    catalogue
        :data:`CATALOGUE` rows of (at least) the videos acted on.
    """
    con = connect(threads=1)  # an hour is small: one thread is plenty
    try:
        con.register("events", events)
        con.register("impressions", impressions.select(["video_id"]))
        con.register("catalogue", catalogue.select(CATALOGUE.names).cast(CATALOGUE))
        con.execute(_SCORED, dict(ACTION_WEIGHTS))
        return Partials(
            con.sql(_VIDEO_PARTIALS).to_arrow_table().cast(VIDEO_PARTIALS),
            con.sql(_USER_PARTIALS).to_arrow_table().cast(USER_PARTIALS),
            con.sql(_TAG_PARTIALS).to_arrow_table().cast(AFFINITY_PARTIALS),
            con.sql(_CREATOR_PARTIALS).to_arrow_table().cast(AFFINITY_PARTIALS),
        )
    finally:
        con.close()


_VIDEOS = """
WITH v AS (
    SELECT video_id, sum(impressions)::BIGINT AS impressions,
           greatest(sum(impressions), sum(actors))::BIGINT AS exposures,
           greatest(sum(likers) - sum(unlikers), 0)::BIGINT AS likes,
           sum(skippers)::BIGINT AS skips, sum(views)::BIGINT AS views,
           sum(watch_sum) AS watch_sum, sum(watch_n)::BIGINT AS watched_views
    FROM video_partials GROUP BY video_id
),
g AS (
    SELECT coalesce(sum(likes) / nullif(sum(exposures), 0), 0.0) AS like_rate,
           coalesce(sum(skips) / nullif(sum(exposures), 0), 0.0) AS skip_rate
    FROM v
)
SELECT v.video_id, v.impressions, v.exposures, v.likes, v.skips, v.views, v.watched_views,
       (v.likes + $a * g.like_rate) / (v.exposures + $a) AS like_rate,
       (v.skips + $a * g.skip_rate) / (v.exposures + $a) AS skip_rate,
       CASE WHEN v.watched_views > 0 THEN least(v.watch_sum / v.watched_views, 1.0) END
           AS mean_watch_fraction,
       g.like_rate AS global_like_rate, g.skip_rate AS global_skip_rate
FROM v, g ORDER BY v.video_id
"""

_USERS = """
WITH u AS (
    SELECT user_id, sum(events)::BIGINT AS events, sum(likes)::BIGINT AS likes,
           sum(skips)::BIGINT AS skips, sum(views)::BIGINT AS views,
           min(first_at) AS first_active_at, max(last_at) AS last_active_at
    FROM user_partials GROUP BY user_id
),
hod AS (SELECT user_id, hour_of_day, sum(events) AS n FROM user_partials GROUP BY ALL),
hist AS (
    SELECT u.user_id, list(coalesce(hod.n, 0)::BIGINT ORDER BY r.h) AS active_hours
    FROM u CROSS JOIN range(24) r(h)
    LEFT JOIN hod ON hod.user_id = u.user_id AND hod.hour_of_day = r.h
    GROUP BY u.user_id
),
summed AS (
    SELECT kind, user_id, key, sum(score) AS score, sum(actions)::BIGINT AS actions
    FROM (SELECT 'tag' AS kind, * FROM tag_partials
          UNION ALL SELECT 'creator' AS kind, * FROM creator_partials)
    GROUP BY ALL
),
aff AS (
    SELECT * FROM summed
    QUALIFY row_number() OVER (PARTITION BY kind, user_id ORDER BY abs(score) DESC, key) <= $k
),
lists AS (
    SELECT user_id,
           list({'key': key, 'score': score, 'actions': actions} ORDER BY score DESC, key)
               FILTER (WHERE kind = 'tag') AS tag_affinity,
           list({'key': key, 'score': score, 'actions': actions} ORDER BY score DESC, key)
               FILTER (WHERE kind = 'creator') AS creator_affinity
    FROM aff GROUP BY user_id
)
SELECT u.*, epoch(CAST($now AS TIMESTAMP) - u.last_active_at)::DOUBLE AS recency_s,
       hist.active_hours,
       coalesce(lists.tag_affinity, []) AS tag_affinity,
       coalesce(lists.creator_affinity, []) AS creator_affinity
FROM u JOIN hist USING (user_id) LEFT JOIN lists USING (user_id)
ORDER BY u.user_id
"""

_AFFINITY = pa.list_(
    pa.struct([("key", pa.string()), ("score", pa.float64()), ("actions", pa.int64())])
)
VIDEOS = pa.schema(
    [
        pa.field("video_id", pa.string()),
        pa.field("impressions", pa.int64()),
        pa.field("exposures", pa.int64()),
        pa.field("likes", pa.int64()),
        pa.field("skips", pa.int64()),
        pa.field("views", pa.int64()),
        pa.field("watched_views", pa.int64()),
        pa.field("like_rate", pa.float64()),
        pa.field("skip_rate", pa.float64()),
        pa.field("mean_watch_fraction", pa.float64()),
        pa.field("global_like_rate", pa.float64()),
        pa.field("global_skip_rate", pa.float64()),
        pa.field("version", pa.int32()),
        pa.field("generated_at", pa.timestamp("us")),
    ]
)
USERS = pa.schema(
    [
        pa.field("user_id", pa.string()),
        pa.field("events", pa.int64()),
        pa.field("likes", pa.int64()),
        pa.field("skips", pa.int64()),
        pa.field("views", pa.int64()),
        pa.field("first_active_at", pa.timestamp("us")),
        pa.field("last_active_at", pa.timestamp("us")),
        pa.field("recency_s", pa.float64()),
        pa.field("active_hours", pa.list_(pa.int64())),
        pa.field("tag_affinity", _AFFINITY),
        pa.field("creator_affinity", _AFFINITY),
        pa.field("version", pa.int32()),
        pa.field("generated_at", pa.timestamp("us")),
    ]
)


def _stamp(table: pa.Table, schema: pa.Schema, now: datetime) -> pa.Table:
    n = table.num_rows
    table = table.append_column("version", pa.array([FEATURES_VERSION] * n, pa.int32()))
    table = table.append_column("generated_at", pa.array([now] * n, pa.timestamp("us")))
    return table.cast(schema)


def finalise(merged: Partials, *, now: datetime) -> tuple[pa.Table, pa.Table]:
    """Add up ``merged`` (the partials of every partition) into ``(videos, users)``
    (:data:`VIDEOS`, :data:`USERS`); ``now`` (naive UTC) stamps them and dates recency."""
    con = connect()
    try:
        con.register("video_partials", merged.videos)
        con.register("user_partials", merged.users)
        con.register("tag_partials", merged.tags)
        con.register("creator_partials", merged.creators)
        videos = con.sql(_VIDEOS, params={"a": PRIOR_STRENGTH}).to_arrow_table()
        users = con.sql(_USERS, params={"now": now, "k": TOP_AFFINITIES}).to_arrow_table()
    finally:
        con.close()
    return _stamp(videos, VIDEOS, now), _stamp(users, USERS, now)
