"""The ``lake-compact`` job: erased users' rows physically removed from the lake's files, and
the features recomputed without them (docs/erasure.md)."""

from __future__ import annotations

from typing import Any

from recomind.jobs.features import catalogue_from, update_features
from recomind.jobs.runner import JobContext, job
from recomind.lake.compaction import compact


@job(
    "lake-compact",
    description="Rewrite the lake's event and impression files without the rows of erased "
    "users (tombstones hide them until then), then bring the features up to date.",
)
def lake_compact_job(ctx: JobContext) -> dict[str, Any]:
    settings = ctx.settings
    endpoint = settings.lake_s3_endpoint_url
    done = compact(settings.lake_url, s3_endpoint_url=endpoint)
    features = update_features(
        settings.lake_url, catalogue=catalogue_from(ctx), s3_endpoint_url=endpoint
    )
    return {
        "files_checked": done.files_checked,
        "files_rewritten": done.files_rewritten,
        "files_removed": done.files_removed,
        "rows_removed": done.rows_removed,
        "features_merged": features.merged,
    }
