"""The ``online-figures`` job: like rate, skip rate and mean watch fraction per source (model
version), from the served-list log joined to the event lake (:mod:`recomind.analytics.online`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from recomind.analytics.online import online_figures
from recomind.jobs.runner import JobContext, job
from recomind.lake.impressions import read_impressions
from recomind.lake.reader import read_table
from recomind.serving.online_figures import store_figures
from recomind.storage.engine import read_tx
from recomind.storage.videos import get_videos

#: How long after an impression an action still counts for it.
WINDOW_S = 86_400.0


@job(
    "online-figures",
    description="Like rate, skip rate and watch fraction per source (model version), from "
    "the served-list log joined to the event lake.",
)
def online_figures_job(ctx: JobContext) -> dict[str, Any]:
    settings = ctx.settings
    endpoint = settings.lake_s3_endpoint_url
    impressions = read_impressions(settings.lake_url, s3_endpoint_url=endpoint)
    if impressions.num_rows == 0:
        return {"impressions": 0, "sources": 0}
    events = read_table(settings.lake_url, s3_endpoint_url=endpoint)
    first = pc.min(impressions.column("served_at")).as_py()
    events = events.filter(pc.greater_equal(events.column("timestamp"), pa.scalar(first)))
    shown = pc.unique(impressions.column("video_id")).to_pylist()
    with read_tx(ctx.engine) as conn:
        videos = get_videos(conn, video_ids=shown)
    durations = pa.table(
        {
            "video_id": pa.array(list(videos), pa.string()),
            "duration_s": pa.array([v.duration_s for v in videos.values()], pa.float64()),
        }
    )
    figures = online_figures(impressions, events, durations, window_s=WINDOW_S)
    if ctx.service is not None:
        store_figures(ctx.service.cache, settings, figures)
    return {
        "impressions": impressions.num_rows,
        "events": events.num_rows,
        "since": (first - timedelta(0)).isoformat(),
        "sources": {f.source: round(f.like_rate, 4) for f in figures},
    }
