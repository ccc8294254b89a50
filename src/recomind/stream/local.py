"""The embedded event bus: a durable, partitioned log in one SQLite file.

It keeps Kafka's contract where RecoMind relies on it: messages are keyed to partitions,
``publish`` returns only after the message is committed to disk (so an accepted action
survives a crash or restart of the process), each consumer group has its own committed
offsets, and messages are read in offset order. Concurrent publishes are written together
by one writer thread (group commit). Several processes may share the file; one consumer
process per group is the supported set-up (run Kafka to scale consumers out).

The log file is this bus backend's own storage, not one of the service's tables: its SQL
(plain :mod:`sqlite3`) stays here rather than in :mod:`recomind.storage`, as Kafka's log
stays inside Kafka.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import sqlite3
import threading
import time
import zlib
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import make_url

from recomind.config import Settings
from recomind.records import Record
from recomind.stream.bus import BusUnavailableError, Consumer, Producer

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS log (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, "offset" INTEGER NOT NULL,
    key BLOB, value BLOB NOT NULL, ts REAL NOT NULL,
    PRIMARY KEY (topic, partition, "offset")
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_offsets (
    group_id TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
    next_offset INTEGER NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
) WITHOUT ROWID;
"""

_Message = tuple[str, bytes, bytes]
# One publish: its messages (written in one transaction) and the future it waits on.
_Item = tuple[list[_Message], concurrent.futures.Future[None]]
MAX_GROUP_MESSAGES = 2000  # messages the writer commits together (a larger publish goes alone)


def bus_path(url: str) -> Path:
    """``sqlite:///var/bus.db`` -> ``var/bus.db``."""
    database = make_url(url).database
    if not database:
        raise ValueError(f"event bus URL {url!r} names no file; expected sqlite:///path/bus.db")
    return Path(database)


def partition_for(key: bytes, partitions: int) -> int:
    return zlib.crc32(key) % partitions


