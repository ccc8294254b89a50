"""The ``features`` job: per-video and per-user features from the lake, incrementally.

Each hour partition of the lake (events under ``dt=…/hour=…``, impressions under
``impressions/dt=…/hour=…``) gets its partial aggregates (:func:`recomind.analytics.features.
partials`) under ``{lake_url}/features/v1/partials/dt=…/hour=…/``. The partials' manifest
(``partials/manifest.json``) keeps, per partition, the source files it was computed from
and their sizes: a run computes only the partitions that are new, whose files changed (the
open hour gains a file, a file is rewritten) or whose partials are missing, and drops the
partials of partitions gone from the lake. It then adds every partial up into
``videos.parquet`` and ``users.parquet`` and writes ``manifest.json`` last (what serving
watches: :mod:`recomind.serving.features`). Nothing changed: nothing is written.

The catalogue (tags, creator, duration) is read for the videos of the partitions computed,
as it is then: a later edit of a video's tags reaches older partitions only with a rebuild
(``rebuild=True``, or deleting ``partials/``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from recomind.analytics.features import (
    AFFINITY_PARTIALS,
    CATALOGUE,
    FEATURES_VERSION,
    FOLDER,
    MANIFEST_FILE,
    PARTIALS_FOLDER,
    USER_PARTIALS,
    USERS_FILE,
    VIDEO_PARTIALS,
    VIDEOS_FILE,
    Partials,
    finalise,
    partials,
)
from recomind.jobs.runner import JobContext, job
from recomind.lake.fs import open_lake
from recomind.lake.impressions import FOLDER as IMPRESSIONS_FOLDER
from recomind.lake.impressions import IMPRESSIONS
from recomind.lake.schema import EVENTS
from recomind.lake.tombstones import Tombstones, load
from recomind.schemas import utcnow
from recomind.storage.engine import read_tx
from recomind.storage.videos import get_videos

#: The catalogue of some videos: ``catalogue(video_ids)`` gives their :data:`CATALOGUE` rows.
Catalogue = Callable[[Sequence[str]], pa.Table]
#: A partition's sources: ``{"events": {path: stamp}, "impressions": {path: stamp}}``, paths
#: relative to the lake's root, stamps :func:`_stamp`.
Sources = dict[str, dict[str, str]]

_PARTS = {
    "videos": VIDEO_PARTIALS,
    "users": USER_PARTIALS,
    "tags": AFFINITY_PARTIALS,
    "creators": AFFINITY_PARTIALS,
}

#: The tombstones' digest of a lake without any (a manifest from before tombstones).
_NO_TOMBSTONES = Tombstones().digest

#: Files of partials written at once (a first run over a long history holds no more).
_WRITE_BATCH = 256


@dataclass(frozen=True, slots=True)
class FeatureUpdate:
    """What one run did."""

    computed: list[str]
    kept: int
    dropped: list[str]
    merged: bool
    videos: int
    users: int


def _partition_of(rel: str) -> str | None:
    """``dt=…/hour=…`` of a file path relative to its table's root, ``None`` when it has none."""
    parts = rel.split("/")
    if len(parts) == 3 and parts[0].startswith("dt=") and parts[1].startswith("hour="):
        return f"{parts[0]}/{parts[1]}"
    return None


def _stamp(info: dict[str, Any]) -> str:
    """What says a file changed: its size, and its ETag (S3: a hash of the content) or its
    modification time (a local disk)."""
    tag = info.get("ETag") or info.get("etag") or info.get("mtime") or ""
    return f"{int(info.get('size') or 0)}:{str(tag).strip(chr(34))}"


