"""The embedded event bus: a durable, partitioned log in one SQLite file.

It keeps Kafka's contract where RecoMind relies on it: messages are keyed to partitions,
``publish`` returns only after the message's SQLite transaction committed (WAL journal,
``synchronous=NORMAL``: an accepted action survives a crash or restart of the process; a
power loss may cost the last commits, docs/streaming.md), each consumer group has its own committed
offsets, and messages are read in offset order. Concurrent publishes are written together
by one writer thread (group commit); the publishes of one event-loop turn reach it as one
item and are answered with one wake-up of the loop. Several processes may share the file;
one consumer process per group is the supported set-up (run Kafka to scale consumers out).

Idle consumers cost next to nothing: the log knows each partition's end (from its writer, and
from a watcher thread that checks ``PRAGMA data_version`` every ``WATCH_INTERVAL_S``); a
consumer reads only partitions past its position and sleeps until an end moves.

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
#: How often the watcher looks for other processes' commits (what an idle consumer may lag).
WATCH_INTERVAL_S = 0.05


def bus_path(url: str) -> Path:
    """``sqlite:///var/bus.db`` -> ``var/bus.db``."""
    database = make_url(url).database
    if not database:
        raise ValueError(f"event bus URL {url!r} names no file; expected sqlite:///path/bus.db")
    return Path(database)


def partition_for(key: bytes, partitions: int) -> int:
    return zlib.crc32(key) % partitions


def _end(conn: sqlite3.Connection, topic: str, partition: int) -> int:
    """The partition's next offset (one lookup in the primary key)."""
    cur = conn.execute(
        'SELECT COALESCE(MAX("offset") + 1, 0) FROM log WHERE topic = ? AND partition = ?',
        (topic, partition),
    )
    return int(cur.fetchone()[0])


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
        self._version = 0  # moves (under _new_data) whenever a known end moves
        self._ends: dict[tuple[str, int], int] = {}  # (topic, partition) -> next offset
        self._watched: set[str] = set()  # topics whose ends the watcher keeps
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()
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
                ends = self._write([m for messages, _ in batch for m in messages])
            except Exception as exc:
                logger.exception("embedded bus write failed")
                for _, fut in batch:
                    fut.set_exception(BusUnavailableError(str(exc)))
                continue
            for _, fut in batch:
                fut.set_result(None)
            self._advance(ends)

    def _advance(self, ends: dict[tuple[str, int], int]) -> None:
        """Known ends moved to ``ends`` (where larger): wake the waiting consumers."""
        with self._new_data:
            moved = False
            for tp, end in ends.items():
                if end > self._ends.get(tp, 0):
                    self._ends[tp] = end
                    moved = True
            if moved:
                self._version += 1
                self._new_data.notify_all()

    def _write(self, batch: list[_Message]) -> dict[tuple[str, int], int]:
        """Commit ``batch``; returns the partitions' ends after it."""
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
                    next_offset[tp] = _end(conn, topic, part)
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
        return next_offset

    # -- reading ----------------------------------------------------------------------------

    def read(self, topic: str, partition: int, start: int, limit: int) -> list[Record]:
        cur = self._conn().execute(
            'SELECT "offset", key, value FROM log WHERE topic = ? AND partition = ? '
            'AND "offset" >= ? ORDER BY "offset" LIMIT ?',
            (topic, partition, start, limit),
        )
        return [Record(topic, partition, int(o), k, v) for o, k, v in cur.fetchall()]

    def known_ends(self, topic: str) -> tuple[int, dict[int, int]]:
        """The log's version and the ends of ``topic``'s partitions as this process knows
        them (read from the file the first time; then kept by the writer and the watcher)."""
        if topic not in self._watched:
            with self._new_data:
                self._watched.add(topic)  # first: the watcher's next pass reads it too
            self._advance({(topic, p): e for p, e in self.end_offsets(topic).items()})
            with self._new_data:
                if self._watcher is None and not self._closed:
                    self._watcher = threading.Thread(
                        target=self._watch, name="bus-watcher", daemon=True
                    )
                    self._watcher.start()
        with self._new_data:
            return self._version, {p: self._ends.get((topic, p), 0) for p in range(self.partitions)}

    def wait_for_change(self, version: int, timeout_s: float) -> None:
        """Block until the log's version is no longer ``version``, or ``timeout_s``."""
        with self._new_data:
            self._new_data.wait_for(lambda: self._version != version, timeout_s)

    def _watch(self) -> None:
        """Notice other processes' commits: when the file changed (``PRAGMA data_version``
        moves on any other connection's commit), read the watched topics' ends."""
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            seen = None  # the first pass reads the ends: commits since the topic was added
            while True:
                version = conn.execute("PRAGMA data_version").fetchone()[0]
                if version != seen:
                    seen = version
                    with self._new_data:
                        topics = list(self._watched)
                    for topic in topics:
                        ends = self._ends_in(conn, topic)
                        self._advance({(topic, p): e for p, e in ends.items()})
                if self._stop.wait(WATCH_INTERVAL_S):
                    return
        except Exception:  # a consumer then sees other processes' writes on its next start
            logger.exception("embedded bus watcher stopped")
        finally:
            conn.close()

    def end_offsets(self, topic: str) -> dict[int, int]:
        return self._ends_in(self._conn(), topic)

    def _ends_in(self, conn: sqlite3.Connection, topic: str) -> dict[int, int]:
        """Each partition's next offset: one index lookup per partition."""
        return {p: _end(conn, topic, p) for p in range(self.partitions)}

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
            self._stop.set()
            self._queue.put(None)
            self._writer.join(timeout=10)
            if self._watcher is not None:
                self._watcher.join(timeout=10)


