"""``recomind keys create|list|revoke`` and ``recomind tokens mint``: credentials from the shell.

A key is printed once, when it is made; the database keeps only its digest.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from recomind.config import get_settings
from recomind.credentials import SCOPES
from recomind.storage import api_keys
from recomind.storage.engine import make_engine, read_tx, write_tx

keys_app = typer.Typer(help="API keys for server-to-server calls.", no_args_is_help=True)
tokens_app = typer.Typer(help="User tokens (signed JWTs), for testing.", no_args_is_help=True)
console = Console()


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="What the key is for (shown by list).")],
    scope: Annotated[
        list[str], typer.Option("--scope", help=f"Repeat for each scope: {', '.join(SCOPES)}.")
    ],
) -> None:
    """Make a key and print it once (only its digest is stored)."""
    engine = make_engine(get_settings().database_url)
    try:
        with write_tx(engine) as conn:
            key, full = api_keys.issue_key(conn, name=name, scopes=scope)
    except ValueError as exc:
        console.print(f"[red]--scope: {exc}[/red]")
        raise typer.Exit(2) from exc
    finally:
        engine.dispose()
    console.print(f"key {key.key_id} ({' '.join(sorted(key.scopes))}) for {name!r}:")
    print(full)
    console.print("[yellow]store it now: it is not shown again[/yellow]")


@keys_app.command("list")
def list_keys() -> None:
    """Every key with its scopes, when it was made, last used and revoked."""
    engine = make_engine(get_settings().database_url)
    try:
        with read_tx(engine) as conn:
            rows = api_keys.list_keys(conn)
    finally:
        engine.dispose()
    table = Table("key_id", "name", "scopes", "created", "last used", "revoked")

    def when(at: object) -> str:
        return "" if at is None else str(at)[:19]

    for k in rows:
        table.add_row(
            k.key_id,
            k.name,
            " ".join(sorted(k.scopes)),
            when(k.created_at),
            when(k.last_used_at),
            when(k.revoked_at),
        )
    console.print(table)


@keys_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id (from list).")]) -> None:
    """Revoke a key: it stops working within RECOMIND_KEY_CACHE_S seconds."""
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        with write_tx(engine) as conn:
            done = api_keys.revoke_key(conn, key_id=key_id)
    finally:
        engine.dispose()
    if not done:
        console.print(f"[red]no active key {key_id!r}[/red]")
        raise typer.Exit(1)
    console.print(f"revoked {key_id}; servers refuse it within {settings.key_cache_s:g} s")


@tokens_app.command("mint")
def mint(
    user_id: Annotated[str, typer.Argument(help="The user the token speaks for (sub).")],
    ttl: Annotated[
        int | None, typer.Option("--ttl", min=1, help="Seconds (default RECOMIND_TOKEN_TTL_S).")
    ] = None,
) -> None:
    """Print a user token signed with RECOMIND_TOKEN_SECRET."""
    from recomind.api.tokens import TokenError, mint_token

    try:
        print(mint_token(get_settings(), user_id, ttl_s=ttl))
    except (TokenError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
