"""The JSON API's refusals: problem details with the form path's statuses, and never a 500."""

from __future__ import annotations

import random
import re
from dataclasses import replace
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlmodel import Session, select

from db.models import AuditLog, ProfilePicture
from tests.api_support import (
    bearer,
    delete,
    jpeg,
    make_token,
    problem,
    state,
    sync,
    update,
    upload,
)
from tests.forms import csrf, log_in
from web.api.bodies import MAX_ID, digits_up_to
from web.app import create_app
from web.settings import Settings


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>1</script></svg>', 415, "JPEG, PNG"),
        (b"<html><body>hi</body></html>", 415, "JPEG, PNG"),
        (b"", 415, "empty"),
        (jpeg()[:400], 422, "truncated or damaged"),
    ],
)
def test_refused_picture_is_a_problem_and_audited(
    client: TestClient[Any],
    db: Session,
    alice: int,
    token: str,
    data: bytes,
    status: int,
    words: str,
) -> None:
    assert words in problem(upload(client, token, alice, data), status)["detail"]
    assert db.exec(select(ProfilePicture)).all() == []
    refusal = db.exec(select(AuditLog).where(AuditLog.outcome == "invalid")).one()
    assert (refusal.action, refusal.actor_id) == ("picture.upload", alice)


def test_upload_over_the_cap_is_413_problem_and_keeps_the_old_picture(
    client: TestClient[Any], db: Session, alice: int, token: str
) -> None:
    before = upload(client, token, alice).json()
    body = problem(upload(client, token, alice, b"\xff\xd8\xff" + b"\0" * (11 * 2**20)), 413)
    assert "larger than 10" in body["detail"]
    assert state(client, token, alice).json()["filename"] == before["filename"]


def test_file_just_over_the_cap_within_the_body_limit_is_413_problem(
    client: TestClient[Any], alice: int, token: str
) -> None:
    # Past MAX_UPLOAD_BYTES but inside the request body allowance: refused by the service.
    problem(upload(client, token, alice, b"\xff\xd8\xff" + b"\0" * (10 * 2**20)), 413)


def test_413_names_the_configured_limit(settings: Settings, db: Session, alice: int) -> None:
    app: Litestar = create_app(replace(settings, max_upload_bytes=200_000))
    token = make_token(db, alice)
    with TestClient(app) as client:
        body = problem(upload(client, token, alice, b"\xff\xd8\xff" + b"\0" * 400_000), 413)
        assert "larger than 0.2 MiB" in body["detail"]


def test_form_path_still_answers_413_as_html(client: TestClient[Any], alice: int) -> None:
    log_in(client, "alice")
    response = client.post(
        "/profile/picture",
        files={"profilePicture": ("big.jpg", b"\xff\xd8\xff" + b"\0" * (11 * 2**20))},
        data={"_csrf_token": csrf(client)},
        headers={"HX-Request": "true"},  # a plain form post is redirected (post/redirect/get)
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")


def test_rate_limit_is_429_problem_with_retry_after(
    settings: Settings, db: Session, alice: int
) -> None:
    app: Litestar = create_app(replace(settings, uploads_per_minute=2))
    token = make_token(db, alice)
    with TestClient(app) as client:
        assert [upload(client, token, alice).status_code for _ in range(2)] == [201, 201]
        refused = upload(client, token, alice)
        problem(refused, 429)
        assert int(refused.headers["retry-after"]) > 0


def test_rate_limit_counts_per_member_not_per_address(
    settings: Settings, db: Session, alice: int
) -> None:
    from tests.factories import add_member

    app: Litestar = create_app(replace(settings, uploads_per_minute=1))
    bob = add_member(db, "bob", "Bob")
    alice_token, bob_token = make_token(db, alice), make_token(db, bob)
    with TestClient(app) as client:  # one address for both
        assert upload(client, alice_token, alice).status_code == 201
        assert upload(client, bob_token, bob).status_code == 201
        problem(upload(client, alice_token, alice), 429)


def test_a_bearer_header_does_not_reset_the_forms_rate_limit(
    settings: Settings, alice: int
) -> None:
    app: Litestar = create_app(replace(settings, uploads_per_minute=1))
    with TestClient(app) as client:
        log_in(client, "alice")
        statuses = [
            client.post(
                "/profile/picture",
                headers=bearer(f"pps_made-up-{n}") | {"HX-Request": "true"},
                files={"profilePicture": ("a.jpg", jpeg(), "image/jpeg")},
                data={"_csrf_token": csrf(client)},
                follow_redirects=False,
            ).status_code
            for n in range(2)
        ]
        assert statuses == [200, 429]


@pytest.mark.parametrize(
    ("fields", "files"),
    [
        ({}, True),  # no userId
        ({"userId": "abc"}, True),
        ({"userId": "0"}, True),
        ({"userId": str(2**63)}, True),
        ({"userId": "1"}, False),  # no file
        ({"userId": "1", "profilePicture": "not a file"}, False),
    ],
)
def test_malformed_upload_is_400_problem(
    client: TestClient[Any], alice: int, token: str, fields: dict[str, str], files: bool
) -> None:
    response = client.post(
        "/api/profile/upload-picture",
        headers=bearer(token),
        files={"profilePicture": ("a.jpg", jpeg(), "image/jpeg")} if files else None,
        data=fields,
    )
    problem(response, 400)


def test_upload_as_json_is_400_problem(client: TestClient[Any], alice: int, token: str) -> None:
    response = client.post(
        "/api/profile/upload-picture", headers=bearer(token), json={"userId": alice}
    )
    problem(response, 400)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"userId": 1},
        {"userId": 2**40, "profilePicture": "0" * 32, "updatedAt": "2030-01-01T00:00:00Z"},
        {"userId": 1, "profilePicture": "../../etc", "updatedAt": "2030-01-01T00:00:00Z"},
        {"userId": 1, "profilePicture": "a\u0000" * 16, "updatedAt": "2030-01-01T00:00:00Z"},
        {"userId": 1, "profilePicture": "0" * 32, "updatedAt": "2030-01-01T00:00:00"},
        {"userId": 1, "profilePicture": "0" * 32, "updatedAt": "yesterday"},
        [1, 2],
        None,
    ],
)
def test_malformed_json_body_is_400_problem_with_the_fields(
    client: TestClient[Any], alice: int, token: str, body: Any
) -> None:
    found = problem(update(client, token, body), 400)
    assert found["title"] == "Bad Request"