def list_sources(fs: Any, root: str) -> dict[str, Sources]:
    """Every hour partition of the lake with its event and impression files' stamps."""
    out: dict[str, Sources] = {}
    if not fs.exists(root):
        return out
    for path, info in fs.find(root, detail=True).items():
        rel = str(path)[len(root) :].lstrip("/")
        if not rel.endswith(".parquet") or "/.tmp-" in f"/{rel}":
            continue
        kind = "events"
        if rel.startswith(f"{IMPRESSIONS_FOLDER}/"):
            kind, rel_in = "impressions", rel[len(IMPRESSIONS_FOLDER) + 1 :]
        else:
            rel_in = rel
        key = _partition_of(rel_in)
        if key is None:
            continue  # features/, or anything else of the lake's
        entry = out.setdefault(key, {"events": {}, "impressions": {}})
        entry[kind][rel] = _stamp(info)
    return out


def _read(fs: Any, root: str, files: Sequence[str], schema: pa.Schema) -> pa.Table:
    if not files:
        return schema.empty_table()
    paths = [f"{root}/{f}" for f in files]
    blobs = fs.cat(paths)  # one GET per file, concurrent on an object store
    return pa.concat_tables(
        [pq.read_table(pa.BufferReader(blobs[p]), schema=schema) for p in paths]
    )


def _parquet(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    data: bytes = sink.getvalue().to_pybytes()
    return data


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, indent=1, sort_keys=True).encode()


def _put(fs: Any, blobs: dict[str, bytes], *, local: bool) -> None:
    """Write files: each aside and renamed on a local disk (a reader never sees half a
    file); on an object store all at once (a PUT each, concurrent, each atomic)."""
    if not local:
        if blobs:
            fs.pipe(blobs)
        return
    for path, data in blobs.items():
        directory = path.rsplit("/", 1)[0]
        fs.makedirs(directory, exist_ok=True)
        tmp = f"{directory}/.tmp-{uuid.uuid4().hex}"
        with fs.open(tmp, "wb") as fh:
            fh.write(data)
        fs.mv(tmp, path)


def _read_json(fs: Any, path: str) -> dict[str, Any] | None:
    if not fs.exists(path):
        return None
    with fs.open(path, "rb") as fh:
        data: dict[str, Any] = json.loads(fh.read())
    return data


def _compute(
    fs: Any, root: str, sources: Sources, catalogue: Catalogue, stones: Tombstones
) -> Partials:
    # Erased users and taken-down videos never reach features (docs/erasure.md).
    events = stones.keep(_read(fs, root, sorted(sources["events"]), EVENTS), taken_down=True)
    impressions = stones.keep(
        _read(fs, root, sorted(sources["impressions"]), IMPRESSIONS), taken_down=True
    )
    acted = sorted(set(events.column("video_id").to_pylist()))
    return partials(events=events, impressions=impressions, catalogue=catalogue(acted))


