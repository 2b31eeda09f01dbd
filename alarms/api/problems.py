"""Errors as RFC 9457 problem details (``application/problem+json``), for every status the API answers."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from alarms.api.schemas import Problem

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("netqos.api")


def problem_response(status: int, detail: str, instance: str = "", headers: dict[str, str] | None = None,
                     errors: list[dict[str, str]] | None = None) -> JSONResponse:
    body: dict[str, Any] = Problem(title=HTTPStatus(status).phrase, status=status, detail=detail,
                                   instance=instance, errors=errors).model_dump(exclude_none=True)
    return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def problem_doc(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entries for these error statuses."""
    ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
    return {s: {"model": Problem, "description": HTTPStatus(s).phrase, "content": {MEDIA_TYPE: ref}}
            for s in statuses}


def install(app: FastAPI) -> None:
    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = dict(exc.headers) if exc.headers else None
        return problem_response(exc.status_code, str(exc.detail), request.url.path, headers)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [{"loc": ".".join(str(p) for p in e.get("loc", ())), "msg": str(e.get("msg", ""))}
                  for e in exc.errors()]
        detail = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors)
        return problem_response(422, detail, request.url.path, errors=errors)

    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("api: %s %s failed", request.method, request.url.path)
        return problem_response(500, "internal error (logged)", request.url.path)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, server_error)
