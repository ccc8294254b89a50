"""The API against its own OpenAPI schema: a bounded schemathesis run (fixed seed, every
operation, every check, examples + coverage + fuzzing phases) must find nothing: no server
error, no response outside the schema, no valid request refused, no invalid one accepted.

The schema is the app's own (``create_app(...).openapi()``, built at collection, the same
document the server serves: checked below); the requests go over HTTP to the embedded stack
under uvicorn, seeded with the ids the schema's examples name. The run's figures (cases per
operation, seconds) go to ``bench/results/fuzz.json`` and the terminal.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from recomind.api.app import create_app
from recomind.config import Settings
from tests.contract.conftest import SUMMARY, auth_headers
from tests.utils.stacks import Api

#: Fixed in CI; ``RECOMIND_FUZZ_SEED`` / ``RECOMIND_FUZZ_EXAMPLES`` run a deeper or other
#: search locally (the figures file says which ran).
SEED = int(os.environ.get("RECOMIND_FUZZ_SEED", "15"))
#: Examples per operation in the fuzzing phase (the examples and coverage phases add their
#: own cases): sized for about 2-4 minutes on a 2-core CI machine.
MAX_EXAMPLES = int(os.environ.get("RECOMIND_FUZZ_EXAMPLES", "500"))
RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "fuzz.json"


def _app_schema() -> dict[str, Any]:
    """The OpenAPI document of an app with the default bounds (what the test server has)."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            Settings(
                database_url=f"sqlite:///{tmp}/schema.db",
                cache_url="memory://",
                event_bus_url=f"sqlite:///{tmp}/bus.db",
                environment="test",
                jobs_interval_minutes=0,
            )
        )
        try:
            return app.openapi()
        finally:
            app.state.recomind.close()


SCHEMA_DOC = _app_schema()


def _bearer_scheme() -> dict[str, Any]:
    """schemathesis's ``auth`` for the schema's bearer scheme, with the fixture's token: it
    then knows the credential, sends it, and tests its absence (401) itself. Empty where the
    schema declares no scheme: the headers go with every call instead (:func:`_headers`)."""
    token = auth_headers().get("Authorization", "").removeprefix("Bearer ")
    schemes = SCHEMA_DOC.get("components", {}).get("securitySchemes", {})
    names = [name for name, s in schemes.items() if s.get("scheme") == "bearer"]
    return {"openapi": {names[0]: {"bearer": token}}} if token and names else {}


AUTH = _bearer_scheme()
schema = schemathesis.openapi.from_dict(
    SCHEMA_DOC,
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES},
            **({"auth": AUTH} if AUTH else {}),
        }
    ),
)


def _headers() -> dict[str, str]:
    return {} if AUTH else auth_headers()


_cases: dict[str, int] = {}
_statuses: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def _record() -> Iterator[None]:
    """Write the run's figures once every operation ran."""
    started = time.perf_counter()
    yield
    seconds = round(time.perf_counter() - started, 1)
    figures = {
        "schemathesis": schemathesis.__version__,
        "seed": SEED,
        "max_examples_per_operation": MAX_EXAMPLES,
        "operations": len(_cases),
        "cases": sum(_cases.values()),
        "seconds": seconds,
        "cases_per_operation": dict(sorted(_cases.items())),
        "statuses": dict(sorted(_statuses.items())),
    }
    every = sum(len(item) for item in SCHEMA_DOC["paths"].values())
    if len(_cases) == every:  # a run of some operations (-k) leaves the file alone
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    SUMMARY.append(
        f"fuzz: {figures['cases']} cases over {len(_cases)} of {every} operations in "
        f"{seconds} s (seed {SEED}, {MAX_EXAMPLES} examples each)"
    )


def test_the_server_serves_this_schema(contract_api: Api) -> None:
    assert contract_api.http.get("/openapi.json", headers=auth_headers()).json() == SCHEMA_DOC


def _within_what_the_schema_cannot_state(case: schemathesis.Case, api: Api) -> None:
    """Two rules of ``POST /video_action`` JSON Schema cannot state, applied to a valid case
    (every other field stays as generated; an invalid case is sent as generated):

    - the timestamp lies within ``event_max_age_s`` behind and ``event_max_future_s`` ahead
      of the server's clock: it is moved to now;
    - the watch time is at most ``event_max_watch_ratio`` times the video's duration (the
      stored video's, asked of the server): it is cut to that.
    """
    meta = case.meta
    positive = meta is not None and meta.generation.mode.is_positive
    body = case.body
    if not (positive and case.path == "/video_action" and isinstance(body, dict)):
        return
    if isinstance(body.get("timestamp"), str):
        body["timestamp"] = datetime.now(UTC).isoformat()
    watch = body.get("watch_time_ms")
    if isinstance(watch, int) and isinstance(body.get("video_id"), str):
        r = api.http.get(f"/videos/{body['video_id']}", headers=auth_headers())
        duration = r.json().get("duration_s") if r.status_code == 200 else None
        if duration is not None:
            cap = int(api.settings.event_max_watch_ratio * duration * 1000)
            body["watch_time_ms"] = min(watch, cap)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_keeps_its_contract(case: schemathesis.Case, contract_api: Api) -> None:
    label = case.operation.label
    _cases[label] = _cases.get(label, 0) + 1
    _within_what_the_schema_cannot_state(case, contract_api)
    response = case.call_and_validate(base_url=contract_api.base_url, headers=_headers())
    key = f"{case.method} {case.path} {response.status_code}"
    _statuses[key] = _statuses.get(key, 0) + 1
