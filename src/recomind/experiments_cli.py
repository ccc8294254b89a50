"""``recomind experiments create|list|show|results|stop|ship``: A/B tests from the shell,
through the same functions as ``/experiments`` (docs/experiments.md). Serving processes pick
a change up within ``experiments_refresh_s``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from recomind.config import Settings, get_settings
from recomind.errors import RecoMindError
from recomind.experiment_spec import SpecError
from recomind.serving import experiment_admin as admin
from recomind.storage.engine import make_engine

experiments_app = typer.Typer(help="A/B tests of rankers.", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _with_engine(work: Callable[[Settings, Engine], T]) -> T:
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        return work(settings, engine)
    except SpecError as exc:
        console.print(f"[red]{exc.field}: {exc.message}[/red]", soft_wrap=True)
        raise typer.Exit(2) from exc
    except RecoMindError as exc:
        console.print(f"[red]{exc}[/red]", soft_wrap=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()


def _print(doc: Any) -> None:
    print(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())


@experiments_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name")],
    variant: Annotated[
        list[str],
        typer.Option(
            "--variant",
            help="name=ranker[@weight], repeated; the first is control (ranker: current, "
            "trending, tag-affinity)",
        ),
    ],
    salt: Annotated[str | None, typer.Option("--salt", help="Default: the name")] = None,
    horizon_users: Annotated[int, typer.Option("--horizon-users")] = 500,
    primary: Annotated[str, typer.Option("--primary")] = "like_rate",
    surface: Annotated[str, typer.Option("--surface")] = "recommendations",
) -> None:
    """Start an experiment (one running experiment per surface)."""
    variants: list[dict[str, Any]] = []
    for spec in variant:
        vname, _, rest = spec.partition("=")
        ranker, _, weight = rest.partition("@")
        try:
            w = float(weight or 1)
        except ValueError as exc:
            console.print(f"[red]--variant {spec!r}: the weight after @ is a number[/red]")
            raise typer.Exit(2) from exc
        variants.append({"name": vname, "ranker": ranker, "weight": w})
    body = {
        "name": name,
        "surface": surface,
        "variants": variants,
        "salt": salt,
        "horizon_users": horizon_users,
        "primary": primary,
    }
    _print(_with_engine(lambda _, engine: admin.create(engine, body).to_json()))


@experiments_app.command("list")
def list_all() -> None:
    """Every experiment, newest first."""
    rows = _with_engine(lambda _, engine: admin.every(engine))
    table = Table("name", "surface", "status", "variants", "horizon", "created", "shipped")
    for e in rows:
        table.add_row(
            e.name,
            e.surface,
            e.status,
            ", ".join(f"{v.name}={v.ranker}@{v.weight:g}" for v in e.variants),
            str(e.horizon_users),
            str(e.created_at)[:19],
            e.shipped_variant or "",
        )
    console.print(table)


@experiments_app.command("show")
def show(name: str) -> None:
    _print(_with_engine(lambda _, engine: admin.show(engine, name).to_json()))


@experiments_app.command("results")
def results(name: str) -> None:
    """The figures per variant, the differences against control and the verdict (JSON)."""

    def work(settings: Settings, engine: Engine) -> dict[str, Any]:
        return admin.compute_results(settings, engine, admin.show(engine, name))

    _print(_with_engine(work))


@experiments_app.command("stop")
def stop(name: str) -> None:
    """End the experiment: everyone is served as before it."""
    _print(_with_engine(lambda _, engine: admin.stop(engine, name).to_json()))


@experiments_app.command("ship")
def ship(
    name: str,
    variant: Annotated[
        str | None, typer.Option("--variant", help="Default: the verdict's winner")
    ] = None,
) -> None:
    """End the experiment and serve the variant's ranker to everyone on the surface."""
    _print(
        _with_engine(lambda settings, engine: admin.ship(engine, settings, name, variant).to_json())
    )
