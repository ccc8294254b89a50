"""``recomind import actions``: CSV, JSONL and Parquet onto the bus, on every stack (the API
suites' running servers apply the events)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from recomind.event_ids import client_event_id, derived_event_id
from recomind.importer import ImportFileError, Progress, Summary, import_actions
from recomind.storage.tables import video_actions
from tests.api.helpers import counts, load_catalogue
from tests.stream.helpers import assert_matches_from_scratch
from tests.utils.settle import run_sync
from tests.utils.stacks import Api, settings_env

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
FORMATS = ["csv", "jsonl", "parquet"]


def rows(n: int, *, videos: int = 10) -> list[dict[str, Any]]:
    """``n`` past actions over the last 90 days; every fifth carries its own event id."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        row: dict[str, Any] = {
            "user_id": f"p{i % 7}",
            "video_id": f"v{(i * 3) % videos}",
            "action_type": ("view", "like", "skip", "view")[i % 4],
            "timestamp": NOW - timedelta(days=90) + timedelta(minutes=97 * i),
            "watch_time_ms": 900 + i if i % 4 in (0, 3) else None,
            "event_id": f"ext-{i}" if i % 5 == 0 else None,
        }
        out.append(row)
    return out


def write(path: Path, kind: str, data: list[dict[str, Any]]) -> Path:
    """``data`` as a ``kind`` file; CSV and JSONL spell times ISO-8601, with a few offsets."""

    def text_time(i: int, ts: datetime) -> str:
        if i % 6 == 1:  # the same instant, written in UTC+02:00
            return (ts + timedelta(hours=2)).isoformat() + "+02:00"
        return ts.isoformat() + "Z"

    file = path.with_suffix("." + kind)
    if kind == "csv":
        with file.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([*data[0], "device"])  # an extra column is ignored
            for i, r in enumerate(data):
                values = {**r, "timestamp": text_time(i, r["timestamp"])}
                w.writerow(["" if v is None else v for v in values.values()] + ["phone"])
    elif kind == "jsonl":
        with file.open("w") as fh:
            for i, r in enumerate(data):
                fh.write(json.dumps({**r, "timestamp": text_time(i, r["timestamp"])}) + "\n")
    else:
        pq.write_table(pa.Table.from_pylist(data), file)
    return file


def expected_ids(data: list[dict[str, Any]]) -> set[str]:
    return {
        client_event_id(r["event_id"])
        if r["event_id"]
        else derived_event_id(
            user_id=r["user_id"],
            video_id=r["video_id"],
            action_type=r["action_type"],
            timestamp=r["timestamp"],
            watch_time_ms=r["watch_time_ms"],
        )
        for r in data
    }


def run_import(api: Api, file: Path, **kwargs: Any) -> Summary:
    return run_sync(import_actions(api.settings, file, **kwargs))


@pytest.mark.parametrize("kind", FORMATS)
def test_import_each_format_counts_once_even_when_imported_again(
    api: Api, tmp_path: Path, kind: str
) -> None:
    load_catalogue(api.http, 10)
    data = rows(120)
    file = write(tmp_path / "history", kind, data)
    seen: list[tuple[int, int]] = []
    summary = run_import(
        api, file, batch_size=50, progress=Progress(update=lambda d, n: seen.append((d, n)))
    )
    assert (summary.rows, summary.accepted, summary.duplicates, summary.rejected) == (
        120,
        120,
        0,
        0,
    )
    assert seen[-1][1] == 120 and [n for _, n in seen] == sorted(n for _, n in seen)
    api.settle()
    with api.engine.connect() as conn:
        stored = {r.id: r for r in conn.execute(select(video_actions))}
    assert set(stored) == expected_ids(data)
    assert {r.timestamp for r in stored.values()} == {r["timestamp"] for r in data}  # UTC
    assert counts(api.engine)["users"] == 7
    assert_matches_from_scratch(api.engine, api.settings)
    again = run_import(api, file, batch_size=50)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 120, 0)
    api.settle()
    assert counts(api.engine)["video_actions"] == 120


