"""``recomind import actions FILE``: load past actions from CSV, JSONL or Parquet.

Columns (CSV header, JSON keys, Parquet columns): ``user_id``, ``video_id``, ``action_type``,
``timestamp`` (ISO-8601; without an offset it is UTC), optional ``watch_time_ms`` and
``event_id``; other columns are ignored. Each row is checked as a ``POST /video_action``
body (a bad row is reported with its line or row number and field, and skipped), then by
:func:`recomind.stream.bulk.prepare` like an item of ``POST /video_actions/batch``:
historical timestamps are fine, one beyond now + ``event_max_future_s`` or an unknown video
rejects the row, and an event id seen before is a duplicate. A row without ``event_id``
gets one derived from its fields, so importing the same file again counts nothing twice.

The importer talks to the deployment directly, as a consumer does: it reads the catalogue
and the stored event ids from ``RECOMIND_DATABASE_URL`` and publishes each batch with one
``publish_many`` to ``RECOMIND_EVENT_BUS_URL``; the consumer groups then apply the events
like live ones. It reads the next batch while the bus acknowledges the previous one.
"""

from __future__ import annotations

import asyncio
import csv
import gc
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress

from recomind.config import Settings
from recomind.schemas import NAIVE_IS_UTC, BatchAction, utcnow
from recomind.storage.engine import make_engine, read_tx
from recomind.stream import bulk
from recomind.stream.factory import open_producer

FORMATS = ("csv", "jsonl", "parquet")
REQUIRED = ("user_id", "video_id", "action_type", "timestamp")
OPTIONAL = ("watch_time_ms", "event_id")
COLUMNS = REQUIRED + OPTIONAL
EXAMPLES = 20  # rejected rows quoted in the summary

#: ``(where, values)`` of each row: ``"line 7"`` (CSV, JSONL) or ``"row 7"`` (Parquet).
Row = tuple[str, dict[str, Any]]


class ImportFileError(ValueError):
    """The file cannot be imported at all (unknown format, missing columns, unreadable)."""


@dataclass
class Summary:
    """What an import did: counts, rejection reasons, and the first rejected rows."""

    rows: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[int, str]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    def reject(self, where: str, field_name: str, message: str) -> None:
        self.rejected += 1
        self.reasons[f"{field_name}: {_reason(message)}"] += 1
        if len(self.examples) < EXAMPLES:
            number = int(where.rsplit(" ", 1)[-1])
            self.examples.append((number, f"{where}: {field_name}: {message}"))


_TIME = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]+Z?")
_VIDEO = re.compile(r"^video '[^']*'")


def _reason(message: str) -> str:
    """The message without the row's own values (times, the video id): a kind to count."""
    return _VIDEO.sub("video", _TIME.sub("<time>", message.split(", got ", 1)[0]))


def file_format(path: Path, fmt: str | None) -> str:
    """``fmt``, or the format the file's extension names."""
    name = (fmt or path.suffix.lstrip(".")).lower()
    name = {"ndjson": "jsonl", "json": "jsonl", "pq": "parquet"}.get(name, name)
    if name not in FORMATS:
        raise ImportFileError(
            f"{path.name}: unknown format {name!r}; expected {', '.join(FORMATS)} "
            "(by extension or --format)"
        )
    return name


def _check_columns(path: Path, columns: list[str], summary: Summary) -> None:
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise ImportFileError(
            f"{path.name}: missing column(s) {', '.join(missing)}; expected "
            f"{', '.join(REQUIRED)} (and optionally {', '.join(OPTIONAL)})"
        )
    summary.ignored_columns = [c for c in columns if c not in COLUMNS]


class _Counting:
    """Lines of a binary file, decoded, counting the bytes read (for the progress bar)."""

    def __init__(self, fh: BinaryIO, name: str) -> None:
        self.fh = fh
        self.name = name
        self.bytes = 0

    def __iter__(self) -> Iterator[str]:
        for number, raw in enumerate(self.fh, 1):
            self.bytes += len(raw)
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise ImportFileError(
                    f"{self.name}: line {number}: expected UTF-8 text ({exc.reason} at byte "
                    f"{exc.start})"
                ) from exc


