"""``/experiments``: A/B tests of rankers (admin; docs/experiments.md).

Every change (create, stop, ship) reloads this process's experiments at once; other processes
follow within ``experiments_refresh_s``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, Field

from recomind.api.deps import StateDep
from recomind.api.errors import FieldError
from recomind.api.state import AppState
from recomind.experiment_spec import NAME_RE, Experiment, SpecError
from recomind.serving import experiment_admin as admin
from recomind.serving.experiment_admin import Results

router = APIRouter(tags=["experiments"])
Name = Annotated[str, Path(pattern=NAME_RE.pattern, description="The experiment's name")]
_404: dict[int | str, dict[str, Any]] = {404: {"description": "No such experiment"}}
_409: dict[int | str, dict[str, Any]] = {
    409: {"description": "The experiment has ended already (or, to ship, has no winner)"}
}


class VariantBody(BaseModel):
    name: str
    ranker: str = Field(description="current | trending | tag-affinity")
    weight: float = 1.0


class ExperimentOut(BaseModel):
    name: str
    surface: str
    status: Literal["running", "stopped", "shipped"]
    variants: list[VariantBody]
    salt: str
    horizon_users: int
    primary: str
    created_at: str | None
    stopped_at: str | None
    shipped_variant: str | None


class ExperimentList(BaseModel):
    experiments: list[ExperimentOut]


class ShipBody(BaseModel):
    variant: str | None = Field(default=None, description="Default: the verdict's winner")


def _results(state: AppState) -> Results:
    memo = state.experiment_results
    if memo is None:
        memo = Results(state.settings, state.engine)
        state.experiment_results = memo
    return memo


def _changed(state: AppState, experiment: Experiment) -> dict[str, Any]:
    state.recommendations.variants.refresh()
    return experiment.to_json()


@router.post(
    "/experiments",
    status_code=201,
    response_model=ExperimentOut,
    responses={409: {"description": "The name exists, or another experiment runs there"}},
)
def create_experiment(
    state: StateDep,
    body: Annotated[
        dict[str, Any],
        Body(
            examples=[
                {
                    "name": "ranker-test",
                    "surface": "recommendations",
                    "variants": [
                        {"name": "control", "ranker": "current", "weight": 1},
                        {"name": "trending", "ranker": "trending", "weight": 1},
                    ],
                    "horizon_users": 500,
                    "primary": "like_rate",
                }
            ]
        ),
    ],
) -> dict[str, Any]:
    """Start an experiment on a surface (one running experiment per surface); the first
    variant is control. Users are assigned by ``sha256(salt:user_id)``."""
    try:
        return _changed(state, admin.create(state.engine, body))
    except SpecError as exc:
        raise FieldError(exc.field, exc.message) from exc


@router.get("/experiments", response_model=ExperimentList)
def list_experiments(state: StateDep) -> dict[str, Any]:
    """Every experiment, newest first."""
    return {"experiments": [e.to_json() for e in admin.every(state.engine)]}


@router.get("/experiments/{name}", response_model=ExperimentOut, responses=_404)
def show_experiment(name: Name, state: StateDep) -> dict[str, Any]:
    return admin.show(state.engine, name).to_json()


@router.get("/experiments/{name}/results", responses=_404)
def experiment_results(name: Name, state: StateDep) -> dict[str, Any]:
    """Per variant: users, impressions, like rate, skip rate and watch fraction with 95 %
    intervals; differences against control; the SRM check and the fixed-horizon verdict;
    the cumulative figures per hour. Reused for a few seconds (the lake is read whole)."""
    return _results(state).get(admin.show(state.engine, name))


@router.post("/experiments/{name}/stop", response_model=ExperimentOut, responses={**_404, **_409})
def stop_experiment(name: Name, state: StateDep) -> dict[str, Any]:
    """End the experiment: everyone is served as before it."""
    return _changed(state, admin.stop(state.engine, name))


@router.post("/experiments/{name}/ship", response_model=ExperimentOut, responses={**_404, **_409})
def ship_experiment(
    name: Name, state: StateDep, body: Annotated[ShipBody | None, Body()] = None
) -> dict[str, Any]:
    """End the experiment and serve the variant's ranker (default: the winner) to everyone."""
    variant = body.variant if body is not None else None
    try:
        shipped = admin.ship(state.engine, state.settings, name, variant, _results(state))
    except SpecError as exc:
        raise FieldError(exc.field, exc.message) from exc
    return _changed(state, shipped)
