"""The model registry: the journal, rejected versions, promote / rollback, pruning, the
``recomind models`` commands and ``GET /models`` (real model directories, no mocks)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from recomind.api.app import create_app
from recomind.cli import app as cli_app
from recomind.config import Settings
from recomind.recommend.base import Interactions
from recomind.recommend.hybrid import HybridRecommender
from recomind.serving.model_registry import ModelRegistry, NothingToRollBack, UnknownVersion
from recomind.serving.model_store import ModelStore
from tests.utils.credentials import admin_headers

FIGURES = {"figures": {"challenger": {"ndcg@10": 0.25, "recall@20": 0.5}}, "reason": "r"}


@pytest.fixture(scope="module")
def fitted(synthetic: Interactions) -> HybridRecommender:
    return HybridRecommender(components=["popularity", "content"]).fit(synthetic)


def _save(store: ModelStore, fitted: HybridRecommender, data: Interactions, **kw: object) -> str:
    return store.save(fitted, data, extra={"gate": FIGURES}, **kw)  # type: ignore[arg-type]


def test_rejected_is_kept_unpublished_and_journaled(
    tmp_path: Path, synthetic: Interactions, fitted: HybridRecommender
) -> None:
    store = ModelStore(tmp_path)
    first = _save(store, fitted, synthetic, reason="no model is serving")
    second = _save(store, fitted, synthetic, publish=False, reason="worse")
    assert store.latest() == first and second in store.versions()
    assert [(e["action"], e["version"]) for e in store.journal.entries()] == [
        ("published", first),
        ("rejected", second),
    ]
    rows = {r["version"]: r for r in ModelRegistry(store).list()}
    assert rows[first]["status"] == "serving" and rows[second]["status"] == "rejected"
    assert rows[first]["figures"] == {"ndcg@10": 0.25, "recall@20": 0.5}
    assert store.load() is not None and store.load().version == first  # type: ignore[union-attr]


def test_promote_and_rollback_round_trip(
    tmp_path: Path, synthetic: Interactions, fitted: HybridRecommender
) -> None:
    store = ModelStore(tmp_path)
    registry = ModelRegistry(store)
    with pytest.raises(NothingToRollBack):
        registry.rollback(by="t", reason="nothing yet")
    a = _save(store, fitted, synthetic)
    b = _save(store, fitted, synthetic, publish=False)
    registry.promote(b, by="t", reason="by hand")
    assert store.latest() == b
    assert {r["version"]: r["status"] for r in registry.list()} == {b: "serving", a: "previous"}
    assert registry.rollback(by="t", reason="oops") == a
    assert store.latest() == a
    detail = registry.show(b)
    assert detail["status"] == "previous"  # b served before a took over again
    assert [e["action"] for e in detail["journal"]] == ["rejected", "promoted"]
    with pytest.raises(UnknownVersion):
        registry.promote("nope", by="t", reason="")
    assert store.latest() == a  # an unknown version changes nothing


def test_prune_keeps_the_serving_and_the_previous_champion(
    tmp_path: Path, synthetic: Interactions, fitted: HybridRecommender
) -> None:
    store = ModelStore(tmp_path, keep=1)
    champion = _save(store, fitted, synthetic)
    successor = _save(store, fitted, synthetic)
    rejected = [_save(store, fitted, synthetic, publish=False) for _ in range(3)]
    kept = set(store.versions())
    assert {champion, successor, rejected[-1]} == kept  # older rejected ones went
    assert ModelRegistry(store).rollback(by="t", reason="") == champion


def test_models_commands(
    tmp_path: Path,
    synthetic: Interactions,
    fitted: HybridRecommender,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = ModelStore(tmp_path)
    a = _save(store, fitted, synthetic)
    b = _save(store, fitted, synthetic, publish=False, reason="worse")
    monkeypatch.setenv("RECOMIND_MODEL_DIR", str(tmp_path))
    runner = CliRunner()
    listed = runner.invoke(cli_app, ["models", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "serving" in listed.output and "rejected" in listed.output
    shown = runner.invoke(cli_app, ["models", "show", b])
    assert shown.exit_code == 0 and json.loads(shown.output)["status"] == "rejected"
    assert runner.invoke(cli_app, ["models", "show", "nope"]).exit_code == 1
    assert runner.invoke(cli_app, ["models", "promote", b]).exit_code == 0
    assert store.latest() == b
    assert runner.invoke(cli_app, ["models", "rollback"]).exit_code == 0
    assert store.latest() == a


def test_get_models(tmp_path: Path, synthetic: Interactions, fitted: HybridRecommender) -> None:
    store = ModelStore(tmp_path / "models")
    a = _save(store, fitted, synthetic)
    settings = Settings(database_url=f"sqlite:///{tmp_path}/db.sqlite", model_dir=str(store.root))
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)

    async def calls() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=admin_headers()
        ) as http:
            return (
                await http.get("/models"),
                await http.get(f"/models/{a}"),
                await http.get("/models/20990101T000000Z-abcdef"),
            )

    listed, shown, missing = asyncio.run(calls())
    assert listed.status_code == 200 and [r["version"] for r in listed.json()] == [a]
    assert listed.json()[0]["status"] == "serving"
    assert shown.status_code == 200 and shown.json()["meta"]["version"] == a
    assert missing.status_code == 404
    assert "20990101T000000Z-abcdef" in missing.json()["message"]
