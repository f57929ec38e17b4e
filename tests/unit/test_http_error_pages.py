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
