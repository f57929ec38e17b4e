"""A mistyped address gets a page a person can read, not Litestar's JSON; the API keeps its
problem details (web/errors.py `PAGES_FOR`)."""

from __future__ import annotations

from typing import Any

from litestar.testing import TestClient


def test_an_unknown_page_is_a_404_page_with_a_way_on(client: TestClient[Any]) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Page not found</h1>" in response.text
    assert 'href="/members"' in response.text


def test_a_wrong_method_on_a_page_is_a_405_page(client: TestClient[Any]) -> None:
    response = client.put("/members")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("text/html")
    assert "<h1>Not here</h1>" in response.text


def test_the_api_still_answers_problem_details(client: TestClient[Any]) -> None:
    response = client.get("/api/no-such-path")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_an_unknown_path_under_schema_is_the_same_404_page(client: TestClient[Any]) -> None:
    """Litestar's OpenAPI router answers its own bare page for one unknown segment under
    /schema; the app's page replaces it, for a JSON client too (the API's paths are /api/)."""
    for path in ("/schema/nope", "/schema/swagger/x", "/schema/nope.yaml"):
        for accept in ("text/html", "application/json"):
            response = client.get(path, headers={"Accept": accept})
            assert response.status_code == 404, path
            assert response.headers["content-type"].startswith("text/html"), path
            assert "<h1>Page not found</h1>" in response.text, path
    assert client.get("/schema").status_code == 200  # the document itself is untouched
    assert client.get("/schema/openapi.yaml").status_code == 200
