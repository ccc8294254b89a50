"""The API against its own OpenAPI schema: a bounded schemathesis run, fixed seed, every
operation, every check; it must find nothing."""

from __future__ import annotations

import tempfile
import time
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from recomind.api.app import create_app
from recomind.config import Settings
from tests.contract.conftest import auth_headers
from tests.utils.stacks import Api

SEED = 15
MAX_EXAMPLES = 25


def _app_schema() -> dict[str, Any]:
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
schema = schemathesis.openapi.from_dict(
    SCHEMA_DOC,
    config=schemathesis.Config.from_dict(
        {"seed": SEED, "generation": {"max-examples": MAX_EXAMPLES}}
    ),
)

_counts: dict[str, int] = {}
_started = time.perf_counter()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_keeps_its_contract(case: schemathesis.Case, contract_api: Api) -> None:
    label = f"{case.method} {case.path}"
    _counts[label] = _counts.get(label, 0) + 1
    case.call_and_validate(base_url=contract_api.base_url, headers=auth_headers())
