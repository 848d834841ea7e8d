"""The portal's endpoints, enumerated from the running app (never a hand-kept list), and which
of them are owner-facing — decided by behaviour: without a session the API answers 401 and a
page sends the browser to log in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import fastapi.routing
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.web_client import csrf_of

NOT_OWNER_FACING_PREFIXES = ("/backoffice/", "/static/")
_PATH_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
# Query parameters that name something an owner owns.
IDENTIFIER_QUERY = {"certificate": "certificate", "claim": "claim"}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the template, e.g. /api/certificates/{number}
    query: tuple[str, ...]  # declared query parameters

    @property
    def page(self) -> bool:
        return not self.path.startswith("/api/")

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PATH_PARAM.findall(self.path))

    @property
    def query_identifiers(self) -> tuple[str, ...]:
        return tuple(q for q in self.query if q in IDENTIFIER_QUERY)

    def url(self, values: dict[str, str]) -> str:
        return _PATH_PARAM.sub(lambda m: values[m.group(1)], self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _route_contexts(app: FastAPI) -> Iterator[tuple[str, set[str], object]]:
    """(path, methods, route) of every route, routers included (FastAPI ≥ 0.16x keeps included
    routers as entries of their own and flattens them with `iter_route_contexts`)."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    if iterate is None:  # older FastAPI: app.routes is flat already
        for route in app.routes:
            yield getattr(route, "path", ""), set(getattr(route, "methods", None) or ()), route
        return
    for context in iterate(app.routes):
        yield context.path or "", set(context.methods or ()), context.original_route


def endpoints(app: FastAPI) -> list[Endpoint]:
    found: list[Endpoint] = []
    for path, methods, route in _route_contexts(app):
        if not isinstance(route, APIRoute) or path.startswith(NOT_OWNER_FACING_PREFIXES):
            continue
        query = tuple(p.alias or p.name for p in route.dependant.query_params)
        for method in sorted(methods - {"HEAD"}):
            found.append(Endpoint(method, path, query))
    return found


def call(client: TestClient, endpoint: Endpoint, url: str, params: dict | None = None):
    """One request as a browser or an API client would make it (a page's form carries its
    CSRF token; an API command an empty JSON body)."""
    if endpoint.method == "GET":
        return client.get(url, params=params)
    if endpoint.page:
        data = {"csrf_token": csrf_token(client)}
        return client.request(endpoint.method, url, params=params, data=data)
    return client.request(endpoint.method, url, params=params, json={})


def csrf_token(client: TestClient) -> str:
    """The CSRF token of a form this client is shown (log-in page, or a page's log-out form)."""
    for page in ("/login", "/help"):
        answer = client.get(page)
        if answer.status_code == 200 and 'name="csrf_token"' in answer.text:
            return csrf_of(answer.text)
    raise AssertionError("no page with a form")


def is_owner_facing(anonymous: TestClient, endpoint: Endpoint, url: str) -> bool:
    answer = call(anonymous, endpoint, url)
    if endpoint.page:
        return answer.status_code == 303 and answer.headers["location"].startswith("/login")
    return answer.status_code == 401
