"""Ids that cannot be ids (issue 21): a number past any id column's range (10**30 overflowed
SQLite's driver: 500) is 404 on every page route, found by walking the app's routes so that a
route added later is covered too; the API keeps its documented 400 (web/plumbing/ids.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlmodel import Session

from db.models import MAX_ID
from tests.api_support import bearer, make_token
from tests.conftest import log_in
from web.app import create_app
from web.settings import Settings

NOT_IDS = [10**30, 2**63, MAX_ID + 1, 0, -1]
SAFE_NAME = "0123456789abcdef0123456789abcdef-64.webp"  # a variant file's name (media route)


def _int_routes(app: Litestar) -> list[tuple[str, str]]:
    """(method, path template) of every route with a whole-number path parameter."""
    found = []
    for route in app.routes:
        for method in sorted(getattr(route, "methods", ())):
            if ":int}" in route.path and method not in ("OPTIONS", "HEAD"):
                found.append((method, route.path))
    return found


def _path(template: str, number: int) -> str:
    path = re.sub(r"\{[^}:]+:int\}", str(number), template)
    return re.sub(r"\{[^}:]+:str\}", SAFE_NAME, path)


@pytest.fixture
def member(client: TestClient[Any], alice: int) -> int:
    log_in(client, "alice")
    return alice


def test_every_route_with_an_id_in_its_path_is_found(settings: Settings) -> None:
    paths = {path for _, path in _int_routes(create_app(settings))}
    assert len(paths) >= 8  # members, versions, tokens, the API: none slipped the pattern


@pytest.mark.parametrize("number", NOT_IDS)
def test_a_number_that_is_no_id_is_404_on_every_page(
    app: Litestar, client: TestClient[Any], db: Session, member: int, number: int
) -> None:
    csrf = client.cookies.get("csrftoken")
    assert csrf
    for method, template in _int_routes(app):
        if template.startswith("/api/"):
            continue
        response = client.request(
            method, _path(template, number), data={"_csrf_token": csrf}, follow_redirects=False
        )
        assert response.status_code == 404, (method, template, response.status_code)


@pytest.mark.parametrize("number", [10**30, 0])
def test_the_api_keeps_its_400_for_a_number_that_is_no_id(
    app: Litestar, client: TestClient[Any], db: Session, alice: int, number: int
) -> None:
    headers = bearer(make_token(db, alice))
    for method, template in _int_routes(app):
        if template.startswith("/api/"):
            response = client.request(method, _path(template, number), headers=headers)
            assert response.status_code == 400, (template, response.text)
            assert response.headers["content-type"] == "application/problem+json"


def test_a_visitor_gets_404_too(app: Litestar, client: TestClient[Any]) -> None:
    for method, template in _int_routes(app):
        if method == "GET" and not template.startswith("/api/"):
            assert client.get(_path(template, 10**30)).status_code == 404, template


def test_deleting_a_version_that_is_no_id_is_refused_like_a_missing_version(
    client: TestClient[Any], member: int
) -> None:
    csrf = client.cookies.get("csrftoken")
    for version in (str(10**30), "999"):
        response = client.post(
            "/profile/picture/delete",
            data={"_csrf_token": csrf, "version": version},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 404
        assert f"There is no version {version} of your picture." in response.text
