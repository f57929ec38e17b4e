"""MEDIA_STORE=s3://... with the endpoint unreachable (a closed port): uploads and media reads
answer 503 with Retry-After and a sentence, never 500, and nothing reaches the database.
tests/unit/test_s3_media.py runs the same paths against a real S3 server."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError
from litestar import Litestar
from litestar.testing import TestClient
from sqlmodel import Session, select

from db.models import ProfilePicture
from tests import api_support
from tests.conftest import Migrate
from tests.factories import jpeg
from tests.forms import HX, log_in, redirected, upload
from tests.unit.test_s3_media import variant_url
from web.app import create_app
from web.errors import STORE_DOWN as SENTENCE
from web.errors import STORE_DOWN_NOTHING_SAVED as NOTHING_SAVED
from web.services.pictures.s3 import S3Store, make_client
from web.services.pictures.storage import StoreUnavailable
from web.settings import Settings


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens on it once the socket is closed


@pytest.fixture
def dead_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
    return replace(
        settings,
        media_store="s3://avatars/site",
        aws_endpoint_url=f"http://127.0.0.1:{closed_port()}",
        aws_region="us-east-1",
    )


@pytest.fixture
def dead_app(dead_settings: Settings, migrated: Migrate) -> Litestar:
    migrated(dead_settings.database_url)
    return create_app(dead_settings)


@pytest.fixture
def dead_client(dead_app: Litestar) -> Iterator[TestClient[Any]]:
    with TestClient(dead_app) as test_client:
        yield test_client


def versions(app: Litestar) -> list[ProfilePicture]:
    with Session(app.state["engine"]) as db:
        return list(db.exec(select(ProfilePicture)).all())


def test_a_form_upload_is_503_on_a_usable_profile_page(
    dead_app: Litestar, dead_client: TestClient[Any], alice: int
) -> None:
    log_in(dead_client, "alice")
    swapped = upload(dead_client, jpeg(), headers=HX)  # htmx: in place, with the status
    assert swapped.status_code == 503
    assert swapped.headers["retry-after"] == "10"
    assert NOTHING_SAVED.replace("'", "&#39;") in swapped.text
    answer = redirected(dead_client, upload(dead_client, jpeg()))  # a plain form post
    assert NOTHING_SAVED.replace("'", "&#39;") in answer.text
    assert 'name="profilePicture"' in answer.text  # the whole page, form included
    token = re.search(r'name="_csrf_token" value="([^"]+)"', answer.text)
    assert token is not None
    again = dead_client.post(
        "/profile/picture",
        files={"profilePicture": ("me.jpg", jpeg(), "image/jpeg")},
        data={"_csrf_token": token[1]},
        follow_redirects=False,
    )
    assert again.status_code == 303  # the page's token passed CSRF (else 403)
    assert versions(dead_app) == []


def test_an_api_upload_is_503_problem_json(
    dead_app: Litestar, dead_client: TestClient[Any], db: Session, alice: int
) -> None:
    token = api_support.make_token(db, alice)
    answer = api_support.upload(dead_client, token, alice, jpeg())
    assert answer.status_code == 503
    assert answer.headers["content-type"] == api_support.PROBLEM_JSON
    assert answer.headers["retry-after"] == "10"
    assert answer.json()["detail"] == NOTHING_SAVED
    assert versions(dead_app) == []


def test_a_media_get_is_a_plain_503(
    settings: Settings, dead_settings: Settings, client: TestClient[Any], alice: int
) -> None:
    """A version uploaded to disk, then read through the dead bucket (same database)."""
    log_in(client, "alice")
    assert upload(client, jpeg()).status_code == 303
    [row] = versions(create_app(settings))
    with TestClient(create_app(dead_settings)) as dead_client:
        answer = dead_client.get(variant_url(row))
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.headers["retry-after"] == "10"
    assert answer.text == SENTENCE


def test_server_errors_are_unavailable_and_client_errors_are_not(
    dead_settings: Settings,
) -> None:
    store = S3Store(make_client(endpoint_url=dead_settings.aws_endpoint_url), "avatars")
    with pytest.raises(StoreUnavailable):
        store.read("avatars/1/x.webp")

    def answering(status: int, code: str) -> Any:
        def call(**_: Any) -> Any:
            error = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
            raise ClientError(error, "GetObject")  # type: ignore[arg-type]

        return call

    store.client.get_object = answering(503, "SlowDown")  # type: ignore[method-assign]
    with pytest.raises(StoreUnavailable):
        store.read("avatars/1/x.webp")
    store.client.get_object = answering(403, "AccessDenied")  # type: ignore[method-assign]
    with pytest.raises(ClientError):
        store.read("avatars/1/x.webp")