def _csv_rows(path: Path, summary: Summary, counter: list[_Counting]) -> Iterator[Row]:
    with path.open("rb") as fh:
        lines = _Counting(fh, path.name)
        counter.append(lines)
        reader = csv.reader(lines)
        try:
            yield from _csv_records(path, reader, summary)
        except csv.Error as exc:
            raise ImportFileError(f"{path.name}: line {reader.line_num}: {exc}") from exc


def _csv_records(path: Path, reader: Any, summary: Summary) -> Iterator[Row]:
    header = next(reader, None)
    if header is None:
        raise ImportFileError(f"{path.name}: empty file; expected a header line")
    header = [h.strip() for h in header]
    _check_columns(path, header, summary)
    keep = [(i, c) for i, c in enumerate(header) if c in COLUMNS]
    start = reader.line_num + 1
    for values in reader:
        where = f"line {start}"
        start = reader.line_num + 1
        if not values:
            continue
        yield where, {c: values[i] for i, c in keep if i < len(values) and values[i] != ""}


def _jsonl_rows(path: Path, summary: Summary, counter: list[_Counting]) -> Iterator[Row]:
    checked = False
    with path.open("rb") as fh:
        lines = _Counting(fh, path.name)
        counter.append(lines)
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"line {number}"
            try:
                doc = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield where, {"__error__": f"expected a JSON object: {exc}"}
                continue
            if not isinstance(doc, dict):
                yield where, {"__error__": "expected a JSON object"}
                continue
            if not checked:  # the first object's keys stand for the file's columns
                _check_columns(path, list(doc), summary)
                checked = True
            yield where, {c: v for c, v in doc.items() if c in COLUMNS and v is not None}


def _parquet_file(path: Path) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise ImportFileError(f"{path.name}: not a Parquet file ({exc})") from exc


def _parquet_rows(path: Path, pf: Any, summary: Summary, batch_size: int) -> Iterator[Row]:
    names = list(pf.schema_arrow.names)
    _check_columns(path, names, summary)
    columns = [c for c in names if c in COLUMNS]
    number = 0
    for batch in pf.iter_batches(batch_size=batch_size, columns=columns):
        for doc in batch.to_pylist():
            number += 1
            yield f"row {number}", {c: v for c, v in doc.items() if v is not None}


def _validate(rows: list[Row], summary: Summary) -> list[tuple[str, BatchAction]]:
    out: list[tuple[str, BatchAction]] = []
    for where, values in rows:
        if "__error__" in values:
            summary.reject(where, "row", str(values["__error__"]))
            continue
        if "watch_time_ms" in values and isinstance(values["watch_time_ms"], str):
            # CSV is untyped: a digit string is the number; anything else is refused below
            text = values["watch_time_ms"].strip()
            values["watch_time_ms"] = int(text) if text.isdigit() else (text or None)
        try:
            out.append((where, BatchAction.model_validate(values, context={NAIVE_IS_UTC: True})))
        except ValidationError as exc:
            first = exc.errors()[0]
            name = ".".join(str(p) for p in first.get("loc", ())) or "row"
            message = "is required" if first.get("type") == "missing" else first.get("msg", "")
            summary.reject(where, name, str(message))
    return out


@dataclass
class Progress:
    """Callbacks for a progress display: ``start(total, unit)``, then ``update(done, rows)``
    (``done`` in that unit: bytes of a CSV or JSONL file, rows of a Parquet file)."""

    start: Callable[[int, str], None] = lambda total, unit: None
    update: Callable[[int, int], None] = lambda done, rows: None


