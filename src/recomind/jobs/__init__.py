"""Batch jobs (popularity, profiles, train, precompute, online-figures), their runner, CLI and
scheduler."""

from recomind.jobs import builtin as _builtin  # noqa: F401  (registers the jobs)
from recomind.jobs import compaction as _compaction  # noqa: F401
from recomind.jobs import features as _features  # noqa: F401
from recomind.jobs import figures as _figures  # noqa: F401
from recomind.jobs.runner import JOBS, JobContext, JobResult, job, run_job, run_jobs

__all__ = ["JOBS", "JobContext", "JobResult", "job", "run_job", "run_jobs"]
