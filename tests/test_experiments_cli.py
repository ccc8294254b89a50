"""``recomind experiments create|list|show|results|stop|ship``, run as a user runs them."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from recomind.storage import migrate
from tests.test_cli import _run


@pytest.fixture
def db_env(tmp_path: Path) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'experiments.db'}"
    migrate.upgrade(url)
    return {"RECOMIND_DATABASE_URL": url, "RECOMIND_LAKE_URL": f"file://{tmp_path / 'lake'}"}


def test_create_list_show_results_stop_and_ship(db_env: dict[str, str]) -> None:
    made = _run("experiments", "create", "--name", "t1", "--variant", "control=current",
                "--variant", "trend=trending@2", "--horizon-users", "100", env=db_env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    doc = orjson.loads(made.stdout)
    assert doc["status"] == "running" and doc["variants"][1]["weight"] == 2
    clash = _run("experiments", "create", "--name", "t2", "--variant", "a=current",
                 "--variant", "b=trending", env=db_env)  # fmt: skip
    assert clash.returncode == 1 and "one running experiment" in clash.stdout
    bad = _run("experiments", "create", "--name", "t3", "--variant", "a=current",
               "--variant", "b=nope", env=db_env)  # fmt: skip
    assert bad.returncode == 2 and "variants[1].ranker" in bad.stdout
    listed = _run("experiments", "list", env=db_env)
    assert listed.returncode == 0 and "t1" in listed.stdout
    shown = _run("experiments", "show", "t1", env=db_env)
    assert orjson.loads(shown.stdout)["name"] == "t1"
    results = _run("experiments", "results", "t1", env=db_env)
    assert results.returncode == 0, results.stderr
    figures = orjson.loads(results.stdout)
    assert figures["verdict"]["status"] == "collecting"
    assert [v["users"] for v in figures["variants"]] == [0, 0]
    no_winner = _run("experiments", "ship", "t1", env=db_env)
    assert no_winner.returncode == 1 and "no winner" in no_winner.stdout
    shipped = _run("experiments", "ship", "t1", "--variant", "trend", env=db_env)
    assert orjson.loads(shipped.stdout)["status"] == "shipped"
    again = _run("experiments", "stop", "t1", env=db_env)
    assert again.returncode == 1 and "shipped already" in again.stdout
    assert _run("experiments", "show", "absent", env=db_env).returncode == 1
