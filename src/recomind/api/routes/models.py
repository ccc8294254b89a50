"""``GET /models`` and ``GET /models/{version}``: the model registry, read-only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel

from recomind.api.deps import StateDep
from recomind.api.responses import errors
from recomind.serving.model_registry import ModelRegistry, UnknownVersion
from recomind.serving.model_store import ModelStore

router = APIRouter(tags=["models"])
#: A stored version's name (``20261130T120000123456Z-1a2b3c``): never a path of its own.
VERSION_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z_.-]{0,63}$"


class ModelRow(BaseModel):
    """One stored version (see ``recomind models list``)."""

    version: str
    status: str
    trained_at: float | None = None
    events: int | None = None
    ranker: bool
    gate: str | None = None
    figures: dict[str, float]


class ModelDetail(BaseModel):
    """A version's status, ``meta.json`` (gate figures of every contestant) and journal."""

    version: str
    status: str
    meta: dict[str, Any]
    journal: list[dict[str, Any]]


def _registry(state: StateDep) -> ModelRegistry | None:
    root = state.settings.model_dir
    return ModelRegistry(ModelStore(root)) if root else None


@router.get("/models", response_model=list[ModelRow], responses=errors(inputs=False, store=False))
def list_models(state: StateDep) -> list[dict[str, Any]]:
    """Every stored version, newest first (empty without a model directory)."""
    registry = _registry(state)
    return registry.list() if registry is not None else []


@router.get("/models/{version}", response_model=ModelDetail, responses=errors(404, store=False))
def show_model(
    version: Annotated[str, Path(pattern=VERSION_PATTERN, min_length=1, max_length=64)],
    state: StateDep,
) -> dict[str, Any]:
    registry = _registry(state)
    try:
        if registry is None:
            raise UnknownVersion(version)
        return registry.show(version)
    except UnknownVersion:
        raise HTTPException(status_code=404, detail=f"no model version {version!r}") from None