def test_bad_rows_are_reported_by_line_and_field_and_the_rest_loaded(
    api: Api, tmp_path: Path
) -> None:
    load_catalogue(api.http, 10)
    data = rows(12)
    data[2]["action_type"] = "love"  # line 4 of the CSV (the header is line 1)
    data[4]["video_id"] = "v404"  # line 6
    data[6]["timestamp"] = datetime(2099, 1, 1)  # line 8
    data[8]["user_id"] = "has space"  # line 10
    data[10]["watch_time_ms"] = "lots"  # line 12
    data.append(dict(data[1]))  # line 14: the same row again, a duplicate
    file = write(tmp_path / "bad", "csv", data)
    summary = run_import(api, file)
    assert (summary.accepted, summary.duplicates, summary.rejected) == (7, 1, 5)
    assert [text.split(": ")[:2] for _, text in sorted(summary.examples)] == [
        ["line 4", "action_type"],
        ["line 6", "video_id"],
        ["line 8", "timestamp"],
        ["line 10", "user_id"],
        ["line 12", "watch_time_ms"],
    ]
    assert summary.ignored_columns == ["device"]
    api.settle()
    assert counts(api.engine)["video_actions"] == 7


def test_files_that_cannot_be_imported_say_why(api: Api, tmp_path: Path) -> None:
    """A file-level problem stops the import with one message naming the file (and line);
    nothing of the broken files below reaches the database."""
    no_time = tmp_path / "no_time.csv"
    no_time.write_text("user_id,video_id,action_type\nu1,v1,view\n")
    with pytest.raises(ImportFileError, match=r"missing column.*timestamp"):
        run_import(api, no_time)
    odd = tmp_path / "history.xlsx"
    odd.write_text("x")
    with pytest.raises(ImportFileError, match="unknown format 'xlsx'"):
        run_import(api, odd)
    header = b"user_id,video_id,action_type,timestamp\n"
    latin = tmp_path / "latin.csv"
    latin.write_bytes(header + b"u1,v1,view,2026-01-01T00:00:00Z\nd\xe9j\xe0,v1,view,x\n")
    with pytest.raises(ImportFileError, match="line 3: expected UTF-8"):
        run_import(api, latin)
    huge = tmp_path / "huge.csv"
    huge.write_bytes(header + b"u1,v1,view," + b"9" * 200_000 + b"\n")
    with pytest.raises(ImportFileError, match="line 2: field larger than field limit"):
        run_import(api, huge)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(ImportFileError, match="not a Parquet file"):
        run_import(api, broken)
    api.settle()
    assert counts(api.engine)["video_actions"] == 0


def test_the_command_prints_a_summary_and_exit_status(embedded_api: Api, tmp_path: Path) -> None:
    """As a user runs it: a subprocess on the deployment's settings (the embedded bus file
    shared with the running server, whose consumers apply the events)."""
    load_catalogue(embedded_api.http, 10)
    data = rows(30)
    data[3]["video_id"] = "v404"
    file = write(tmp_path / "cli", "jsonl", data)
    env = {**os.environ, **settings_env(embedded_api.settings)}
    r = subprocess.run(
        [sys.executable, "-m", "recomind", "import", "actions", str(file), "--batch-size", "7"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert r.returncode == 1, r.stderr  # one row rejected, the others loaded
    assert "29 accepted, 0 duplicates" in r.stdout and "1 rejected" in r.stdout
    assert "line 4: video_id: video 'v404' not found" in r.stdout
    embedded_api.settle()
    assert counts(embedded_api.engine)["video_actions"] == 29
    bad = tmp_path / "bad.csv"
    bad.write_text("user,video\n")
    r = subprocess.run(
        [sys.executable, "-m", "recomind", "import", "actions", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert r.returncode == 2 and "missing column(s) user_id" in r.stderr


def test_jsonl_lines_that_are_not_objects_are_rejected_by_line(api: Api, tmp_path: Path) -> None:
    load_catalogue(api.http, 10)
    good = rows(3)
    file = write(tmp_path / "mixed", "jsonl", good)
    with file.open("a") as fh:
        fh.write("\n{not json\n[1, 2]\n")  # lines 4 (blank, skipped), 5 and 6
    summary = run_import(api, file)
    assert (summary.accepted, summary.rejected) == (3, 2)
    assert [text.split(": ")[:2] for _, text in sorted(summary.examples)] == [
        ["line 5", "row"],
        ["line 6", "row"],
    ]
