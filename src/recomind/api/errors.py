"""Every error a client can cause becomes JSON naming the field and what was expected.

Shape: ``{"error": code, "message": text, "field": "body.action_type", "errors": [...]}``.
A database that does not answer is a JSON 503 with ``Retry-After`` (never a plain-text 500)
where the cache cannot answer instead (:mod:`recomind.storage.outage`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from recomind.errors import ConflictError, NotFoundError, UnavailableError
from recomind.schemas import ID_PATTERN, ID_RULE
from recomind.storage import outage


class FieldError(Exception):
    """A request field is wrong in a way the schema cannot express."""

    def __init__(self, field: str, message: str, *, status_code: int = 422) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status_code = status_code


class ForbiddenError(Exception):
    """The credential is valid but may not do this (a user token acting as another user)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class RateLimitedError(Exception):
    """A client sent more than its rate limit allows: 429 with ``Retry-After``."""

    def __init__(self, field: str, message: str, *, retry_after_s: int) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.retry_after_s = retry_after_s


def error_body(code: str, message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message}
    if field is not None:
        body["field"] = field
    body.update(extra)
    return body


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for e in exc.errors():
        field = _loc(e.get("loc", ()))
        if e.get("type") == "json_invalid":
            msg = "expected a valid JSON body: " + str(
                e.get("ctx", {}).get("error", "invalid JSON")
            )
            field = "body"
        elif e.get("type") == "missing":
            msg = "is required"
        elif e.get("type") == "extra_forbidden":
            msg = "is not a known field"
        elif (
            e.get("type") == "string_pattern_mismatch"
            and e.get("ctx", {}).get("pattern") == ID_PATTERN
        ):
            msg = f"expected {ID_RULE}, got {e.get('input')!r}"
        else:  # a validator's own message, without pydantic's "Value error, " in front
            msg = str(e.get("msg", "is invalid")).removeprefix("Value error, ")
        errors.append({"field": field, "message": msg})
    first = errors[0] if errors else {"field": "body", "message": "is invalid"}
    return JSONResponse(
        status_code=422,
        content=error_body(
            "validation_error",
            f"{first['field']}: {first['message']}",
            first["field"],
            errors=errors,
        ),
    )


def _field(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FieldError)
    return JSONResponse(
        status_code=exc.status_code,
        content=error_body(
            "conflict" if exc.status_code == 409 else "validation_error",
            f"{exc.field}: {exc.message}",
            exc.field,
            errors=[{"field": exc.field, "message": exc.message}],
        ),
    )


def _not_found(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotFoundError)
    return JSONResponse(
        status_code=404,
        content=error_body("not_found", f"{exc.field}: {exc}", exc.field, value=exc.value),
    )


def _conflict(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ConflictError)
    return JSONResponse(
        status_code=409,
        content=error_body("conflict", f"{exc.field}: {exc}", exc.field, value=exc.value),
    )


def _forbidden(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ForbiddenError)
    return JSONResponse(
        status_code=403,
        content=error_body("forbidden", f"{exc.field}: {exc.message}", exc.field),
    )


def _rate_limited(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimitedError)
    return JSONResponse(
        status_code=429,
        headers={"Retry-After": str(exc.retry_after_s)},
        content=error_body(
            "rate_limited",
            f"{exc.field}: {exc.message}",
            exc.field,
            retry_after_s=exc.retry_after_s,
        ),
    )


def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        status_code=503,
        headers={"Retry-After": "1"},
        content=error_body("unavailable", f"try again shortly: {exc}"),
    )


def _database_down(_: Request, exc: Exception) -> JSONResponse:
    """The database cannot be reached (refused, down, pool timeout) and the cache could not
    answer instead: a JSON 503 the client retries, one warning per outage window
    (:mod:`recomind.storage.outage`)."""
    outage.answered_503(exc)
    return JSONResponse(
        status_code=503,
        headers={"Retry-After": "5"},
        content=error_body("database_unavailable", "the database is not answering; retry"),
    )


#: FastAPI's answer to a body ``json.loads`` cannot read (bad UTF-8, nesting too deep, an
#: integer of thousands of digits): the same 422 as any other invalid JSON.
UNREADABLE_BODY = "There was an error parsing the body"


def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == UNREADABLE_BODY:
        msg = "expected a valid JSON body in UTF-8 (nesting and numbers within reason)"
        return JSONResponse(
            status_code=422,
            content=error_body(
                "validation_error",
                f"body: {msg}",
                "body",
                errors=[{"field": "body", "message": msg}],
            ),
        )
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
        exc.status_code, "http_error"
    )
    return JSONResponse(
        status_code=exc.status_code,
        content=error_body(code, str(exc.detail)),
        headers=getattr(exc, "headers", None),
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(FieldError, _field)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(ConflictError, _conflict)
    app.add_exception_handler(UnavailableError, _unavailable)
    app.add_exception_handler(RateLimitedError, _rate_limited)
    app.add_exception_handler(ForbiddenError, _forbidden)
    app.add_exception_handler(StarletteHTTPException, _http)
    for down in outage.DATABASE_DOWN:
        app.add_exception_handler(down, _database_down)
