"""``DELETE /users/{user_id}`` leaves no trace: every table, every cache key, every lake file
(issue 15, point 4), on each stack; popularity stays equal to a fold from scratch."""

from __future__ import annotations

import contextlib
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import redis
from sqlalchemy import select

from recomind.erasure_ids import subject_hash
from recomind.jobs import JobContext, run_job
from recomind.lake.impressions import read_impressions
from recomind.lake.reader import iter_events, read_raw, read_table
from recomind.schemas import utcnow
from recomind.storage.tables import metadata
from tests.api.helpers import act, load_catalogue
from tests.stream.helpers import actions, assert_matches_from_scratch, post_all
from tests.utils.stacks import Api

VICTIM = "erase-me-7f3a"
OTHERS = ["keep-a", "keep-b"]


def _lake_root(api: Api) -> Path:
    return Path(api.settings.lake_url.removeprefix("file://"))


def _db_mentions(api: Api, needle: str) -> list[str]:
    """``table.column`` of every stored value that contains ``needle``, in every table."""
    found = []
    with api.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for column, value in row._mapping.items():
                    if needle in str(value):
                        found.append(f"{table.name}.{column}")
    return found


def _cache_mentions(api: Api, needle: str) -> list[str]:
    """Keys under the deployment's prefix whose name or value contains ``needle`` (Redis:
    SCAN every key; the in-process cache: its keys)."""
    prefix = api.settings.cache_prefix
    if not api.settings.cache_url.startswith("redis"):
        backend: Any = api.state.cache.backend  # the in-process cache
        held = backend.items_under(prefix)
        return [k for k, v in held.items() if needle in k or needle.encode() in v]
    client: Any = redis.Redis.from_url(api.settings.cache_url)
    hits = []
    try:
        for raw in client.scan_iter(match=prefix + "*", count=1000):
            name = raw.decode()
            kind = client.type(raw).decode()
            values: list[bytes] = []
            if kind == "string":
                values = [client.get(raw) or b""]
            elif kind == "zset":
                values = list(client.zrange(raw, 0, -1))
            elif kind == "hash":
                values = [b for kv in client.hgetall(raw).items() for b in kv]
            elif kind in ("list", "set"):
                values = list(client.lrange(raw, 0, -1) if kind == "list" else client.smembers(raw))
            blob = b"".join(values)
            with contextlib.suppress(zlib.error):
                blob += zlib.decompress(blob)
            if needle in name or needle.encode() in blob:
                hits.append(name)
    finally:
        client.close()
    return hits


def _raw_lake_rows(api: Api, user_id: str) -> int:
    """Rows naming ``user_id`` in every Parquet file of the lake, read raw with pyarrow."""
    n = 0
    for path in _lake_root(api).rglob("*.parquet"):
        table = pq.read_table(path)
        for name in ("user_id",):
            if name in table.column_names:
                n += sum(1 for u in table.column(name).to_pylist() if u == user_id)
    return n


def _use(api: Api) -> None:
    """Three users act, read their lists and profiles (every store holds the victim)."""
    load_catalogue(api.http, 12)
    for i, user in enumerate([VICTIM, *OTHERS]):
        for j in range(5):
            act(api.http, user, f"v{(i + j) % 12}", "view", watch_time_ms=9000)
        act(api.http, user, f"v{i}", "like")
        act(api.http, user, f"v{i + 3}", "skip")
    act(api.http, VICTIM, "v7", "unlike")
    api.settle()
    for user in [VICTIM, *OTHERS]:
        assert api.http.get(f"/recommendations/{user}").status_code == 200
        assert api.http.get(f"/users/{user}/profile").status_code == 200
    assert api.state.recommendations.impressions is not None
    api.state.recommendations.impressions.flush()


