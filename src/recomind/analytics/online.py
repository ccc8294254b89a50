"""Online figures per source: like rate, skip rate and mean watch fraction per impression.

Each action joins to its impression: the newest page item showing that video to that user
served before the action (DuckDB's ``ASOF JOIN``), within ``window_s``. An impression's
outcome is what its user did with it (liked, skipped, viewed: any of them, each counted
once per impression); a source's figures are over its impressions. The source is what
ranked the list (``model:{version}``, ``tag-affinity``, ``trending``), so a model version's
figures on live traffic sit beside the model-free ranker's.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from recomind.analytics._duckdb import connect


def outcomes_ctes(impressions: str) -> str:
    """The ``joined`` and ``outcomes`` CTEs over the relation ``impressions``: each action
    joined to the newest impression before it (``$window_us``), then per impression whether
    it was liked, skipped and how much of it was watched. Shared by the experiment results."""
    return f"""
joined AS (
    SELECT i.request_id, i.position, e.action_type, e.watch_time_ms, d.duration_s
    FROM events e
    ASOF JOIN {impressions} i
      ON e.user_id = i.user_id AND e.video_id = i.video_id AND e.timestamp >= i.served_at
    LEFT JOIN durations d ON d.video_id = e.video_id
    WHERE e.timestamp - i.served_at <= to_microseconds(CAST($window_us AS BIGINT))
),
outcomes AS (
    SELECT request_id, position,
           bool_or(action_type = 'like') AS liked,
           bool_or(action_type = 'skip') AS skipped,
           max(CASE WHEN action_type = 'view' AND duration_s > 0 AND watch_time_ms IS NOT NULL
                    THEN least(watch_time_ms / 1000.0 / duration_s, 1.0) END) AS watched
    FROM joined GROUP BY request_id, position
)"""


_QUERY = (
    "WITH"
    + outcomes_ctes("impressions")
    + """
SELECT i.source,
       count(*) AS impressions,
       count(*) FILTER (WHERE o.liked) AS likes,
       count(*) FILTER (WHERE o.skipped) AS skips,
       avg(o.watched) AS mean_watch_fraction,
       count(o.watched) AS watched
FROM impressions i
LEFT JOIN outcomes o ON o.request_id = i.request_id AND o.position = i.position
GROUP BY i.source ORDER BY i.source
"""
)


@dataclass(frozen=True, slots=True)
class SourceFigures:
    """What users did with one source's impressions."""

    source: str
    impressions: int
    likes: int
    skips: int
    #: Mean share of the video watched (capped at 1) over impressions with a timed view.
    mean_watch_fraction: float | None
    watched: int

    @property
    def like_rate(self) -> float:
        return self.likes / self.impressions if self.impressions else 0.0

    @property
    def skip_rate(self) -> float:
        return self.skips / self.impressions if self.impressions else 0.0


def online_figures(
    impressions: pa.Table, events: pa.Table, durations: pa.Table, *, window_s: float
) -> list[SourceFigures]:
    """Figures per source.

    Parameters
    ----------
    impressions
        The served-list log (``lake.impressions.IMPRESSIONS`` columns).
    events
        Actions: ``user_id``, ``video_id``, ``action_type``, ``timestamp``, ``watch_time_ms``.
    durations
        ``video_id``, ``duration_s`` of the catalogue (for watch fractions).
    window_s
        How long after an impression an action still counts for it.
    """
    if impressions.num_rows == 0:
        return []
    con = connect()
    try:
        con.register("impressions", impressions)
        con.register("events", events)
        con.register("durations", durations)
        rows = con.execute(_QUERY, {"window_us": int(window_s * 1e6)}).fetchall()
    finally:
        con.close()
    return [
        SourceFigures(
            source=str(source),
            impressions=int(n),
            likes=int(likes),
            skips=int(skips),
            mean_watch_fraction=None if watch is None else float(watch),
            watched=int(watched),
        )
        for source, n, likes, skips, watch, watched in rows
    ]
