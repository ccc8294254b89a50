"""``/experiments``: A/B tests of rankers (admin; docs/experiments.md).

Every change (create, stop, ship) reloads this process's experiments at once; other processes
follow within ``experiments_refresh_s``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from recomind.api.deps import StateDep
from recomind.api.errors import FieldError
from recomind.api.responses import errors
from recomind.api.state import AppState
from recomind.experiment_spec import MAX_VARIANTS, MIN_HORIZON, NAME_RE, Experiment, SpecError
from recomind.schemas import StrictModel
from recomind.serving import experiment_admin as admin
from recomind.serving.experiment_admin import Results

router = APIRouter(tags=["experiments"])
Name = Annotated[str, Path(pattern=f"^{NAME_RE.pattern}$", description="The experiment's name")]


def _a_number(value: object) -> object:
    """A JSON number (``2.0`` is a whole one); ``true`` or ``"2"`` is a client bug."""
    if isinstance(value, bool | str):
        raise ValueError("expected a JSON number")
    return value


Ranker = Literal["current", "trending", "tag-affinity"]
Named = Annotated[str, Field(strict=True, pattern=f"^{NAME_RE.pattern}$")]


class VariantBody(BaseModel):
    name: str
    ranker: str = Field(description="current | trending | tag-affinity")
    weight: float = 1.0


class VariantIn(StrictModel):
    name: Named
    ranker: Ranker = Field(
        description="current (what serves now), trending, tag-affinity; model:<version> and "
        "strategy:<name> are not served yet (docs/experiments.md)"
    )
    weight: Annotated[
        float, Field(gt=0, le=1_000_000, allow_inf_nan=False), BeforeValidator(_a_number)
    ] = 1.0


class ExperimentIn(StrictModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
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
        },
    )

    name: Named
    surface: Literal["recommendations"] = "recommendations"
    variants: Annotated[list[VariantIn], Field(min_length=2, max_length=MAX_VARIANTS)] = Field(
        description="The first is control; names differ"
    )
    salt: Annotated[str, Field(strict=True, max_length=128)] | None = None
    horizon_users: Annotated[
        int, Field(ge=MIN_HORIZON, le=10_000_000), BeforeValidator(_a_number)
    ] = 500
    primary: Literal["like_rate", "skip_rate", "watch_fraction"] = "like_rate"
    min_users: Annotated[
        int | None,
        Field(ge=MIN_HORIZON, le=10_000_000, description="The issue's name for horizon_users"),
        BeforeValidator(_a_number),
    ] = None


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


class ShipBody(StrictModel):
    variant: Named | None = Field(default=None, description="Default: the verdict's winner")


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
    responses=errors(409, body=True),
)
def create_experiment(state: StateDep, body: ExperimentIn) -> dict[str, Any]:
    """Start an experiment on a surface (one running experiment per surface: 409 while
    another runs); the first variant is control. Users are assigned by ``sha256(salt:user_id)``."""
    try:
        spec = body.model_dump(exclude={"min_users"})
        if body.min_users is not None and "horizon_users" not in body.model_fields_set:
            spec["horizon_users"] = body.min_users
        return _changed(state, admin.create(state.engine, spec))
    except SpecError as exc:
        raise FieldError(f"body.{exc.field}", exc.message, status_code=exc.status) from exc


@router.get("/experiments", response_model=ExperimentList, responses=errors(inputs=False))
def list_experiments(state: StateDep) -> dict[str, Any]:
    """Every experiment, newest first."""
    return {"experiments": [e.to_json() for e in admin.every(state.engine)]}


@router.get("/experiments/{name}", response_model=ExperimentOut, responses=errors(404))
def show_experiment(name: Name, state: StateDep) -> dict[str, Any]:
    return admin.show(state.engine, name).to_json()


@router.get("/experiments/{name}/results", responses=errors(404))
def experiment_results(name: Name, state: StateDep) -> dict[str, Any]:
    """Per variant: users, impressions, like rate, skip rate and watch fraction with 95 %
    intervals; differences against control; the SRM check and the fixed-horizon verdict;
    the cumulative figures per hour. Reused for a few seconds (the lake is read whole)."""
    return _results(state).get(admin.show(state.engine, name))


@router.post("/experiments/{name}/stop", response_model=ExperimentOut, responses=errors(404, 409))
def stop_experiment(name: Name, state: StateDep) -> dict[str, Any]:
    """End the experiment: everyone is served as before it."""
    return _changed(state, admin.stop(state.engine, name))


@router.post(
    "/experiments/{name}/ship", response_model=ExperimentOut, responses=errors(404, 409, body=True)
)
def ship_experiment(
    name: Name, state: StateDep, body: Annotated[ShipBody | None, Body()] = None
) -> dict[str, Any]:
    """End the experiment and serve the variant's ranker (default: the winner) to everyone."""
    variant = body.variant if body is not None else None
    try:
        shipped = admin.ship(state.engine, state.settings, name, variant, _results(state))
    except SpecError as exc:
        raise FieldError(f"body.{exc.field}", exc.message, status_code=exc.status) from exc
    return _changed(state, shipped)
