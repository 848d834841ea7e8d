"""HTTP conventions shared by every service's FastAPI app: clear 4xx errors, health."""

from __future__ import annotations

from eventsourcing.persistence import IntegrityError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "request"


def _message(error: dict) -> str:
    message = error.get("msg", "invalid")
    if str(error.get("type", "")).startswith("date"):
        message += " (expected YYYY-MM-DD)"
    return message


def install_error_handlers(
    app: FastAPI,
    not_found: tuple[type[Exception], ...] = (),
    conflict: tuple[type[Exception], ...] = (),
    unprocessable: tuple[type[Exception], ...] = (),
) -> None:
    """422 with the field for bad input; 404 / 409 / 422 for the domain's own refusals."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field(tuple(e.get("loc", ()))), "message": _message(e)} for e in exc.errors()
        ]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse(status_code=422, content={"detail": summary, "errors": errors})

    def _answer(status: int):
        async def handler(_: Request, exc: Exception) -> JSONResponse:
            return JSONResponse(status_code=status, content={"detail": str(exc)})

        return handler

    @app.exception_handler(IntegrityError)
    async def _changed_meanwhile(_: Request, exc: IntegrityError) -> JSONResponse:
        # Optimistic concurrency: another command or a reaction saved the same aggregate
        # while this one ran. Nothing of this command was stored; it can be sent again.
        detail = "the record changed while this command ran; nothing was saved, send it again"
        return JSONResponse(status_code=409, content={"detail": detail})

    for kinds, status in ((not_found, 404), (conflict, 409), (unprocessable, 422)):
        for kind in kinds:
            app.add_exception_handler(kind, _answer(status))
    document_validation_errors(app)


# What every 422 of ours carries (the handler above, `Refusal`s with a field), in place of
# FastAPI's default `HTTPValidationError` ({"detail": [...]}), which these apps never send.
VALIDATION_ERROR_SCHEMAS = {
    "HTTPValidationError": {
        "title": "HTTPValidationError",
        "type": "object",
        "required": ["detail"],
        "properties": {
            "detail": {"type": "string", "title": "Detail"},
            "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
        },
    },
    "FieldError": {
        "title": "FieldError",
        "type": "object",
        "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
    },
}


def document_validation_errors(app: FastAPI) -> None:
    """Make the OpenAPI document describe the 422 body the apps really answer."""
    generate = app.openapi

    def openapi() -> dict:
        schema = generate()
        schemas = schema.get("components", {}).get("schemas", {})
        if "HTTPValidationError" in schemas:
            schemas.update(VALIDATION_ERROR_SCHEMAS)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


class Refusal(Exception):
    """A service's refusal of a request, with its HTTP status and (when there is one) the
    field at fault. Messages are written for the owner and never echo what was entered."""

    status: int = 422
    default_message: str = "The request cannot be accepted."

    def __init__(self, message: str | None = None, *, field: str | None = None) -> None:
        super().__init__(message or self.default_message)
        self.field = field

    @property
    def message(self) -> str:
        return str(self.args[0])


def install_refusal_handler(app: FastAPI) -> None:
    """Answer every `Refusal` with its status, `detail` and (with a field) `errors`."""

    @app.exception_handler(Refusal)
    async def _refused(_: Request, exc: Refusal) -> JSONResponse:
        content: dict = {"detail": exc.message}
        if exc.field:
            content["errors"] = [{"field": exc.field, "message": exc.message}]
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(status_code=exc.status, content=content, headers=headers)