@pytest.mark.parametrize(
    "body",
    [
        {"userId": "01", "profilePicture": None, "syncTimestamp": "2030-01-01T00:00:00Z"},
        {"userId": " 1", "profilePicture": None, "syncTimestamp": "2030-01-01T00:00:00Z"},
        {"userId": 1, "profilePicture": None, "syncTimestamp": 0},
        {"userId": 1.5, "profilePicture": None, "syncTimestamp": "2030-01-01T00:00:00Z"},
    ],
)
def test_json_bodies_are_held_to_the_schema_not_coerced(
    client: TestClient[Any], alice: int, token: str, body: dict[str, Any]
) -> None:
    # Litestar alone would take "1" for 1 and 0 for 1970-01-01.
    problem(sync(client, token, body), 400)


def test_an_integral_number_is_an_integer_as_in_json_schema(
    client: TestClient[Any], alice: int, token: str
) -> None:
    body = {"userId": float(alice), "profilePicture": None, "syncTimestamp": "2030-01-01T00:00:00Z"}
    assert sync(client, token, body).status_code == 200


def test_invalid_json_is_400_problem(client: TestClient[Any], alice: int, token: str) -> None:
    response = client.put(
        "/api/profile/update-picture",
        headers=bearer(token) | {"Content-Type": "application/json"},
        content=b'{"userId": 1,',
    )
    problem(response, 400)


def test_validation_problem_names_the_field(
    client: TestClient[Any], alice: int, token: str
) -> None:
    body = {"userId": alice, "profilePicture": "nope", "updatedAt": "2030-01-01T00:00:00Z"}
    errors = problem(update(client, token, body), 400)["errors"]
    assert [(e["key"], e["source"]) for e in errors] == [("profilePicture", "body")]


@pytest.mark.parametrize(
    "path", ["/api/profile/picture/abc", "/api/nothing", "/api/profile/picture/0"]
)
def test_unknown_api_path_or_bad_id_is_a_problem(
    client: TestClient[Any], alice: int, token: str, path: str
) -> None:
    response = client.get(path, headers=bearer(token))
    assert response.status_code in (400, 404)
    problem(response, response.status_code)


def test_wrong_method_is_405_problem(client: TestClient[Any], alice: int, token: str) -> None:
    response = client.patch("/api/profile/update-picture", headers=bearer(token), json={})
    problem(response, 405)


def test_html_paths_keep_their_own_404(client: TestClient[Any]) -> None:
    response = client.get("/members/nobody-here")
    assert response.status_code == 404
    assert response.headers["content-type"] != "application/problem+json"


def test_a_bug_is_a_500_problem_not_a_traceback(
    client: TestClient[Any], alice: int, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr("web.services.pictures.versions.record_change", broken)
    body = problem(upload(client, token, alice), 500)
    assert "database" not in body["detail"]


@pytest.mark.parametrize("as_text", [True, False])
def test_user_id_as_the_seeds_string_or_a_number_is_accepted(
    client: TestClient[Any], alice: int, token: str, as_text: bool
) -> None:
    sent: int | str = str(alice) if as_text else alice
    body = {"userId": sent, "profilePicture": None, "syncTimestamp": "2030-01-01T00:00:00Z"}
    response = sync(client, token, body)
    assert response.status_code == 200, response.text
    assert response.json()["current"]["userId"] == str(alice)


def test_user_id_string_past_the_largest_id_is_400_problem_naming_it(
    client: TestClient[Any], alice: int, token: str
) -> None:
    body = {"userId": "9999999999", "profilePicture": None, "syncTimestamp": "2030-01-01T00:00:00Z"}
    found = problem(sync(client, token, body), 400)
    assert found["errors"][0]["key"] == "userId"


def test_user_id_pattern_takes_exactly_1_to_max_id() -> None:
    allowed = re.compile(digits_up_to(MAX_ID))
    edges = [0, 1, 9, 10, 999_999_999, 1_000_000_000, MAX_ID - 1, MAX_ID, MAX_ID + 1, 10**10]
    for number in [*edges, *random.Random(7).sample(range(3 * MAX_ID), 2000)]:
        assert bool(allowed.match(str(number))) == (1 <= number <= MAX_ID), number
    assert not allowed.match("01") and not allowed.match("1 ")


def test_user_id_as_a_string_works_for_update_and_delete(
    client: TestClient[Any], alice: int, token: str
) -> None:
    first = upload(client, token, alice).json()
    second = upload(client, token, alice, jpeg("blue")).json()
    body = {
        "userId": str(alice),
        "profilePicture": first["filename"],
        "updatedAt": second["updatedAt"],
    }
    restored = update(client, token, body)
    assert restored.status_code == 200, restored.text
    assert restored.json()["version"] == first["version"]
    deleted = delete(client, token, str(alice))
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["userId"] == str(alice)
