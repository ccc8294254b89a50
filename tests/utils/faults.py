"""The fault suite's parts: ``recomind`` processes to kill and restart, steady traffic that
records what the API accepted, and the audit that compares the deployment's state with what
was accepted and with a from-scratch fold of ``video_actions``.

Shared by ``tests/faults`` (short, bounded cases) and ``bench/bench_soak.py`` (minutes, a
fault a minute).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from recomind.config import Settings
from recomind.lake.reader import read_raw
from recomind.storage.offsets import stored_offsets
from recomind.storage.tables import video_actions, video_popularity
from recomind.stream.consumers import GROUPS
from tests.stream.helpers import KINDS
from tests.utils.credentials import admin_headers
from tests.utils.stacks import settings_env


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.05)


class Role:
    """One ``recomind`` subprocess (``serve`` or ``consume --group …``) with its own log."""

    def __init__(self, name: str, args: list[str], settings: Settings, log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = {**os.environ, **settings_env(settings), "RECOMIND_LOG_LEVEL": "info"}
        self.log = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "recomind", *self.args],
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def terminate(self, timeout_s: float = 20.0) -> float:
        """SIGTERM; returns the seconds it took to end (fails past ``timeout_s``)."""
        assert self.proc is not None
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name} ignored SIGTERM for {timeout_s} s") from None
        return time.monotonic() - started

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


class Serve(Role):
    def __init__(self, settings: Settings, log_dir: Path, port: int) -> None:
        super().__init__("serve", ["serve", "--port", str(port)], settings, log_dir)
        self.base_url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        super().start()

        def up() -> bool:
            assert self.alive, self.tail()
            try:
                return httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, 90, "recomind serve")


def consumers(settings: Settings, log_dir: Path, groups: list[str]) -> dict[str, Role]:
    """One ``recomind consume`` process per group (not started)."""
    return {g: Role(g, ["consume", "--group", g], settings, log_dir) for g in groups}


@dataclass
class Traffic:
    """Steady POST /video_action (and a GET per ``gets_every`` posts) from ``workers``
    threads at ``rate`` requests per second in all, until :meth:`stop`."""

    base_url: str
    rate: float = 40.0
    users: int = 30
    videos: int = 25
    workers: int = 4
    gets_every: int = 4
    seed: int = 7
    accepted: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    post_s: list[float] = field(default_factory=list)
    get_s: list[float] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)  # answers that are neither 2xx nor JSON 503
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Traffic:
        for w in range(self.workers):
            t = threading.Thread(target=self._run, args=(w,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=60)

    def _run(self, worker: int) -> None:
        rng = random.Random(self.seed * 1000 + worker)
        interval = self.workers / self.rate
        next_at = time.monotonic() + rng.random() * interval
        n = 0
        with httpx.Client(base_url=self.base_url, timeout=20, headers=admin_headers()) as http:
            while not self._stop.is_set():
                time.sleep(max(0.0, next_at - time.monotonic()))
                next_at += interval
                n += 1
                if self.gets_every and n % self.gets_every == 0:
                    self._get(http, f"u{rng.randrange(self.users)}")
                else:
                    self._post(http, rng)

    def _post(self, http: httpx.Client, rng: random.Random) -> None:
        body: dict[str, Any] = {
            "user_id": f"u{rng.randrange(self.users)}",
            "video_id": f"v{rng.randrange(self.videos)}",
            "action_type": rng.choice(KINDS),
        }
        if body["action_type"] == "view":
            body["watch_time_ms"] = rng.randint(500, 25_000)
        started = time.monotonic()
        try:
            r = http.post("/video_action", json=body)
        except httpx.TransportError as exc:  # the server is down (killed on purpose)
            self._count("post:refused", None, repr(exc), started, self.post_s)
            return
        eid = r.json().get("event_id") if r.status_code == 202 else None
        self._count(f"post:{r.status_code}", r, eid, started, self.post_s)

    def _get(self, http: httpx.Client, user: str) -> None:
        started = time.monotonic()
        try:
            r = http.get(f"/recommendations/{user}")
        except httpx.TransportError as exc:
            self._count("get:refused", None, repr(exc), started, self.get_s)
            return
        self._count(f"get:{r.status_code}", r, None, started, self.get_s)

    def _count(
        self,
        key: str,
        r: httpx.Response | None,
        event_id: str | None,
        started: float,
        times: list[float],
    ) -> None:
        with self._lock:
            self.statuses[key] += 1
            times.append(time.monotonic() - started)
            if r is None:
                return
            if r.status_code == 202 and event_id:
                self.accepted.append(event_id)
            elif r.status_code >= 300 and not (
                r.status_code in (429, 503)
                and r.headers.get("content-type", "").startswith("application/json")
            ):
                self.bad.append(
                    f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:200]}"
                )

    @property
    def maybe(self) -> int:
        """Posts whose outcome the client cannot know (503 or no answer): each may or may
        not have reached the bus."""
        return sum(n for k, n in self.statuses.items() if k in ("post:503", "post:refused"))


def p99(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


@dataclass
class Audit:
    """What the deployment holds against what the API accepted."""

    accepted: int
    stored: int
    lost: int  # accepted, not stored
    unexpected: int  # stored, not accepted (a 503'd post that reached the bus after all)
    counted: int  # popularity's n_events over every video
    double_counted: int  # counted - stored
    lake_rows: int  # rows in the lake's files
    lake_distinct: int
    folds_match: bool  # popularity and profiles equal a from-scratch fold of video_actions
    fold_diff: str = ""  # what differed, if anything

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def audit(engine: Engine, settings: Settings, accepted: list[str]) -> Audit:
    """Compare; the from-scratch fold rewrites popularity and profiles (run it last)."""
    from tests.stream.helpers import assert_matches_from_scratch

    with engine.connect() as conn:
        stored = set(conn.execute(select(video_actions.c.id)).scalars())
        counted = int(conn.execute(select(func.sum(video_popularity.c.n_events))).scalar() or 0)
    raw = read_raw(settings.lake_url)
    ids = raw.column("event_id").to_pylist()
    fold_diff = ""
    try:
        assert_matches_from_scratch(engine, settings)
    except AssertionError as exc:
        fold_diff = str(exc)[:2000]
    want = set(accepted)
    return Audit(
        accepted=len(want),
        stored=len(stored),
        lost=len(want - stored),
        unexpected=len(stored - want),
        counted=counted,
        double_counted=counted - len(stored),
        lake_rows=len(ids),
        lake_distinct=len(set(ids)),
        folds_match=not fold_diff,
        fold_diff=fold_diff,
    )


class Deployment:
    """``recomind serve`` and consumer processes on ``settings`` (a migrated database, the
    catalogue loaded); :meth:`run` sends traffic around a fault and audits."""

    def __init__(self, settings: Settings, tmp: Path, *, groups: list[str] | None = None) -> None:
        from recomind.storage import migrate
        from recomind.storage.engine import make_engine
        from tests.utils.server import free_port

        self.settings = settings
        migrate.upgrade(settings.database_url)
        self.engine = make_engine(settings.database_url)
        self.serve = Serve(settings, tmp, free_port())
        self.groups = consumers(settings, tmp, ["all"] if groups is None else groups)
        self.traffic = Traffic("")

    def __enter__(self) -> Deployment:
        from tests.api.helpers import load_catalogue

        self.serve.start()
        with httpx.Client(
            base_url=self.serve.base_url, timeout=30, headers=admin_headers()
        ) as http:
            load_catalogue(http, 25)
        for role in self.groups.values():
            role.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.traffic.stop()
        for role in [self.serve, *self.groups.values()]:
            role.kill()
        self.engine.dispose()

    def start_traffic(self, **options: Any) -> Traffic:
        self.traffic = Traffic(self.serve.base_url, **options).start()
        return self.traffic

    def run(self, fault: Callable[[], None], *, flow_s: float) -> Audit:
        """Traffic for ``flow_s``, ``fault()``, traffic for ``flow_s``; then catch up, audit."""
        self.start_traffic()
        time.sleep(flow_s)
        fault()
        time.sleep(flow_s)
        self.traffic.stop()
        return self.catch_up_and_audit()

    def catch_up_and_audit(self, timeout_s: float = 120.0) -> Audit:
        from tests.utils.settle import messages_on_topic, settle

        for name, role in self.groups.items():
            assert role.alive, f"{name} died:\n{role.tail()}"
        settle(self.settings, timeout_s=timeout_s)
        # The broker's committed offsets trail the database's (a commit follows each batch's
        # transaction, and one skipped while the broker was away is not retried): the groups
        # have applied everything when the offsets claimed in the database reach the log end.
        on_topic = messages_on_topic(self.settings)
        for group in self.groups_applying():
            self._wait_applied(group, on_topic, timeout_s)
        # The lake's last batch is flushed by time: wait until its files hold every row.
        stored = rows_stored(self.engine)
        wait_for(lambda: read_raw(self.settings.lake_url).num_rows >= stored, 30, "the lake")
        return self.audit()

    def _wait_applied(self, group: str, on_topic: int, timeout_s: float) -> None:
        wait_for(
            lambda: applied_offsets(self.engine, self.settings, group) >= on_topic,
            timeout_s,
            f"group {group}'s offsets in the database to reach {on_topic}",
        )

    def groups_applying(self) -> list[str]:
        """The groups this deployment runs (``all`` is every group)."""
        names = list(self.groups)
        return list(GROUPS) if names == ["all"] else names

    def audit(self) -> Audit:
        return audit(self.engine, self.settings, self.traffic.accepted)


def violations(result: Audit, traffic: Traffic) -> list[str]:
    """What broke a promise: answers other than 2xx / JSON 429 or 503, a lost or doubly
    counted event, derived tables off a from-scratch fold, the lake holding an event twice."""
    out = [f"bad answer: {b}" for b in traffic.bad[:5]]
    if not traffic.accepted:
        out.append("no action was accepted")
    if result.lost:
        out.append(f"{result.lost} accepted events lost")
    if result.unexpected > traffic.maybe:
        out.append(f"{result.unexpected} stored events never accepted (> {traffic.maybe} 503s)")
    if result.double_counted:
        out.append(f"{result.double_counted} events counted twice in popularity")
    if not result.folds_match:
        out.append(f"popularity/profiles differ from a from-scratch fold: {result.fold_diff}")
    if not result.lake_rows == result.lake_distinct == result.stored:
        out.append(
            f"lake: {result.lake_rows} rows, {result.lake_distinct} distinct, "
            f"{result.stored} stored"
        )
    return out


def applied_offsets(engine: Engine, settings: Settings, group: str) -> int:
    """The sum over partitions of the next offset ``group`` claimed in the database."""
    with engine.connect() as conn:
        return sum(stored_offsets(conn, group=group, topic=settings.kafka_topic).values())


def rows_stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(video_actions)).scalar_one())
