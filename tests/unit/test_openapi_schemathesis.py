"""Property-based run of the published OpenAPI document against the app (schemathesis).

Every operation at /schema/openapi.json gets schema-valid and schema-breaking requests with a
valid token, in schemathesis' examples, coverage and fuzzing phases, with all its checks: no
answer may be a server error, and each must match the document (status, content type, headers,
body); schema-breaking requests must be refused and schema-valid ones accepted. Bounded:
MAX_EXAMPLES fuzzed cases per operation; the whole run takes a few seconds.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar import Litestar
from PIL import Image
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi
from sqlmodel import Session

from tests.api_support import make_token
from tests.conftest import Migrate
from tests.factories import add_member
from web.api import common
from web.api.bodies import MAX_ID
from web.app import create_app
from web.plumbing.throttle import Limit
from web.services.audit import Actor
from web.services.pictures import uploads
from web.services.pictures.storage import DiskStore
from web.settings import Settings

MAX_EXAMPLES = 25
# "format: binary" cannot say "a picture": a schema-valid file may still be refused as one.
NOT_A_PICTURE = [413, 415, 422]
FUTURE = "2999-01-01T00:00:00Z"


@pytest.fixture
def api_app(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, migrated: Migrate
) -> Iterator[Litestar]:
    # The run is about the schema, not the upload rate limit nor the one on calls without a
    # valid token (it sends hundreds from one address: past 60, 429 where it expects 401).
    settings = replace(settings, uploads_per_minute=10_000)
    monkeypatch.setattr(common, "API_UNAUTHENTICATED", Limit("api-anon", 100_000, 60))
    migrated(settings.database_url)
    app = create_app(settings)
    yield app
    asgi.shutdown_lifespans()  # schemathesis started the app's lifespan; end it with the test


@pytest.fixture
def api_schema(api_app: Litestar, settings: Settings) -> Any:
    with Session(api_app.state["engine"], expire_on_commit=False) as db:
        member = add_member(db, "alice", "Alice Liddell")
        add_member(db, "bob", "Bob Marley")
        token = make_token(db, member)
        filenames = [_seed_picture(db, settings, member, colour) for colour in ("red", "blue")]
    config = SchemathesisConfig.from_dict(
        {
            "seed": 5,
            "generation": {"max-examples": MAX_EXAMPLES, "mode": "all"},
            "auth": {"openapi": {"BearerToken": {"bearer": token}}},
            "operations": [
                {
                    "include-operation-id": "uploadPicture",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": ["2xx", 401, 403, 404, 409, 429, *NOT_A_PICTURE]
                        }
                    },
                },
                {
                    # A schema-valid link may lead nowhere, or to no picture (web/errors.py).
                    "include-operation-id": "importPicture",
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": [
                                "2xx",
                                401,
                                403,
                                404,
                                409,
                                422,
                                429,
                                504,
                                *NOT_A_PICTURE,
                            ]
                        }
                    },
                },
            ],
        }
    )
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", api_app, config=config)
    schema.hook(_reaching_deeper(member, filenames))
    return schema


def _seed_picture(db: Session, settings: Settings, member: int, colour: str) -> str:
    uploaded = uploads.upload(
        db,
        DiskStore(settings.media_root),
        actor=Actor(member),
        user_id=member,
        file=io.BytesIO(_jpeg(colour)),
        original_name=f"{colour}.jpg",
    )
    assert uploaded.state.picture is not None
    return uploaded.state.picture.name


def _reaching_deeper(member: int, filenames: list[str]) -> Any:
    """Random ids and filenames would nearly always be someone else's (403) or unknown (404):
    in about half the schema-valid cases, use the token's member and a real version instead.
    The choice is a function of the generated value, so Hypothesis can still shrink."""

    def map_case(_context: Any, case: Any) -> Any:
        if case.meta is None or case.meta.generation.mode.value != "positive":
            return case  # a schema-breaking case must stay schema-breaking
        if case.path_parameters and _even_id(case.path_parameters.get("userId")):
            case.path_parameters["userId"] = member
        body = case.body
        if isinstance(body, dict):
            _deeper_body(body, member, filenames)
        return case

    map_case.__name__ = "map_case"
    return map_case


def _deeper_body(body: dict[str, Any], member: int, filenames: list[str]) -> None:
    if _even_id(body.get("userId")):
        body["userId"] = member
    name = body.get("profilePicture")
    if isinstance(name, str) and name and int(name[0], 16) % 2 == 0:
        body["profilePicture"] = filenames[int(name[1:2] or "0", 16) % len(filenames)]
        for key in ("updatedAt", "syncTimestamp"):
            if isinstance(body.get(key), str) and len(body[key]) % 2 == 0:
                body[key] = FUTURE
    if isinstance(name, bytes) and len(name) % 2 == 0:
        body["profilePicture"] = _jpeg((len(name) % 256, 80, 160))


def _even_id(value: Any) -> bool:
    return type(value) is int and 1 <= value <= MAX_ID and value % 2 == 0


def _jpeg(colour: str | tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (48, 32), colour).save(out, "JPEG")
    return out.getvalue()


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(autouse=True)
def _node_id(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32 names each operation's subtest through `node._nodeid`, which pytest 9
    # no longer has: give it one.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_answers_match_the_schema_and_are_never_server_errors(case: Any) -> None:
    case.call_and_validate()
