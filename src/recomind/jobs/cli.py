"""``recomind jobs list`` and ``recomind jobs run [NAME]``."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from recomind.config import get_settings

jobs_app = typer.Typer(help="Batch jobs: popularity, profiles, train, precompute.")
console = Console()


@jobs_app.command("list")
def list_jobs() -> None:
    """Show the jobs, in the order `jobs run` runs them."""
    from recomind.jobs import JOBS

    table = Table("job", "what it does")
    for spec in JOBS.values():
        table.add_row(spec.name, spec.description)
    console.print(table)


@jobs_app.command("run")
def run(
    name: Annotated[str | None, typer.Argument(help="One job (default: all of them).")] = None,
) -> None:
    """Run one job or all of them; exits 1 if any failed."""
    from recomind.jobs import JOBS, JobResult, run_jobs
    from recomind.jobs.role import job_context

    settings = get_settings()
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if name is not None and name not in JOBS:
        console.print(f"[red]unknown job {name!r}[/red]; known: {', '.join(JOBS)}")
        raise typer.Exit(2)
    names = [name] if name else list(JOBS)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    results: list[JobResult] = []
    with Progress(*columns, console=console) as progress:
        overall = progress.add_task("jobs", total=len(names))
        current = progress.add_task("", total=None)

        def on_start(job: str) -> None:
            progress.reset(current, description=job, total=None)

        def on_done(result: JobResult) -> None:
            progress.update(current, total=1, completed=1)
            progress.advance(overall)
            status = "[green]ok[/green]" if result.ok else f"[red]{result.error}[/red]"
            progress.console.print(
                f"{result.name}: {status} in {result.seconds:.2f}s {result.summary or ''}"
            )
            results.append(result)

        def report(done: int, total: int) -> None:
            progress.update(current, completed=done, total=total)

        with job_context(settings, progress=report) as ctx:
            run_jobs(ctx, names, on_start=on_start, on_done=on_done)
    if not all(r.ok for r in results):
        raise typer.Exit(1)
