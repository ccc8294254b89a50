"""The ``recomind`` command: serve | consume | replay | import | jobs | evaluate | db | demo |
keys | tokens | experiments.

Each role's objects are built by its own composition root (``api.state`` for serve,
``stream.role`` for consume, ``jobs.role`` for jobs); this module parses options and calls them.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from recomind.config import Settings, get_settings
from recomind.evaluation.cli import app as evaluation_app
from recomind.experiments_cli import experiments_app
from recomind.jobs.cli import jobs_app
from recomind.keys_cli import keys_app, tokens_app
from recomind.models_cli import models_app

app = typer.Typer(
    help="RecoMind: personalized top-N feeds for short-video apps.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
app.add_typer(db_app, name="db")
import_app = typer.Typer(help="Load data in bulk.", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(jobs_app, name="jobs")
app.add_typer(models_app, name="models")
app.add_typer(keys_app, name="keys")
app.add_typer(experiments_app, name="experiments")
app.add_typer(tokens_app, name="tokens")
app.add_typer(evaluation_app)  # nameless: its command is `recomind evaluate`
console = Console()

UrlOpt = Annotated[
    str | None, typer.Option("--url", help="Database URL (default: RECOMIND_DATABASE_URL).")
]


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from recomind.api.app import create_app

    if workers > 1:  # each worker builds its app from the environment
        uvicorn.run(
            "recomind.api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level,
            access_log=settings.access_log,
        )
        return

    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level,
        access_log=settings.access_log,
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port.")] = None,
    migrate: Annotated[bool, typer.Option(help="Run `db upgrade` first.")] = True,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (settings come from the environment).")
    ] = 1,
) -> None:
    """Run the HTTP API (and, on the embedded bus, the consumer groups)."""
    settings = get_settings()
    if migrate:
        from recomind.storage import migrate as m

        m.upgrade(settings.database_url)
    if workers > 1 and settings.event_bus_url.startswith("sqlite"):
        console.print("[red]--workers: the embedded bus runs in one process; use Kafka to scale")
        raise typer.Exit(2)
    _serve(settings, host or settings.host, port or settings.port, workers)


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
        for p in [*data_dir.glob("demo.db*"), *data_dir.glob("demo-bus.db*")]:
            p.unlink()
        shutil.rmtree(data_dir / "media" / "demo", ignore_errors=True)
        shutil.rmtree(data_dir / "demo-models", ignore_errors=True)
    media_dir = data_dir / "media"
    migrate.upgrade(f"sqlite:///{db_path}")
    engine = make_engine(f"sqlite:///{db_path}")
    access = sample.provision_access(engine, data_dir)
    settings = Settings(
        database_url=f"sqlite:///{db_path}",
        cache_url="memory://",
        event_bus_url=f"sqlite:///{data_dir / 'demo-bus.db'}",
        lake_url=f"file://{(data_dir / 'lake').resolve()}",
        model_dir=str(data_dir / "demo-models"),
        host=host,
        port=port,
        media_dir=media_dir,
        # Auth stays on; the web app signs in by choosing a user (no password: a demo).
        token_secret=access["token_secret"],
        web_sign_in=True,
        public_reads=True,
        admin_docs=False,  # /docs opens in a browser; its Authorize button takes a key
    )
    with console.status("loading the sample catalogue..."):
        loaded = sample.seed(engine, settings)
    if loaded or not (data_dir / "demo-models" / "LATEST").exists():
        from recomind.jobs import JobContext, run_jobs

        with console.status("training the recommender on the sample history..."):
            run_jobs(JobContext(settings, engine), ["train"])
    engine.dispose()
    _demo_media(media_dir)
    console.print(
        f"[green]{'loaded' if loaded else 'reusing'} sample data[/green] in {db_path}"
        " (600 videos over 24 tags, 40 users; u1 has no history yet)"
    )
    _print_keys(access, data_dir)
    if no_serve:
        return
    base = f"http://{host}:{port}"
    console.print(f"RecoMind demo at [bold]{base}[/bold] (web app; dashboard at {base}/dashboard)")
    console.print(
        f"  curl {base}/trending\n"
        f'  curl -H "Authorization: Bearer $READ" {base}/recommendations/u2\n'
        f"  API docs: {base}/docs (Authorize with a key)",
        soft_wrap=True,
    )
    _serve(settings, host, port)


@app.command()
def consume(
    group: Annotated[
        list[str],
        typer.Option(
            "--group",
            "-g",
            help="Consumer group: persist, popularity, profiles, lake, retrain-trigger or all.",
        ),
    ],
) -> None:
    """Run consumer groups of video_actions_stream until SIGINT/SIGTERM."""
    from recomind.stream.consumers import GROUPS
    from recomind.stream.role import consume as run_consumers

    groups = list(GROUPS) if "all" in group else group
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        console.print(f"[red]--group: unknown {unknown}; expected one of {', '.join(GROUPS)}, all")
        raise typer.Exit(2)
    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    console.print(f"consuming {settings.kafka_topic} as {', '.join(groups)}")
    run_consumers(settings, groups)


@app.command()
def replay(
    from_lake: Annotated[
        bool, typer.Option("--from-lake", help="Read every event from the data lake.")
    ] = False,
    lake_url: Annotated[
        str | None, typer.Option(help="Lake URL (default: RECOMIND_LAKE_URL).")
    ] = None,
) -> None:
    """Rebuild video_popularity and user_profiles from scratch (recovery, new consumers)."""
    from recomind.folds.rebuild import rebuild, stored_events
    from recomind.lake.reader import iter_events
    from recomind.storage.engine import make_engine

    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with console.status("reading events..."):
            if from_lake:
                url = lake_url or settings.lake_url
                events = list(iter_events(url, s3_endpoint_url=settings.lake_s3_endpoint_url))
                source = url
            else:
                events = stored_events(engine)
                source = "video_actions"
        with console.status(f"folding {len(events)} events..."):
            n = rebuild(engine, settings=settings, events=events)
        console.print(f"[green]rebuilt popularity and profiles from {n} events[/green] ({source})")
    finally:
        engine.dispose()


@import_app.command("actions")
def import_actions(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The file to load.")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv, jsonl or parquet (default: by the extension)."),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, max=50_000, help="Rows checked and published together.")
    ] = 5000,
    progress: Annotated[bool, typer.Option(help="Show a progress bar (on stderr).")] = True,
) -> None:
    """Load past actions (CSV, JSONL or Parquet) onto the event stream, like live ones.

    Columns: user_id, video_id, action_type, timestamp, optional watch_time_ms and event_id.
    Exit status 0: every row accepted or a duplicate; 1: some rows rejected (the others
    were loaded); 2: the file cannot be imported; 3: the database or the bus failed.
    """
    from rich.markup import escape
    from sqlalchemy.exc import SQLAlchemyError

    from recomind import importer
    from recomind.stream.bus import BusUnavailableError

    err = Console(stderr=True)
    try:
        summary = importer.run(
            get_settings(),
            file,
            fmt=fmt,
            batch_size=batch_size,
            show_progress=progress,
            console=err,
        )
    except importer.ImportFileError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(2) from exc
    except SQLAlchemyError as exc:
        first = escape(str(exc).splitlines()[0])
        err.print(f"[red]database error: {first}[/red]", soft_wrap=True)
        err.print("is RECOMIND_DATABASE_URL the deployment's, migrated (recomind db upgrade)?")
        raise typer.Exit(3) from exc
    except BusUnavailableError as exc:
        err.print(
            f"[red]the event bus stopped taking events: {escape(str(exc))}[/red]; importing "
            "the file again loads the rest (what was accepted counts once)"
        )
        raise typer.Exit(3) from exc
    importer.print_summary(summary, console)
    if summary.rejected:
        raise typer.Exit(1)


def _print_keys(access: dict[str, str], data_dir: Path) -> None:
    console.print(
        f"API keys of the demo (kept in {data_dir / 'demo-keys.json'}); for curl, in another shell:"
    )
    exports = " ".join(f"{scope.upper()}={access[scope]}" for scope in ("admin", "ingest", "read"))
    console.print(f"  export {exports}", soft_wrap=True, highlight=False)
    console.print("  the web app signs in as any user; paste the admin key on its dashboard")


def _demo_media(media_dir: Path) -> None:
    """Local clips for the sample catalogue, so the web feed plays offline."""
    from recomind import demo as sample
    from recomind.web import media

    try:
        with console.status("rendering the demo video clips..."):
            made = media.prepare_demo_media(
                media_dir, ((v.url, v.tags) for v in sample.catalogue())
            )
    except (media.MediaUnavailableError, OSError, subprocess.SubprocessError) as exc:
        console.print(f"[yellow]no demo clips ({exc}); the feed shows title cards[/yellow]")
        return
    if made:
        console.print(f"[green]made {made} demo video files[/green] in {media_dir}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
