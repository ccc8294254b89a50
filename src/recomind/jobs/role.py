"""Composition root of ``recomind jobs run``: a job context over the serving stack."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from recomind.config import Settings
from recomind.jobs.runner import JobContext, Progress
from recomind.serving.stack import ServingStack


@contextmanager
def job_context(settings: Settings, *, progress: Progress | None = None) -> Iterator[JobContext]:
    """A :class:`JobContext` for one run of the jobs (the model is loaded once, not watched)."""
    stack = ServingStack.open(settings, watch_models=False)
    try:
        yield JobContext(settings, stack.engine, stack.service, progress=progress)
    finally:
        stack.close()
