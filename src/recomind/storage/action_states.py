"""Data functions over ``action_states``: what one user's actions on one video can still
count, per fold (:func:`recomind.weights.pair_state`).

A fold reads the states of a batch's pairs locked, and writes them back in the same
transaction as its own rows and its consumer offsets. Every function takes a
:class:`sqlalchemy.Connection` (a write transaction: ``storage.engine.write_tx``) so callers
choose the transaction. A batch costs a few statements whatever its size, each finding
its rows by primary key: the pairs travel as arrays on PostgreSQL (``unnest``), as one
JSON array on SQLite (``json_each``) and as row values on MariaDB/MySQL; writes are one
statement (a multi-row upsert).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select, text, tuple_
from sqlalchemy.dialects import mysql, sqlite

from recomind.storage.inserts import insert_ignore
from recomind.storage.tables import action_states
from recomind.weights import Act

#: ``(user_id, video_id)``
Pair = tuple[str, str]
CHUNK = 500


def _acts(value: Any) -> list[Act]:
    if isinstance(value, str | bytes):
        value = orjson.loads(value)
    return [(str(kind), int(at), float(w)) for kind, at, w in value or []]


def _json(acts: Sequence[Act]) -> str:
    return orjson.dumps([list(a) for a in acts]).decode()


def lock_states(conn: Connection, *, fold: str, pairs: Sequence[Pair]) -> dict[Pair, list[Act]]:
    """The stored state of each of ``pairs`` (``[]`` where there is none), locked until the
    transaction ends.

    On the servers, missing rows are created empty first and every row is read locked, so
    two writers of the same pair wait for each other (SQLite's write transaction holds the
    whole database already).
    """
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    dialect = conn.dialect.name
    found: dict[Pair, list[Act]] = {}
    if dialect == "postgresql":
        params = {"fold": fold, "users": [u for u, _ in wanted], "videos": [v for _, v in wanted]}
        for user_id, video_id, acts in conn.execute(text(_PG_LOCK), params):
            found[(user_id, video_id)] = _acts(acts)
        return {p: found.get(p, []) for p in wanted}
    if dialect == "sqlite":  # the write transaction holds the database: no row locks
        pairs_json = orjson.dumps(wanted).decode()
        for user_id, video_id, acts in conn.execute(
            text(_SQLITE_SELECT), {"fold": fold, "pairs": pairs_json}
        ):
            found[(user_id, video_id)] = _acts(acts)
        return {p: found.get(p, []) for p in wanted}
    insert_ignore(
        conn,
        action_states,
        [{"fold": fold, "user_id": u, "video_id": v, "acts": []} for u, v in wanted],
    )
    c = action_states.c
    for i in range(0, len(wanted), CHUNK):
        stmt = (
            select(c.user_id, c.video_id, c.acts)
            .where(c.fold == fold, tuple_(c.user_id, c.video_id).in_(wanted[i : i + CHUNK]))
            .with_for_update()
        )
        for user_id, video_id, acts in conn.execute(stmt):
            found[(user_id, video_id)] = _acts(acts)
    # A case-insensitive collation (MariaDB) may hand a pair back spelled as first stored.
    folded = {(u.lower(), v.lower()): acts for (u, v), acts in found.items()}
    return {p: found.get(p, folded.get((p[0].lower(), p[1].lower()), [])) for p in wanted}


def save_states(conn: Connection, *, fold: str, states: Mapping[Pair, Sequence[Act]]) -> None:
    """Store the states of pairs :func:`lock_states` locked (one statement)."""
    if not states:
        return
    items = sorted(states.items())
    dialect = conn.dialect.name
    if dialect == "postgresql":
        params = {
            "fold": fold,
            "users": [u for (u, _), _ in items],
            "videos": [v for (_, v), _ in items],
            "acts": [_json(acts) for _, acts in items],
        }
        conn.execute(text(_PG_UPDATE), params)
        return
    rows = [
        {"fold": fold, "user_id": u, "video_id": v, "acts": [list(a) for a in acts]}
        for (u, v), acts in items
    ]
    if dialect == "sqlite":
        ins = sqlite.insert(action_states)
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=["fold", "user_id", "video_id"], set_={"acts": ins.excluded.acts}
            ),
            rows,
        )
    else:
        my = mysql.insert(action_states)
        conn.execute(my.on_duplicate_key_update(acts=my.inserted.acts), rows)


def clear_states(conn: Connection, *, fold: str) -> None:
    """Delete every state of ``fold`` (a rebuild folds all events again in the same
    transaction)."""
    conn.execute(delete(action_states).where(action_states.c.fold == fold))


# Pairs as a JSON array, driving the loop (CROSS JOIN): one primary-key probe per pair.
_SQLITE_SELECT = (
    "SELECT s.user_id, s.video_id, s.acts FROM json_each(:pairs) AS j CROSS JOIN "
    "action_states AS s ON s.fold = :fold AND s.user_id = json_extract(j.value, '$[0]') "
    "AND s.video_id = json_extract(j.value, '$[1]')"
)
_PAIRS = "unnest(CAST(:users AS VARCHAR[]), CAST(:videos AS VARCHAR[]))"
# Creates missing rows and locks existing ones in one statement (the no-op update takes the
# row lock), returning every row's state.
_PG_LOCK = (
    "INSERT INTO action_states AS s (fold, user_id, video_id, acts) "
    f"SELECT :fold, u, v, CAST('[]' AS JSON) FROM {_PAIRS} AS t(u, v) "
    "ON CONFLICT (fold, user_id, video_id) DO UPDATE SET acts = s.acts "
    "RETURNING s.user_id, s.video_id, s.acts"
)
# An upsert, not UPDATE ... FROM: the conflict check probes the primary key per row, where
# the planner joins an UPDATE's array by scanning the whole table.
_PG_UPDATE = (
    "INSERT INTO action_states AS s (fold, user_id, video_id, acts) "
    "SELECT :fold, u, v, CAST(a AS JSON) FROM unnest(CAST(:users AS VARCHAR[]), "
    "CAST(:videos AS VARCHAR[]), CAST(:acts AS TEXT[])) AS t(u, v, a) "
    "ON CONFLICT (fold, user_id, video_id) DO UPDATE SET acts = EXCLUDED.acts"
)
