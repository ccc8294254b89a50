"""Write a run's results as Markdown, JSON and a PNG bar chart of NDCG@10."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from .runner import RunResult

logger = logging.getLogger(__name__)

CI_COLUMN = "NDCG@10 95% CI"


def _fmt_params(params: dict[str, Any]) -> str:
    shown = {k: v for k, v in params.items() if k not in ("num_threads", "random_state", "block")}
    return ", ".join(f"{k}={v}" for k, v in shown.items()) or "-"


def _fmt(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.4f}"


def metric_names(run: RunResult) -> list[str]:
    """Metric columns in report order (taken from the first model that produced metrics)."""
    for model in run.models:
        if model.metrics:
            return list(model.metrics)
    return []


def markdown(run: RunResult) -> str:
    """The results table of one run, with a line describing the setup."""
    names = metric_names(run)
    sample = f", sample of {run.sample_users} users" if run.sample_users else ""
    tune = f"{run.tune_users:,} validation users" if run.tune_users else "all validation users"
    lines = [
        f"### {run.dataset} ({run.protocol}{sample}{', fast grids' if run.fast else ''})",
        "",
        f"{run.n_users:,} users, {run.n_items:,} items, {run.n_events:,} events; "
        f"{run.n_test_users:,} test users; tuned on {tune}; "
        f"wall time {run.wall_seconds:.0f} s.",
        "",
        "| model | parameters | " + " | ".join(names) + f" | {CI_COLUMN} | fit s | score s |",
        "|---|---|" + "---:|" * (len(names) + 3),
    ]
    for m in run.models:
        if m.error:
            lines.append(f"| {m.label} | failed: {m.error} |" + " |" * (len(names) + 3))
            continue
        cells = [_fmt(m.metrics.get(n, float("nan"))) for n in names]
        interval = m.intervals.get("NDCG@10")
        cells.append(f"{interval[0]:.4f} - {interval[1]:.4f}" if interval else "n/a")
        lines.append(
            f"| {m.label} | {_fmt_params(m.params)} | "
            + " | ".join(cells)
            + f" | {m.fit_seconds:.1f} | {m.score_seconds:.1f} |"
        )
    lines.append("")
    lines.extend(comparison_lines(run))
    return "\n".join(lines)


def comparison_lines(run: RunResult) -> list[str]:
    """One sentence per paired comparison (see :mod:`.significance`)."""
    out = []
    for c in run.comparisons:
        out.append(
            f"Paired over the same {c['users']:,} test users, {c['model']} minus "
            f"{c['baseline']} on {c['metric']}: {c['difference']:+.4f} "
            f"({c['confidence']:.0%} bootstrap interval {c['low']:+.4f} to {c['high']:+.4f}; "
            f"paired t-test p = {c['p_value']:.2g})."
        )
        out.append("")
    return out


def bar_chart(run: RunResult, path: Path) -> None:
    """A horizontal bar chart of NDCG@10 per model (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [m for m in run.models if not m.error]
    fig, ax = plt.subplots(figsize=(7, 0.45 * max(len(done), 2) + 1.2))
    labels = [m.label for m in done]
    values = [m.metrics.get("NDCG@10", 0.0) for m in done]
    # Error bars: the 95% bootstrap interval over test users (none where it is missing).
    spans = [m.intervals.get("NDCG@10", [v, v]) for m, v in zip(done, values, strict=True)]
    xerr = [[v - lo for v, (lo, _) in zip(values, spans, strict=True)],
            [hi - v for v, (_, hi) in zip(values, spans, strict=True)]]  # fmt: skip
    colors = ["#1f77b4" if lab.startswith("recomind:") else "#aaaaaa" for lab in labels]
    ax.barh(labels, values, color=colors, xerr=xerr, ecolor="#333333", capsize=2)
    ax.invert_yaxis()
    for y, (v, (_, hi)) in enumerate(zip(values, spans, strict=True)):
        ax.text(max(v, hi), y, f" {v:.4f}", va="center", fontsize=8)
    ax.set_xlabel("NDCG@10 (test; bars: 95% bootstrap interval over users)")
    ax.set_title(f"{run.dataset}: NDCG@10 ({run.protocol})")
    ax.set_xlim(0, max([*values, *(hi for _, hi in spans), 1e-3]) * 1.2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _json_safe(value: Any) -> Any:
    """NaN/inf become ``null`` so the file is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def write(run: RunResult, out_dir: Path | str) -> dict[str, Path]:
    """Write ``<dataset>.md``, ``<dataset>.json`` and ``<dataset>-ndcg10.png`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "markdown": out / f"{run.dataset}.md",
        "json": out / f"{run.dataset}.json",
        "png": out / f"{run.dataset}-ndcg10.png",
    }
    paths["markdown"].write_text(markdown(run), encoding="utf-8")
    paths["json"].write_text(
        json.dumps(_json_safe(run.to_dict()), indent=2, default=str), encoding="utf-8"
    )
    bar_chart(run, paths["png"])
    logger.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return paths
