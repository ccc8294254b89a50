"""``recomind evaluate``: measure RecoMind's strategies and the peers on a public data set."""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from . import report
from .datasets import DatasetNotFoundError
from .runner import RunResult, run

#: Mount with ``main_app.add_typer(app)`` (no name): its one command becomes ``recomind evaluate``.
app = typer.Typer(help="Offline evaluation against published baselines.", no_args_is_help=True)
console = Console()


class DatasetChoice(StrEnum):
    microlens = "microlens-50k"
    movielens = "movielens-small"


@app.command()
def evaluate(
    dataset: Annotated[DatasetChoice, typer.Option(help="Data set to evaluate on.")],
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder holding MicroLens-50k/ and ml-latest-small/ "
            "(default: $RECOMIND_DATA_DIR or ../shared/datasets)."
        ),
    ] = None,
    models: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated labels (ease,ials,recomind:als) or peers / recomind; default all."
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the Markdown, JSON and PNG.")] = Path(
        "evaluation-results"
    ),
    sample_users: Annotated[
        int | None, typer.Option(help="Evaluate on a random sample of N users only.")
    ] = None,
    tune_users: Annotated[
        int, typer.Option(help="Validation users scored per grid point (0: all).")
    ] = 10_000,
    fast: Annotated[
        bool, typer.Option("--fast", help="Quick variant: first grid point only, 2,000 users.")
    ] = False,
    batch_size: Annotated[int, typer.Option(help="History rows per score call.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the user samples.")] = 0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
) -> None:
    """Tune on validation, refit on train+validation, report test metrics."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if fast and sample_users is None:
        sample_users = 2000

    def write_partial(partial: RunResult) -> None:
        report.write(partial, out)
        last = partial.models[-1]
        status = f"failed: {last.error}" if last.error else f"NDCG@10={last.metrics['NDCG@10']:.4f}"
        console.print(f"[bold]{last.label}[/bold] {status} ({partial.wall_seconds:.0f} s so far)")

    try:
        result = run(
            dataset.value,
            data_dir=data_dir,
            models=[m for m in models.split(",") if m.strip()] if models else None,
            sample=sample_users,
            tune_users=tune_users or None,
            fast=fast,
            batch_size=batch_size,
            seed=seed,
            on_result=write_partial,
        )
    except DatasetNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=2) from exc
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=2) from exc
    paths = report.write(result, out)
    typer.echo(report.markdown(result))
    console.print(f"wrote {', '.join(str(p) for p in paths.values())}")