class LocalLog:
    """The shared log of one file in this process (one writer thread, many readers)."""

    _instances: dict[Path, LocalLog] = {}
    _instances_lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, partitions: int) -> LocalLog:
        key = path.resolve()
        with cls._instances_lock:
            log = cls._instances.get(key)
            if log is None or log._closed:
                log = cls(key, partitions)
                cls._instances[key] = log
            return log

    def __init__(self, path: Path, partitions: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.partitions = partitions
        self._local = threading.local()
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._new_data = threading.Condition()
        self._closed = False
        self._conn().executescript(_SCHEMA)
        self._writer = threading.Thread(target=self._write_loop, name="bus-writer", daemon=True)
        self._writer.start()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    # -- writing ----------------------------------------------------------------------------

    def append(self, topic: str, key: bytes, value: bytes) -> concurrent.futures.Future[None]:
        return self.append_many([(topic, key, value)])

    def append_many(self, messages: list[_Message]) -> concurrent.futures.Future[None]:
        """Queue ``messages`` for the writer; they are committed in one transaction."""
        fut: concurrent.futures.Future[None] = concurrent.futures.Future()
        if self._closed:
            fut.set_exception(BusUnavailableError("the embedded bus is closed"))
        elif not messages:
            fut.set_result(None)
        else:
            self._queue.put((messages, fut))
        return fut

    def _write_loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            size = len(first[0])
            while size < MAX_GROUP_MESSAGES:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)
                    break
                batch.append(item)
                size += len(item[0])
            try:
                self._write([m for messages, _ in batch for m in messages])
            except Exception as exc:
                logger.exception("embedded bus write failed")
                for _, fut in batch:
                    fut.set_exception(BusUnavailableError(str(exc)))
                continue
            for _, fut in batch:
                fut.set_result(None)
            with self._new_data:
                self._new_data.notify_all()

    def _write(self, batch: list[_Message]) -> None:
        conn = self._conn()
        now = time.time()
        conn.execute("BEGIN IMMEDIATE")
        try:
            next_offset: dict[tuple[str, int], int] = {}
            rows = []
            for topic, key, value in batch:
                part = partition_for(key, self.partitions)
                tp = (topic, part)
                if tp not in next_offset:
                    cur = conn.execute(
                        'SELECT COALESCE(MAX("offset") + 1, 0) FROM log '
                        "WHERE topic = ? AND partition = ?",
                        tp,
                    )
                    next_offset[tp] = int(cur.fetchone()[0])
                rows.append((topic, part, next_offset[tp], key, value, now))
                next_offset[tp] += 1
            conn.executemany(
                'INSERT INTO log (topic, partition, "offset", key, value, ts) '
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # -- reading ----------------------------------------------------------------------------

    def read(self, topic: str, partition: int, start: int, limit: int) -> list[Record]:
        cur = self._conn().execute(
            'SELECT "offset", key, value FROM log WHERE topic = ? AND partition = ? '
            'AND "offset" >= ? ORDER BY "offset" LIMIT ?',
            (topic, partition, start, limit),
        )
        return [Record(topic, partition, int(o), k, v) for o, k, v in cur.fetchall()]

    def wait_for_data(self, timeout_s: float) -> None:
        with self._new_data:
            self._new_data.wait(timeout_s)

    def end_offsets(self, topic: str) -> dict[int, int]:
        cur = self._conn().execute(
            'SELECT partition, MAX("offset") + 1 FROM log WHERE topic = ? GROUP BY partition',
            (topic,),
        )
        ends = {p: 0 for p in range(self.partitions)}
        ends.update({int(p): int(o) for p, o in cur.fetchall()})
        return ends

    def committed(self, group: str, topic: str) -> dict[int, int]:
        cur = self._conn().execute(
            "SELECT partition, next_offset FROM group_offsets WHERE group_id = ? AND topic = ?",
            (group, topic),
        )
        return {int(p): int(o) for p, o in cur.fetchall()}

    def commit(self, group: str, topic: str, offsets: dict[int, int]) -> None:
        self._conn().executemany(
            "INSERT INTO group_offsets (group_id, topic, partition, next_offset) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (group_id, topic, partition) "
            "DO UPDATE SET next_offset = MAX(next_offset, excluded.next_offset)",
            [(group, topic, p, o) for p, o in offsets.items()],
        )

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._writer.join(timeout=10)


class LocalProducer(Producer):
    def __init__(self, settings: Settings) -> None:
        self._path = bus_path(settings.event_bus_url)
        self._partitions = settings.kafka_partitions
        self._log: LocalLog | None = None

    async def start(self) -> None:
        self._log = LocalLog.open(self._path, self._partitions)

    async def stop(self) -> None:
        self._log = None

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        if self._log is None:
            await self.start()
        assert self._log is not None
        await asyncio.wrap_future(self._log.append(topic, key, value))

    async def publish_many(self, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> None:
        """All or nothing: the messages are committed in one transaction."""
        if self._log is None:
            await self.start()
        assert self._log is not None
        await asyncio.wrap_future(self._log.append_many([(topic, k, v) for k, v in messages]))


class LocalConsumer(Consumer):
    """A group member that owns every partition (one process per group)."""

    def __init__(self, settings: Settings, group: str, topic: str) -> None:
        self._path = bus_path(settings.event_bus_url)
        self._partitions = settings.kafka_partitions
        self.group = group
        self.topic = topic
        self._log: LocalLog | None = None
        self._position: dict[int, int] = {}

    async def start(self) -> None:
        self._log = LocalLog.open(self._path, self._partitions)
        committed = self._log.committed(self.group, self.topic)
        self._position = {p: committed.get(p, 0) for p in range(self._partitions)}

    async def stop(self) -> None:
        self._log = None

    async def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        return await asyncio.to_thread(self._poll, max_records, timeout_s)

    def _poll(self, max_records: int, timeout_s: float) -> list[Record]:
        assert self._log is not None, "consumer not started"
        deadline = time.monotonic() + timeout_s
        while True:
            out: list[Record] = []
            for p in range(self._partitions):
                if len(out) >= max_records:
                    break
                records = self._log.read(self.topic, p, self._position[p], max_records - len(out))
                if records:
                    self._position[p] = records[-1].offset + 1
                    out.extend(records)
            left = deadline - time.monotonic()
            if out or left <= 0:
                return out
            # Woken by this process's writer; other processes' writes are seen by polling.
            self._log.wait_for_data(min(left, 0.05))

    async def commit(self, offsets: dict[int, int]) -> None:
        assert self._log is not None
        await asyncio.to_thread(self._log.commit, self.group, self.topic, offsets)

    async def seek(self, partition: int, offset: int) -> None:
        self._position[partition] = offset

    async def lag(self) -> dict[int, int]:
        assert self._log is not None
        ends = self._log.end_offsets(self.topic)
        committed = self._log.committed(self.group, self.topic)
        return {p: max(0, end - committed.get(p, 0)) for p, end in ends.items()}
