"""An experiment's results: the served-list log joined to the event lake, per variant and user.

Each action joins to its impression as in :mod:`recomind.analytics.online` (the newest page
item showing that video to that user before the action, within ``window_s``), over the
impressions whose ``variant`` is ``"<experiment>:<variant>"``. Each user's totals (impressions,
likes, skips, the sum of watch fractions) go to :func:`~recomind.analytics.ab_stats.verdict` in
the order users were first served, so the fixed horizon takes exactly the first users. The
``over_time`` series is cumulative per hour (users by their first impression's hour).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from recomind.analytics._duckdb import connect
from recomind.analytics.ab_stats import ALPHA, METRICS, UserTotals, difference, figures, verdict
from recomind.analytics.online import outcomes_ctes
from recomind.experiment_spec import Experiment

_PER_IMPRESSION = (
    """
WITH imp AS (
    SELECT served_at, request_id, user_id, position, video_id, variant
    FROM impressions WHERE starts_with(variant, $prefix)
),"""
    + outcomes_ctes("imp")
    + """
SELECT substr(i.variant, length($prefix) + 1) AS variant, i.user_id, i.served_at,
       coalesce(o.liked, false)::INT AS liked, coalesce(o.skipped, false)::INT AS skipped,
       coalesce(o.watched, 0.0) AS watched
FROM imp i LEFT JOIN outcomes o ON o.request_id = i.request_id AND o.position = i.position
"""
)

_PER_USER = """
SELECT variant, user_id, min(served_at) AS first_at, count(*) AS impressions,
       sum(liked) AS likes, sum(skipped) AS skips, sum(watched) AS watched
FROM per_impression GROUP BY variant, user_id ORDER BY variant, first_at, user_id
"""

_PER_HOUR = """
SELECT variant, date_trunc('hour', served_at) AS hour, count(*) AS impressions,
       sum(liked) AS likes, sum(skipped) AS skips, sum(watched) AS watched
FROM per_impression GROUP BY variant, hour ORDER BY hour, variant
"""


def finite(x: float) -> float | None:
    """JSON never holds NaN or infinity: ``None`` instead."""
    return float(x) if math.isfinite(x) else None


def experiment_rows(
    experiment: Experiment,
    impressions: pa.Table,
    events: pa.Table,
    durations: pa.Table,
    *,
    window_s: float,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """``(per user rows, per hour rows)`` of :data:`_PER_USER` and :data:`_PER_HOUR`."""
    if impressions.num_rows == 0:
        return [], []
    con = connect()
    try:
        con.register("impressions", impressions)
        con.register("events", events)
        con.register("durations", durations)
        params = {"prefix": f"{experiment.name}:", "window_us": int(window_s * 1e6)}
        con.execute(f"CREATE TEMP TABLE per_impression AS {_PER_IMPRESSION}", params)
        users = con.execute(_PER_USER).fetchall()
        hours = con.execute(_PER_HOUR).fetchall()
    finally:
        con.close()
    return users, hours


def results(
    experiment: Experiment,
    users: list[tuple[Any, ...]],
    hours: list[tuple[Any, ...]],
    *,
    generated_at: str,
) -> dict[str, Any]:
    """The ``GET /experiments/{name}/results`` body (docs/experiments.md)."""
    names = [v.name for v in experiment.variants]
    rows: dict[str, list[tuple[float, float, float, float]]] = {n: [] for n in names}
    for variant, _, _, n, likes, skips, watched in users:
        if variant in rows:
            rows[variant].append((float(n), float(likes), float(skips), float(watched)))
    totals = {n: UserTotals.of(rows[n]) for n in names}
    weights = {v.name: v.weight for v in experiment.variants}
    control = experiment.control
    judged = verdict(
        totals,
        weights,
        control=control,
        horizon_users=experiment.horizon_users,
        primary=experiment.primary,
    )
    now = {n: figures(n, totals[n]) for n in names}
    winner = judged.winner
    if judged.status == "decided" and winner is None:
        winner = _control_won(judged.differences, control, experiment.primary, len(names))
    if judged.status == "decided":
        diffs = judged.differences
    else:  # shown as it stands, not a verdict (fixed horizon: docs/experiments.md)
        alpha = ALPHA / max(1, len(names) - 1)
        diffs = [
            difference(n, now[n].metrics[m], now[control].metrics[m], m, alpha=alpha)
            for n in names
            if n != control
            for m in METRICS
        ]
    return {
        "experiment": experiment.name,
        "status": experiment.status,
        "control": control,
        "horizon_users": experiment.horizon_users,
        "primary": experiment.primary,
        "generated_at": generated_at,
        "variants": [
            {
                "name": v.name,
                "ranker": v.ranker,
                "weight": v.weight,
                "users": now[v.name].users,
                "impressions": now[v.name].impressions,
                "metrics": {
                    m: {"value": finite(e.value), "low": finite(e.low), "high": finite(e.high)}
                    for m, e in now[v.name].metrics.items()
                },
            }
            for v in experiment.variants
        ],
        "differences": [
            {
                "variant": d.variant,
                "metric": d.metric,
                "difference": finite(d.difference),
                "relative": finite(d.relative),
                "low": finite(d.low),
                "high": finite(d.high),
                "p_value": finite(d.p_value),
                "significant": bool(d.significant and judged.status == "decided"),
            }
            for d in diffs
        ],
        "srm_p_value": finite(judged.srm_p_value),
        "verdict": {
            "status": judged.status,
            "winner": winner,
            "caveats": list(judged.caveats),
        },
        "over_time": over_time(names, users, hours),
    }


def _control_won(diffs: list[Any], control: str, primary: str, variants: int) -> str | None:
    """Control is the winner when it beats every treatment significantly on the primary
    metric (ab_stats names only a winning treatment)."""
    up = METRICS[primary]
    beaten = [
        d
        for d in diffs
        if d.metric == primary and d.significant and d.difference and (d.difference < 0) == up
    ]
    return control if len(beaten) == variants - 1 else None


def over_time(
    names: list[str], users: list[tuple[Any, ...]], hours: list[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """Cumulative figures per variant at the end of each hour with impressions."""
    new_users: dict[tuple[str, Any], int] = {}
    for variant, _, first_at, *_ in users:
        hour = first_at.replace(minute=0, second=0, microsecond=0)
        new_users[variant, hour] = new_users.get((variant, hour), 0) + 1
    sums: Mapping[str, np.ndarray] = {n: np.zeros(5) for n in names}
    out: list[dict[str, Any]] = []
    for hour in sorted({h for _, h, *_ in hours}):
        for variant, h, n, likes, skips, watched in hours:
            if h == hour and variant in sums:
                sums[variant] += (new_users.get((variant, h), 0), n, likes, skips, watched)
        for name in names:
            u, n, likes, skips, watched = (float(x) for x in sums[name])
            if n == 0:
                continue
            out.append(
                {
                    "at": hour.isoformat() + "Z",
                    "variant": name,
                    "users": int(u),
                    "impressions": int(n),
                    "like_rate": likes / n,
                    "skip_rate": skips / n,
                    "watch_fraction": watched / n,
                }
            )
    return out
