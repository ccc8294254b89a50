"""The error model and the OpenAPI ``responses=`` of every route: which status codes it can
answer, each with the JSON shape :mod:`recomind.api.errors` writes.

One call per route: ``@router.get(..., responses=errors(404))``. Every route documents 429
(rate limits apply to every path) and, unless ``public``, 401 and 403; a route with inputs
422; with a body 413; one that reads the database, cache or bus 503. ``*codes`` adds the
route's own (404, 409, 400). ``success`` merges a success code's extra documentation
(headers) into the same dict.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Path
from pydantic import BaseModel, ConfigDict, Field

from recomind.config import Settings
from recomind.schemas import ID_MAX, ID_PATTERN


class FieldProblem(BaseModel):
    """One wrong field of a request."""

    field: str = Field(description="Where: body.watch_time_ms, query.n, path.user_id, ...")
    message: str = Field(description="What was expected, and what came")


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer: a code, a message naming the field, and details."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(
        description="validation_error, not_found, conflict, unauthorized, forbidden, "
        "rate_limited, payload_too_large, method_not_allowed, unavailable, "
        "database_unavailable, http_error"
    )
    message: str
    field: str | None = Field(default=None, description="The field at fault, if one is")
    errors: list[FieldProblem] | None = Field(
        default=None, description="Every wrong field (validation_error)"
    )
    value: str | None = Field(default=None, description="The id not found or already there")
    retry_after_s: int | None = Field(default=None, description="As Retry-After (rate_limited)")


_DESCRIPTIONS = {
    400: "The request could not be read",
    401: "No credentials, or credentials not known (WWW-Authenticate: Bearer)",
    403: "The credentials lack the scope, or act for another user",
    404: "The object named in the path (or body) does not exist",
    409: "An object with that id already exists",
    413: "The body is larger than this route accepts",
    422: "A field is wrong: `field` names it, `errors` lists every one",
    429: "Over a rate limit; retry after Retry-After seconds",
    503: "The database, cache or event bus does not answer; retry after Retry-After seconds",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    503: {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
}

Responses = dict[int | str, dict[str, Any]]
#: Marks the ``n`` parameter of a page in the schema (:func:`bound_page_size`).
PAGE_SIZE_MARK = "x-recomind-page-size"


def error(code: int, description: str | None = None) -> dict[str, Any]:
    """The ``responses`` entry of one error code: the error model and its headers."""
    entry: dict[str, Any] = {
        "model": ErrorBody,
        "description": description or _DESCRIPTIONS.get(code, "Error"),
    }
    if code in _HEADERS:
        entry["headers"] = _HEADERS[code]
    return entry


def errors(
    *codes: int,
    body: bool = False,
    inputs: bool = True,
    public: bool = False,
    store: bool = True,
    success: Responses | None = None,
) -> Responses:
    """``responses=`` for a route; see the module docstring for what each flag adds."""
    wanted = {429, *codes}
    if not public:
        wanted |= {401, 403}
    if body:
        wanted |= {413, 422}
    if inputs:
        wanted.add(422)
    if store:
        wanted.add(503)
    out: Responses = {code: error(code) for code in sorted(wanted)}
    out.update(success or {})
    return out


def bound_page_size(schema: dict[str, Any], *, max_n: int, default_n: int) -> dict[str, Any]:
    """Write the deployment's ``n`` bounds into every parameter marked as a page size
    (:data:`PAGE_SIZE_MARK`): the bounds are settings, not constants."""
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if PAGE_SIZE_MARK in parameter.get("schema", {}):
                    parameter["schema"] = {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": max_n,
                        "default": default_n,
                        "title": "N",
                    }
    return schema


def id_path(description: str, example: str) -> Any:
    """An id in the path: its pattern and length, and an example a demo catalogue holds."""
    return Path(
        pattern=ID_PATTERN,
        min_length=1,
        max_length=ID_MAX,
        description=description,
        openapi_examples={"stored": {"summary": "an id the demo holds", "value": example}},
    )


def install(app: FastAPI, settings: Settings) -> None:
    """``app.openapi()`` with the deployment's bounds written in (:func:`bound_page_size`)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = bound_page_size(
                build(), max_n=settings.max_n, default_n=settings.default_n
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
