"""The ``recomind`` command: serve | db | demo (and more as the project grows)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from recomind.config import Settings, get_settings
from recomind.jobs.cli import jobs_app

app = typer.Typer(
    help="RecoMind: personalized top-N feeds for short-video apps.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(jobs_app, name="jobs")
console = Console()

UrlOpt = Annotated[
    str | None, typer.Option("--url", help="Database URL (default: RECOMIND_DATABASE_URL).")
]


def _serve(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from recomind.api.app import create_app

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
    migrate: Annotated[bool, typer.Option(help="Run `db upgrade` first.")] = True,
) -> None:
    """Run the HTTP API."""
    settings = get_settings()
    if migrate:
        from recomind.storage import migrate as m

        m.upgrade(settings.database_url)
    _serve(settings, host or settings.host, port or settings.port)


@db_app.command("upgrade")
def db_upgrade(url: UrlOpt = None, revision: str = "head") -> None:
    """Create or migrate the tables to ``revision`` (default: the newest)."""
    from recomind.storage import migrate

    target = url or get_settings().database_url
    migrate.upgrade(target, revision)
    console.print(f"[green]database at revision {migrate.current(target)}[/green]")


@db_app.command("current")
def db_current(url: UrlOpt = None) -> None:
    """Print the schema revision the database is at."""
    from recomind.storage import migrate

    console.print(migrate.current(url or get_settings().database_url) or "empty")


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    data_dir: Annotated[Path, typer.Option(help="Where the embedded database lives.")] = Path(
        "var"
    ),
    reset: Annotated[bool, typer.Option(help="Start from a fresh sample database.")] = False,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Load the data and exit.")] = False,
) -> None:
    """Load a sample catalogue (600 videos, 24 tags, 40 users) and serve it, no servers needed."""
    from recomind import demo as sample
    from recomind.storage import migrate
    from recomind.storage.engine import make_engine

    db_path = data_dir / "demo.db"
    if reset:
        for p in data_dir.glob("demo.db*"):
            p.unlink()
    settings = Settings(
        database_url=f"sqlite:///{db_path}", cache_url="memory://", host=host, port=port
    )
    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    with console.status("loading the sample catalogue..."):
        loaded = sample.seed(engine, settings)
    engine.dispose()
    console.print(
        f"[green]{'loaded' if loaded else 'reusing'} sample data[/green] in {db_path}"
        " (600 videos over 24 tags, 40 users; u1 has no history yet)"
    )
    if no_serve:
        return
    base = f"http://{host}:{port}"
    console.print(f"RecoMind demo at [bold]{base}[/bold]")
    console.print(
        f"  curl {base}/trending\n  curl {base}/recommendations/u2\n  API docs: {base}/docs"
    )
    _serve(settings, host, port)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
