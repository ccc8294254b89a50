"""The bearer scheme in the OpenAPI schema, declared once for every operation: /docs gets an
Authorize button, open operations say ``security: []``, guarded ones list 401 and 403."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from recomind.api.access import Policy

SCHEME = "bearer"
_ERROR = {
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error", "message"],
                "properties": {
                    "error": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                },
            }
        }
    }
}
_401 = {
    "description": "No credential, or one that is not valid (`WWW-Authenticate: Bearer`)",
    "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
    **_ERROR,
}
_403 = {"description": "The credential may not do this (scope, or another user)", **_ERROR}


def install(app: FastAPI, policy: Policy) -> None:
    """Replace ``app.openapi`` with one that adds the scheme and each operation's needs."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schema.setdefault("components", {})["securitySchemes"] = {
            SCHEME: {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key `rmk_<key_id>_<secret>` or a user token (JWT)",
            }
        }
        schema["security"] = [{SCHEME: []}]
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if policy.rule(method.upper(), path).scope is None:
                    operation["security"] = []
                    continue
                responses = operation.setdefault("responses", {})
                responses.setdefault("401", _401)
                responses.setdefault("403", _403)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
