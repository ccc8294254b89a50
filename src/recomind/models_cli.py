"""``recomind models list|show|promote|rollback``: the model registry from the shell."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from recomind.config import get_settings
from recomind.serving.model_registry import ModelRegistry, NothingToRollBack, UnknownVersion
from recomind.serving.model_store import ModelStore

models_app = typer.Typer(help="Trained models: list, show, promote, roll back.")
console = Console()


def _registry() -> ModelRegistry:
    root = get_settings().model_dir
    if not root:
        console.print("[red]RECOMIND_MODEL_DIR is empty: there is no model registry[/red]")
        raise typer.Exit(2)
    return ModelRegistry(ModelStore(root))


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@models_app.command("list")
def list_models() -> None:
    """Every stored version, newest first, with its status and holdout figures."""
    rows = _registry().list()
    table = Table("version", "status", "trained", "events", "ranker", "ndcg@10", "gate")
    for r in rows:
        at = r["trained_at"]
        when = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M") if at else ""
        ndcg = r["figures"].get("ndcg@10")
        table.add_row(
            r["version"],
            r["status"],
            when,
            str(r["events"] or ""),
            "yes" if r["ranker"] else "no",
            f"{ndcg:.4f}" if ndcg is not None else "",
            r["gate"] or "",
        )
    console.print(table if rows else "no model stored yet")


@models_app.command("show")
def show(version: Annotated[str, typer.Argument(help="A version from `models list`.")]) -> None:
    """A version's status, gate figures, ranker facts and journal, as JSON."""
    try:
        doc = _registry().show(version)
    except UnknownVersion:
        console.print(f"[red]no stored model version {version!r}[/red]")
        raise typer.Exit(1) from None
    typer.echo(json.dumps(doc, indent=2, default=str))


@models_app.command("promote")
def promote(
    version: Annotated[str, typer.Argument(help="The version to serve.")],
    reason: Annotated[str, typer.Option(help="Why, for the journal.")] = "promoted by hand",
) -> None:
    """Serve VERSION now (serving processes pick it up within their poll interval)."""
    try:
        _registry().promote(version, by=_who(), reason=reason)
    except UnknownVersion:
        console.print(f"[red]no stored model version {version!r}[/red]")
        raise typer.Exit(1) from None
    console.print(f"serving {version}")


@models_app.command("rollback")
def rollback(
    reason: Annotated[str, typer.Option(help="Why, for the journal.")] = "rolled back by hand",
) -> None:
    """Serve the champion before the serving one again."""
    try:
        target = _registry().rollback(by=_who(), reason=reason)
    except NothingToRollBack as exc:
        console.print(f"[red]cannot roll back: {exc}[/red]")
        raise typer.Exit(1) from None
    console.print(f"serving {target}")