async def import_actions(
    settings: Settings,
    path: Path,
    *,
    fmt: str | None = None,
    batch_size: int = 5000,
    progress: Progress | None = None,
) -> Summary:
    """Import ``path`` into the deployment ``settings`` name; returns what happened.

    Raises
    ------
    ImportFileError
        The file cannot be read as ``fmt`` or lacks a required column (nothing published).
    recomind.stream.bus.BusUnavailableError
        The bus stopped taking events (the batches before were published).
    """
    kind = file_format(path, fmt)
    progress = progress or Progress()
    summary = Summary()
    counter: list[_Counting] = []
    if kind == "parquet":
        pf = _parquet_file(path)
        total, unit = pf.metadata.num_rows, "rows"
        rows: Iterator[Row] = _parquet_rows(path, pf, summary, batch_size)
    else:
        total, unit = path.stat().st_size, "bytes"
        reader = _csv_rows if kind == "csv" else _jsonl_rows
        rows = reader(path, summary, counter)
    progress.start(total, unit)
    engine = make_engine(settings.database_url, pool_size=2)
    producer = open_producer(settings)
    seen = bulk.Seen()

    def next_batch() -> tuple[bulk.Prepared, list[tuple[bytes, bytes]], int] | None:
        chunk: list[Row] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= batch_size:
                break
        if not chunk:
            return None
        summary.rows += len(chunk)
        valid = _validate(chunk, summary)
        with read_tx(engine) as conn:
            prepared = bulk.prepare(
                conn,
                items=[a for _, a in valid],
                now=utcnow(),
                max_future_s=settings.event_max_future_s,
                derive_ids=True,
                seen=seen,
            )
        for (where, _), outcome in zip(valid, prepared.outcomes, strict=True):
            if outcome.status == "rejected":
                summary.reject(where, outcome.field or "row", outcome.message or "")
        done = counter[0].bytes if counter else summary.rows
        return prepared, bulk.messages(prepared.events), done

    async def send(prepared: bulk.Prepared, encoded: list[tuple[bytes, bytes]]) -> None:
        await bulk.publish(producer, settings.kafka_topic, encoded)
        summary.accepted += prepared.count("accepted")
        summary.duplicates += prepared.count("duplicate")

    await producer.start()
    pending: asyncio.Task[None] | None = None
    try:
        while True:
            batch = await asyncio.to_thread(next_batch)  # while the bus acks the last one
            if pending is not None:
                await pending
                pending = None
            if batch is None:
                break
            prepared, encoded, done = batch
            pending = asyncio.create_task(send(prepared, encoded))
            progress.update(done, summary.rows)
        progress.update(total, summary.rows)
    finally:
        if pending is not None:
            pending.cancel()
        await producer.stop()
        engine.dispose()
    return summary


def run(
    settings: Settings,
    path: Path,
    *,
    fmt: str | None,
    batch_size: int,
    show_progress: bool,
    console: Console,
) -> Summary:
    """:func:`import_actions` with a rich progress bar (on ``console``'s stream)."""
    bar = RichProgress(
        TextColumn("importing {task.fields[name]}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeRemainingColumn(),
        console=console,
        disable=not show_progress,
    )
    task = bar.add_task("import", total=None, name=path.name, rows=0)

    def start(total: int, unit: str) -> None:
        bar.update(task, total=total)

    def update(done: int, rows: int) -> None:
        bar.update(task, completed=done, rows=rows)

    # The modules loaded so far live as long as the process: leave them out of the cyclic
    # collector's walks (a quarter of the import's CPU otherwise).
    gc.collect()
    gc.freeze()
    try:
        with bar:
            return asyncio.run(
                import_actions(
                    settings, path, fmt=fmt, batch_size=batch_size, progress=Progress(start, update)
                )
            )
    finally:
        gc.unfreeze()


def print_summary(summary: Summary, console: Console) -> None:
    """Counts, then rejections by reason, then the first rejected rows."""
    console.print(
        f"[green]{summary.accepted} accepted[/green], {summary.duplicates} duplicates "
        f"(counted once), [{'red' if summary.rejected else 'green'}]{summary.rejected} "
        f"rejected[/] of {summary.rows} rows"
    )
    if summary.ignored_columns:
        console.print(f"ignored column(s): {', '.join(summary.ignored_columns)}")
    for reason, n in summary.reasons.most_common():
        console.print(f"  {n} rejected: {reason}", markup=False, soft_wrap=True)
    if summary.examples:
        console.print(f"first {len(summary.examples)} rejected rows:")
        for _, line in sorted(summary.examples):
            console.print(f"  {line}", markup=False, soft_wrap=True)