def update_features(
    url: str,
    *,
    catalogue: Catalogue,
    s3_endpoint_url: str | None = None,
    now: datetime | None = None,
    rebuild: bool = False,
) -> FeatureUpdate:
    """Bring the lake's features up to date (see the module's docstring).

    Parameters
    ----------
    url
        The lake (``file://…`` or ``s3://…``).
    catalogue
        The catalogue rows of the given video ids.
    now
        Naive UTC time stamped on the features (default: the clock).
    rebuild
        Recompute every partition.
    """
    fs, root = open_lake(url, s3_endpoint_url=s3_endpoint_url)
    local = url.startswith("file://")
    home = f"{root}/{FOLDER}"
    parts_root = f"{home}/{PARTIALS_FOLDER}"
    manifest_path = f"{parts_root}/{MANIFEST_FILE}"
    fs.invalidate_cache(root)  # an object store's listings are cached per process
    current = list_sources(fs, root)
    stones = load(fs, root)
    known: dict[str, Sources] = {}
    if not rebuild:
        previous = _read_json(fs, manifest_path) or {}
        if previous.get("tombstones", _NO_TOMBSTONES) == stones.digest:  # else: recompute all
            known = previous.get("partitions", {})
    present = {
        str(p)[len(parts_root) :].lstrip("/")
        for p in (fs.find(parts_root) if fs.exists(parts_root) else [])
    }

    def complete(key: str) -> bool:
        return all(f"{key}/{name}.parquet" in present for name in _PARTS)

    if not current and not known:
        return FeatureUpdate([], 0, [], False, 0, 0)  # an empty lake: nothing to write
    todo = sorted(k for k, s in current.items() if known.get(k) != s or not complete(k))
    on_disk = {"/".join(p.split("/")[:2]) for p in present if p.startswith("dt=")}
    gone = sorted((set(known) | on_disk) - set(current))
    blobs: dict[str, bytes] = {}
    for key in todo:
        computed = _compute(fs, root, current[key], catalogue, stones)
        for name in _PARTS:
            blobs[f"{parts_root}/{key}/{name}.parquet"] = _parquet(getattr(computed, name))
        if len(blobs) >= _WRITE_BATCH:
            _put(fs, blobs, local=local)
            blobs.clear()
    _put(fs, blobs, local=local)
    for key in gone:
        if fs.exists(f"{parts_root}/{key}"):
            fs.rm(f"{parts_root}/{key}", recursive=True)
    final_manifest = f"{home}/{MANIFEST_FILE}"
    if not todo and not gone and fs.exists(final_manifest):
        return FeatureUpdate([], len(current), [], False, 0, 0)
    keys = sorted(current)
    merged = Partials(
        *(
            _read(fs, parts_root, [f"{k}/{name}.parquet" for k in keys], schema)
            for name, schema in _PARTS.items()
        )
    )
    stamp = now or utcnow()
    videos, users = finalise(merged, now=stamp)
    outputs = {f"{home}/{VIDEOS_FILE}": _parquet(videos), f"{home}/{USERS_FILE}": _parquet(users)}
    _put(fs, outputs, local=local)
    summary = {
        "version": FEATURES_VERSION,
        "generated_at": stamp.isoformat(),
        "partitions": keys,
        "videos": videos.num_rows,
        "users": users.num_rows,
    }
    _put(fs, {final_manifest: _json(summary)}, local=local)  # what serving watches
    # Last: a run that stops before this point is redone by the next one.
    partitions = {
        "version": FEATURES_VERSION,
        "partitions": current,
        "tombstones": stones.digest,
    }
    _put(fs, {manifest_path: _json(partitions)}, local=local)
    return FeatureUpdate(
        todo, len(current) - len(todo), gone, True, videos.num_rows, users.num_rows
    )


def catalogue_from(ctx: JobContext) -> Catalogue:
    def catalogue(video_ids: Sequence[str]) -> pa.Table:
        rows: list[dict[str, Any]] = []
        with read_tx(ctx.engine) as conn:
            for i in range(0, len(video_ids), 1000):
                found = get_videos(conn, video_ids=list(video_ids[i : i + 1000]))
                rows.extend(
                    {
                        "video_id": v.video_id,
                        "tags": list(v.tags),
                        "creator_id": v.creator_id,
                        "duration_s": v.duration_s,
                    }
                    for v in found.values()
                )
        return pa.Table.from_pylist(rows, schema=CATALOGUE)

    return catalogue


@job(
    "features",
    description="Per-video and per-user features from the lake (impressions, smoothed like "
    "and skip rates, watch fraction; tag and creator affinities, active hours, recency), "
    "recomputing only the hour partitions that changed.",
)
def features_job(ctx: JobContext) -> dict[str, Any]:
    settings = ctx.settings
    done = update_features(
        settings.lake_url,
        catalogue=catalogue_from(ctx),
        s3_endpoint_url=settings.lake_s3_endpoint_url,
    )
    return {
        "computed": len(done.computed),
        "kept": done.kept,
        "dropped": len(done.dropped),
        "merged": done.merged,
        "videos": done.videos,
        "users": done.users,
    }
