"""``/healthz`` (the process is up) and ``/readyz`` (database and cache answer)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from recomind.api.deps import StateDep
from recomind.api.responses import errors
from recomind.storage.engine import ping

router = APIRouter(tags=["operations"])


_OK = b'{"status":"ok"}'


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    """``ok`` with every check ``ok`` (200), else ``unavailable`` (503), per dependency."""

    status: str
    checks: dict[str, str]


_PROBE = errors(inputs=False, public=True, store=False)


@router.get("/healthz", response_model=Health, responses=_PROBE)
async def healthz() -> Response:
    """The process is up (no dependency is asked: load balancers call this often)."""
    return Response(content=_OK, media_type="application/json")


@router.get(
    "/readyz",
    response_model=Ready,
    responses={**_PROBE, 503: {"model": Ready, "description": "A dependency does not answer"}},
)
def readyz(state: StateDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        ping(state.engine)
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means not ready
        checks["database"] = f"error: {type(exc).__name__}"
    checks["cache"] = "ok" if state.cache.ping() else "error: no answer"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse(
        status_code=200 if ok else 503,
        content={"status": "ok" if ok else "unavailable", "checks": checks},
    )
