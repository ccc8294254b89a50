"""Data functions over ``action_states``: what one user's actions on one video can still
count, per fold (:func:`recomind.weights.pair_state`).

A fold reads the states of a batch's pairs locked, and writes them back in the same
transaction as its own rows and its consumer offsets. Every function takes a
:class:`sqlalchemy.Connection` so callers choose the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select, tuple_, update

from recomind.storage.inserts import insert_ignore
from recomind.storage.tables import action_states
from recomind.weights import Act

#: ``(user_id, video_id)``
Pair = tuple[str, str]
CHUNK = 500


def _acts(value: Any) -> list[Act]:
    return [(str(kind), int(at), float(w)) for kind, at, w in value or []]


def lock_states(conn: Connection, *, fold: str, pairs: Sequence[Pair]) -> dict[Pair, list[Act]]:
    """The stored state of each of ``pairs`` (``[]`` where there is none), read locked
    (``FOR UPDATE``) until the transaction ends; rows are created empty first, so two
    writers of a new pair wait for each other."""
    wanted = sorted(set(pairs))
    c = action_states.c
    insert_ignore(
        conn,
        action_states,
        [{"fold": fold, "user_id": u, "video_id": v, "acts": []} for u, v in wanted],
    )
    found: dict[Pair, list[Act]] = {}
    for i in range(0, len(wanted), CHUNK):
        chunk = wanted[i : i + CHUNK]
        stmt = (
            select(c.user_id, c.video_id, c.acts)
            .where(c.fold == fold, tuple_(c.user_id, c.video_id).in_(chunk))
            .with_for_update()
        )
        for user_id, video_id, acts in conn.execute(stmt):
            found[(user_id, video_id)] = _acts(acts)
    # A case-insensitive collation (MariaDB) may hand a pair back spelled as first stored.
    folded = {(u.lower(), v.lower()): acts for (u, v), acts in found.items()}
    return {p: found.get(p, folded.get((p[0].lower(), p[1].lower()), [])) for p in wanted}


def save_states(conn: Connection, *, fold: str, states: Mapping[Pair, Sequence[Act]]) -> None:
    """Write back states :func:`lock_states` locked: one UPDATE executed for all of them."""
    if not states:
        return
    c = action_states.c
    stmt = (
        update(action_states)
        .where(
            c.fold == bindparam("b_fold"),
            c.user_id == bindparam("b_user_id"),
            c.video_id == bindparam("b_video_id"),
        )
        .values(acts=bindparam("b_acts", type_=c.acts.type))
    )
    conn.execute(
        stmt,
        [
            {"b_fold": fold, "b_user_id": u, "b_video_id": v, "b_acts": [list(a) for a in acts]}
            for (u, v), acts in sorted(states.items())
        ],
    )


def clear_states(conn: Connection, *, fold: str) -> None:
    """Delete every state of ``fold`` (a rebuild folds all events again in the same
    transaction)."""
    conn.execute(delete(action_states).where(action_states.c.fold == fold))
