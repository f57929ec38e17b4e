"""The API reference at /schema/reference (Swagger UI, vendored) and what it shows: the seed's
five operations with worked examples that match their schemas, and the Bearer scheme."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from litestar.testing import TestClient

from tests.html import parse
from web.api.bodies import (
    DeletePicture,
    History,
    ImportPicture,
    PictureState,
    RemovePicture,
    SyncAnswer,
    SyncPicture,
    UpdatePicture,
)
from web.api.reference import SWAGGER_UI_VERSION
from web.plumbing.headers import PAGE_CSP

SEED = {  # the seed's five operations, by method and path
    ("post", "/api/profile/upload-picture"): "uploadPicture",
    ("get", "/api/profile/picture/{userId}"): "getPicture",
    ("put", "/api/profile/update-picture"): "updatePicture",
    ("delete", "/api/profile/delete-picture"): "deletePicture",
    ("post", "/api/profile/sync-picture"): "syncPicture",
}
BODIES: dict[str, tuple[type | None, str, type]] = {  # request body, success status, answer
    "uploadPicture": (None, "201", PictureState),
    "importPicture": (ImportPicture, "201", PictureState),
    "getPicture": (None, "200", PictureState),
    "getPictureHistory": (None, "200", History),
    "updatePicture": (UpdatePicture, "200", PictureState),
    "deletePicture": (DeletePicture, "200", PictureState),
    "removePicture": (RemovePicture, "200", PictureState),
    "syncPicture": (SyncPicture, "200", SyncAnswer),
}


def operations(client: TestClient[Any]) -> dict[str, dict[str, Any]]:
    document = client.get("/schema/openapi.json").json()
    return {op["operationId"]: op for item in document["paths"].values() for op in item.values()}


def test_the_reference_is_a_page_of_the_site_under_the_pages_csp(
    client: TestClient[Any],
) -> None:
    response = client.get("/schema/reference")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"] == PAGE_CSP.format(media="")
    page = parse(response.text)
    assert page.select_one("h1").get_text() == "API reference"
    assert page.select_one("header.site-header") and page.select_one("footer.site-footer")
    scripts = [script["src"] for script in page.select("script")]
    assert all(not script.get_text().strip() for script in page.select("script"))
    assert scripts[0] == f"/static/vendor/swagger-ui/swagger-ui-bundle-{SWAGGER_UI_VERSION}.js"
    assert page.select_one("[data-api-reference]")["data-api-reference"].startswith("/schema")
    for url in [*scripts, *(link["href"] for link in page.select("link[rel=stylesheet]"))]:
        assert url.startswith("/static/")
        assert client.get(url).status_code == 200, url


def test_the_raw_document_stays_at_schema_and_links_from_the_reference(
    client: TestClient[Any],
) -> None:
    assert client.get("/schema").json()["openapi"].startswith("3.")
    assert client.get("/schema/openapi.yaml").status_code == 200
    links = {a["href"] for a in parse(client.get("/schema/reference").text).select("main a")}
    assert {"/schema/openapi.json", "/schema/openapi.yaml", "/profile/tokens"} <= links


def test_no_oauth2_redirect_page_with_an_inline_script(client: TestClient[Any]) -> None:
    assert client.get("/schema/oauth2-redirect.html").status_code == 404


@pytest.mark.parametrize("path", ["/login", "/signup", "/members", "/schema/reference"])
def test_every_page_links_the_reference_and_the_raw_document_in_its_footer(
    client: TestClient[Any], path: str
) -> None:
    footer = parse(client.get(path).text).select_one("footer")
    links = {a.get_text(): a["href"] for a in footer.select("a")}
    assert links["API reference"] == "/schema/reference"
    assert links["OpenAPI document (JSON)"] == "/schema/openapi.json"


def test_the_document_describes_the_bearer_scheme_on_every_operation(
    client: TestClient[Any],
) -> None:
    document = client.get("/schema/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["BearerToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "Authorization: Bearer <token>" in scheme["description"]
    assert all(op["security"] == [{"BearerToken": []}] for op in operations(client).values())


def test_the_seeds_five_operations_are_in_the_document(client: TestClient[Any]) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    for (method, path), operation_id in SEED.items():
        assert paths[path][method]["operationId"] == operation_id


@pytest.mark.parametrize("operation_id", list(BODIES))
def test_each_operation_has_worked_examples_that_match_its_schema(
    client: TestClient[Any], operation_id: str
) -> None:
    op = operations(client)[operation_id]
    assert '```sh\ncurl -H "Authorization: Bearer $TOKEN"' in op["description"]
    request, status, answer = BODIES[operation_id]
    if request is not None:
        (body,) = op["requestBody"]["content"]["application/json"]["examples"].values()
        msgspec.json.decode(msgspec.json.encode(body["value"]), type=request, strict=True)
    answers = op["responses"][status]["content"]["application/json"]["examples"]
    assert answers
    for example in answers.values():
        msgspec.json.decode(msgspec.json.encode(example["value"]), type=answer)
