"""One way to declare and run batch jobs: timed, logged, failure-isolated, with gauges.

A job is a function ``fn(ctx) -> dict`` registered with :func:`job`; :func:`run_jobs` runs
some or all of them in registration order. A job that raises is logged and reported
(``recomind_job_last_success{job} 0``) and the next job still runs.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Gauge
from sqlalchemy import Engine

from recomind.config import Settings
from recomind.recommend.extras import MissingExtraError
from recomind.serving.service import RecommendationService

logger = logging.getLogger(__name__)

LAST_RUN = Gauge("recomind_job_last_run_timestamp", "Unix time a batch job last finished", ["job"])
LAST_DURATION = Gauge(
    "recomind_job_last_duration_seconds", "How long a batch job's last run took", ["job"]
)
LAST_SUCCESS = Gauge(
    "recomind_job_last_success", "1 if a batch job's last run succeeded, else 0", ["job"]
)

Progress = Callable[[int, int], None]


@dataclass
class JobContext:
    """What jobs work with.

    Parameters
    ----------
    settings
        Service settings.
    engine
        The service database.
    service
        Serving (cache + ranker), needed by ``precompute``.
    progress
        ``progress(done, total)`` callback for long jobs (a CLI progress bar).
    """

    settings: Settings
    engine: Engine
    service: RecommendationService | None = None
    progress: Progress | None = None
    memo: dict[str, Any] = field(default_factory=dict)

    def report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)


JobFn = Callable[[JobContext], dict[str, Any]]


@dataclass(frozen=True)
class Job:
    name: str
    fn: JobFn
    description: str


@dataclass
class JobResult:
    """Outcome of one run of one job."""

    name: str
    ok: bool
    seconds: float
    summary: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


#: Every job by name, in the order "run all" runs them.
JOBS: dict[str, Job] = {}


def job(name: str, *, description: str) -> Callable[[JobFn], JobFn]:
    """Register ``fn`` as the job ``name`` (decorator)."""

    def register(fn: JobFn) -> JobFn:
        JOBS[name] = Job(name, fn, description)
        return fn

    return register


def run_job(ctx: JobContext, name: str) -> JobResult:
    """Run one job, timing it and recording its gauges; never raises for a job failure."""
    try:
        spec = JOBS[name]
    except KeyError:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(JOBS)}") from None
    logger.info("job %s: start", name)
    t0 = time.perf_counter()
    try:
        summary = spec.fn(ctx) or {}
    except MissingExtraError as exc:  # an install choice, not a bug: one line says what to do
        seconds = time.perf_counter() - t0
        logger.error("job %s cannot run: %s", name, exc)
        result = JobResult(name, False, seconds, error=str(exc))
    except Exception as exc:
        seconds = time.perf_counter() - t0
        logger.error(
            "job %s failed after %.2fs: %r\n%s", name, seconds, exc, traceback.format_exc()
        )
        result = JobResult(name, False, seconds, error=f"{type(exc).__name__}: {exc}")
    else:
        seconds = time.perf_counter() - t0
        logger.info("job %s: done in %.2fs %s", name, seconds, summary)
        result = JobResult(name, True, seconds, summary)
    LAST_RUN.labels(name).set(time.time())
    LAST_DURATION.labels(name).set(result.seconds)
    LAST_SUCCESS.labels(name).set(1 if result.ok else 0)
    return result


def run_jobs(
    ctx: JobContext,
    names: Sequence[str] | None = None,
    *,
    on_start: Callable[[str], None] | None = None,
    on_done: Callable[[JobResult], None] | None = None,
) -> list[JobResult]:
    """Run ``names`` (default: every job) in order; one failure doesn't stop the others."""
    chosen = list(JOBS) if not names else list(names)
    unknown = [n for n in chosen if n not in JOBS]
    if unknown:
        raise KeyError(f"unknown job(s) {unknown}; known: {', '.join(JOBS)}")
    results: list[JobResult] = []
    for name in chosen:
        if on_start is not None:
            on_start(name)
        result = run_job(ctx, name)
        results.append(result)
        if on_done is not None:
            on_done(result)
    ctx.memo.clear()
    return results
