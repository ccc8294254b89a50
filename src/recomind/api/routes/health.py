"""``/healthz`` (the process is up) and ``/readyz`` (database and cache answer)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from recomind.api.deps import StateDep
from recomind.storage.engine import ping

router = APIRouter(tags=["operations"])


_OK = b'{"status":"ok"}'


@router.get("/healthz", response_model=dict[str, str])
async def healthz() -> Response:
    """The process is up (no dependency is asked: load balancers call this often)."""
    return Response(content=_OK, media_type="application/json")


@router.get("/readyz")
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