class LocalProducer(Producer):
    def __init__(self, settings: Settings) -> None:
        self._path = bus_path(settings.event_bus_url)
        self._partitions = settings.kafka_partitions
        self._log: LocalLog | None = None
        # Publishes of this loop turn: handed to the writer together, answered together.
        self._turn: list[_Message] = []
        self._waiters: list[asyncio.Future[None]] = []

    async def start(self) -> None:
        self._log = LocalLog.open(self._path, self._partitions)

    async def stop(self) -> None:
        self._log = None

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        """Returns once committed. The publishes of one loop turn go to the writer as one
        item, in order, and are answered with one wake-up; each waits on its own future."""
        if self._log is None:
            await self.start()
        loop = asyncio.get_running_loop()
        if self._waiters and self._waiters[0].get_loop() is not loop:  # another loop's turn
            assert self._log is not None
            await asyncio.wrap_future(self._log.append_many([(topic, key, value)]))
            return
        done: asyncio.Future[None] = loop.create_future()
        if not self._waiters:
            loop.call_soon(self._hand_over, loop)
        self._turn.append((topic, key, value))
        self._waiters.append(done)
        await done

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        messages, waiters = self._turn, self._waiters
        self._turn, self._waiters = [], []
        log = self._log or LocalLog.open(self._path, self._partitions)

        def answer(committed: concurrent.futures.Future[None]) -> None:
            loop.call_soon_threadsafe(_settle, waiters, committed.exception())

        log.append_many(messages).add_done_callback(answer)

    async def publish_many(self, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> None:
        """All or nothing: the messages are committed in one transaction."""
        if self._log is None:
            await self.start()
        assert self._log is not None
        await asyncio.wrap_future(self._log.append_many([(topic, k, v) for k, v in messages]))


def _settle(waiters: list[asyncio.Future[None]], exc: BaseException | None) -> None:
    for done in waiters:
        if done.done():  # cancelled: its message is committed (or not) with the others
            continue
        if exc is None:
            done.set_result(None)
        else:
            done.set_exception(BusUnavailableError(str(exc)))


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
        log = self._log
        assert log is not None, "consumer not started"
        deadline = time.monotonic() + timeout_s
        while True:
            version, ends = log.known_ends(self.topic)
            out: list[Record] = []
            for p in range(self._partitions):
                if len(out) >= max_records:
                    break
                if self._position[p] >= ends[p]:
                    continue  # nothing past the position that this process knows of
                records = log.read(self.topic, p, self._position[p], max_records - len(out))
                if records:
                    self._position[p] = records[-1].offset + 1
                    out.extend(records)
            left = deadline - time.monotonic()
            if out or left <= 0:
                return out
            # This process's writer wakes us at once; the watcher within WATCH_INTERVAL_S.
            log.wait_for_change(version, left)

    async def commit(self, offsets: dict[int, int]) -> None:
        assert self._log is not None
        await asyncio.to_thread(self._log.commit, self.group, self.topic, offsets)

    async def seek(self, partition: int, offset: int) -> None:
        self._position[partition] = offset

    async def end_offsets(self) -> dict[int, int]:
        assert self._log is not None
        return self._log.end_offsets(self.topic)

    async def lag(self) -> dict[int, int]:
        assert self._log is not None
        ends = self._log.end_offsets(self.topic)
        committed = self._log.committed(self.group, self.topic)
        return {p: max(0, end - committed.get(p, 0)) for p, end in ends.items()}
