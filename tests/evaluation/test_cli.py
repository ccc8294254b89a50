"""The ``evaluate`` command: mounting, the missing-data message, a tiny run writing files."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from recomind.evaluation.cli import app

runner = CliRunner()


def _mounted() -> typer.Typer:
    main = typer.Typer()
    main.add_typer(app)  # how the main ``recomind`` CLI mounts it
    return main


def test_missing_data_dir_exits_2_and_names_the_path(tmp_path: Path) -> None:
    result = runner.invoke(
        _mounted(),
        ["evaluate", "--dataset", "microlens-50k", "--data-dir", str(tmp_path / "nowhere")],
    )
    assert result.exit_code == 2
    assert "MicroLens-50k" in result.output and "westlake-repl" in result.output


def test_unknown_model_exits_2(movielens_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        _mounted(),
        ["evaluate", "--dataset", "movielens-small", "--data-dir", str(movielens_dir),
         "--models", "nope", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "unknown model 'nope'" in result.output


def test_tiny_run_writes_reports(movielens_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        _mounted(),
        ["evaluate", "--dataset", "movielens-small", "--data-dir", str(movielens_dir),
         "--models", "most-popular", "--sample-users", "50", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("movielens-small.md", "movielens-small.json", "movielens-small-ndcg10.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert "| most-popular |" in result.output