def test_erasure_leaves_no_trace(api: Api) -> None:
    _use(api)
    assert _db_mentions(api, VICTIM)
    assert _cache_mentions(api, VICTIM)
    before_raw = _raw_lake_rows(api, VICTIM)
    assert before_raw > 0

    r = api.http.delete(f"/users/{VICTIM}")
    assert r.status_code == 200, r.text
    receipt = r.json()
    assert receipt["action"] == "erase_user" and receipt["target"] == VICTIM
    assert receipt["repeated"] is False and receipt["at"].endswith("Z")
    removed = receipt["removed"]
    assert removed["actions"] == 8 and removed["user"] == 1 and removed["profile"] == 1
    assert removed["popularity_videos"] >= 5 and removed["cache_keys"] >= 2
    assert removed["lake_rows_tombstoned"] == before_raw

    # The database: no table holds the id (the erasure is kept by hash only).
    assert _db_mentions(api, VICTIM) == []
    # Popularity: what a fold from scratch over the remaining actions gives.
    assert_matches_from_scratch(api.engine, api.settings)
    # The cache: no key names the user, no value holds the id.
    assert _cache_mentions(api, VICTIM) == []
    # The lake: the readers skip the user at once; the files still hold the rows ...
    url = api.settings.lake_url
    assert VICTIM not in read_table(url).column("user_id").to_pylist()
    assert VICTIM not in read_raw(url).column("user_id").to_pylist()
    assert all(e.user_id != VICTIM for e in iter_events(url))
    assert VICTIM not in read_impressions(url).column("user_id").to_pylist()
    assert set(OTHERS) <= set(read_table(url).column("user_id").to_pylist())
    assert _raw_lake_rows(api, VICTIM) == before_raw
    # ... until lake-compact rewrites them: then no file holds a row of theirs.
    ctx = JobContext(api.settings, api.engine, api.state.recommendations)
    result = run_job(ctx, "lake-compact")
    assert result.ok, result.error
    assert result.summary["rows_removed"] == before_raw
    assert _raw_lake_rows(api, VICTIM) == 0
    assert set(OTHERS) <= set(read_table(url).column("user_id").to_pylist())
    for path in _lake_root(api).rglob("*"):
        if path.is_file():
            assert VICTIM.encode() not in path.read_bytes(), path

    # Idempotent: a second erasure is a receipt with zero counts.
    again = api.http.delete(f"/users/{VICTIM}")
    assert again.status_code == 200
    assert again.json()["repeated"] is True
    assert again.json()["removed"]["actions"] == 0
    assert api.http.get(f"/users/{VICTIM}").status_code == 404

    # Audited, in the same transaction, without the id itself.
    log = api.http.get("/admin/audit", params={"action": "erase_user"})
    assert log.status_code == 200
    entries = log.json()
    assert len(entries) == 2
    assert entries[1]["target"] == f"user-sha256:{subject_hash(VICTIM)}"
    assert entries[1]["summary"]["actions"] == 8 and entries[1]["at"].endswith("Z")
    assert entries[1]["summary"]["receipt_id"] == receipt["receipt_id"]
    assert entries[1]["actor"]  # the principal, or "anonymous" without the auth layer
    assert VICTIM not in log.text


def test_events_in_flight_are_dropped_and_later_actions_count(api: Api) -> None:
    """The rule: the consumers drop an erased user's events dated at or before the erasure
    (still on the bus when it ran); an action dated after it is new, and counts."""
    load_catalogue(api.http, 6)
    act(api.http, VICTIM, "v1", "like")
    act(api.http, OTHERS[0], "v1", "view", watch_time_ms=5000)
    api.settle()
    before = utcnow()
    assert api.http.delete(f"/users/{VICTIM}").status_code == 200
    stamp = (before - timedelta(seconds=5)).isoformat() + "Z"
    act(api.http, VICTIM, "v2", "like", timestamp=stamp)  # in flight: dated before
    api.settle()
    assert _db_mentions(api, VICTIM) == []
    assert VICTIM not in read_table(api.settings.lake_url).column("user_id").to_pylist()
    assert_matches_from_scratch(api.engine, api.settings)

    act(api.http, VICTIM, "v3", "like")  # dated now: after the erasure
    api.settle()
    assert api.http.get(f"/users/{VICTIM}").status_code == 200
    assert VICTIM in read_table(api.settings.lake_url).column("user_id").to_pylist()
    assert_matches_from_scratch(api.engine, api.settings)


def test_erasure_while_the_consumers_run_stays_exact(api: Api) -> None:
    """An erasure in the middle of a stream of actions (the victim's all dated before it, as
    if in flight): afterwards no trace of the victim, popularity equal to a fold from
    scratch. The erasure locks every group's offsets, so no batch is half-seen."""
    load_catalogue(api.http, 25)
    dated = (utcnow() - timedelta(seconds=30)).isoformat() + "Z"
    bodies = actions(300, users=6, videos=25, seed=11)
    for i, body in enumerate(bodies):
        if i % 3 == 0:
            body.update(user_id=VICTIM, timestamp=dated)
    with ThreadPoolExecutor(1) as pool:
        posting = pool.submit(post_all, api.base_url, bodies, workers=4)
        time.sleep(0.3)
        r = api.http.delete(f"/users/{VICTIM}")
        posting.result()
    assert r.status_code == 200, r.text
    api.settle()
    assert _db_mentions(api, VICTIM) == []
    assert VICTIM not in read_table(api.settings.lake_url).column("user_id").to_pylist()
    assert_matches_from_scratch(api.engine, api.settings)
