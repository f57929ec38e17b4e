"""Helpers for the JSON API tests: tokens, pictures and calls, as the API's clients make them."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from tests.factories import jpeg
from web.services.accounts import tokens
from web.services.audit import Actor

PROBLEM_JSON = "application/problem+json"


def make_token(db: Session, user_id: int, name: str = "test token") -> str:
    return tokens.issue_token(db, actor=Actor(user_id), name=name)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a token; none at all for ""."""
    return {"Authorization": f"Bearer {token}"} if token else {}


def upload(
    client: Any,
    token: str,
    user_id: int | str,
    data: bytes | None = None,
    *,
    key: str | None = None,
    name: str = "me.jpg",
) -> Any:
    headers = bearer(token) | ({"Idempotency-Key": key} if key else {})
    return client.post(
        "/api/profile/upload-picture",
        headers=headers,
        files={"profilePicture": (name, jpeg() if data is None else data, "image/jpeg")},
        data={"userId": str(user_id)},
    )


def state(client: Any, token: str, user_id: int, headers: dict[str, str] | None = None) -> Any:
    return client.get(f"/api/profile/picture/{user_id}", headers=bearer(token) | (headers or {}))


def history(client: Any, token: str, user_id: int) -> Any:
    return client.get(f"/api/profile/picture/{user_id}/history", headers=bearer(token))


def update(client: Any, token: str, body: dict[str, Any]) -> Any:
    return client.put("/api/profile/update-picture", headers=bearer(token), json=body)


def delete(client: Any, token: str, user_id: int | str) -> Any:
    return client.request(
        "DELETE", "/api/profile/delete-picture", headers=bearer(token), json={"userId": user_id}
    )


def sync(client: Any, token: str, body: dict[str, Any]) -> Any:
    return client.post("/api/profile/sync-picture", headers=bearer(token), json=body)


def problem(response: Any, status: int) -> dict[str, Any]:
    """The response's problem details, after checking they are well formed."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def state_part(new_picture: dict[str, Any]) -> dict[str, Any]:
    """An upload's answer without its `warnings`: the state, as the other calls answer it."""
    return {key: value for key, value in new_picture.items() if key != "warnings"}
