"""What every JSON API handler shares: the Bearer guard, strict JSON bodies, the OpenAPI setup."""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any

import anyio
import msgspec
from litestar import Litestar, Request, Response, Router
from litestar.connection import ASGIConnection
from litestar.datastructures import ResponseHeader
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, NotFoundException, ValidationException
from litestar.handlers import BaseRouteHandler
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.params import HeaderParameter
from litestar.status_codes import HTTP_404_NOT_FOUND
from sqlmodel import Session

from web.api.reference import ApiReference
from web.plumbing.client import client_address
from web.plumbing.deps import CALLER_KEY, commits_of, engine_of
from web.plumbing.throttle import API_UNAUTHENTICATED, Throttled, throttle_of, wait_text
from web.services.accounts import tokens
from web.services.accounts.tokens import ApiCaller
from web.services.commits import Commits

TOKEN_SEEN_SECONDS = 24 * 3600  # a token used within this long passes the per-address limit
SECURITY: list[dict[str, list[str]]] = [{"BearerToken": []}]
# RFC 6750: `error` only when a token was sent; a bare challenge when none was.
CHALLENGE = 'Bearer realm="api"'
BAD_TOKEN_CHALLENGE = 'Bearer realm="api", error="invalid_token"'  # noqa: S105  (no secret)

# --- documented parameters and headers ----------------------------------------------------

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID): a retry with the same key and file gets the "
        "first answer and makes no second version. Kept 24 hours.",
    ),
]
ETAG_DOC = ResponseHeader(
    name="ETag", documentation_only=True, description="Send as If-None-Match to get a 304."
)
REPLAYED_DOC = ResponseHeader(
    name="Idempotent-Replayed",
    documentation_only=True,
    description="`true` when this is the stored answer to an earlier request with the same key.",
)

# --- who calls -----------------------------------------------------------------------------


async def bearer_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Only a live Bearer token gets in (a session cookie does not); before the body is read.

    Calls without a valid token are counted per address, and past API_UNAUTHENTICATED the
    next is refused before its token is looked up: one counter per address, whatever tokens
    it makes up. Each call is counted before the lookup (check and count in one turn of the
    throttle's lock) and given back when its token is valid, so a burst of concurrent bogus
    calls cannot all pass the check before the first failure is counted. A token seen valid
    lately is still looked up past the limit (`_known`): a member's calls are not refused for
    someone else's made-up tokens from the same address."""
    ip = client_address(connection.scope)
    throttle = throttle_of(connection.app)
    token = tokens.bearer_token(connection.headers.get("authorization"))
    refusal = await throttle.take(API_UNAUTHENTICATED, ip)
    if refusal and not (token and await _known(connection.app, token)):
        wait = wait_text(refusal.retry_after)
        raise Throttled(
            f"Too many calls without a valid API token from this address: try again in {wait}.",
            refusal.retry_after,
        )
    if token is None:
        raise NotAuthorizedException(
            "Send an API token: `Authorization: Bearer <token>`.",
            headers={"WWW-Authenticate": CHALLENGE},
        )
    engine = engine_of(connection.app.state)
    commits = commits_of(connection.app.state)
    caller = await anyio.to_thread.run_sync(_authenticate, engine, commits, token, ip)
    if caller is None:
        if refusal:  # a revoked token: past the limit only once
            await connection.app.stores.get("rate_limit").delete(_known_key(token))
        raise NotAuthorizedException(
            "This API token is not valid: it is unknown or was revoked.",
            headers={"WWW-Authenticate": BAD_TOKEN_CHALLENGE},
        )
    if refusal is None:
        await throttle.give_back(API_UNAUTHENTICATED, ip)
    await _remember(connection.app, token)
    connection.scope["state"][CALLER_KEY] = caller


def _known_key(token: str) -> str:
    return "api-token-seen:" + hashlib.sha256(token.encode()).hexdigest()[:32]


async def _known(app: Litestar, token: str) -> bool:
    """Was this token valid lately (in any process sharing the rate-limit store)? Only real
    tokens are marked, so the marks are as many as the live tokens used within a day."""
    return await app.stores.get("rate_limit").exists(_known_key(token))


async def _remember(app: Litestar, token: str) -> None:
    await app.stores.get("rate_limit").set(_known_key(token), b"1", expires_in=TOKEN_SEEN_SECONDS)


def _authenticate(engine: Any, commits: Commits, token: str, ip: str | None) -> ApiCaller | None:
    # With the app's commits: a token's first use in a while is news to its member's tabs.
    with commits.attach(Session(engine, expire_on_commit=False)) as session:
        return tokens.authenticate(session, token, ip=ip)


def provide_caller(request: Request[Any, Any, Any]) -> ApiCaller:
    caller: ApiCaller = request.scope["state"][CALLER_KEY]
    return caller


# --- bodies as the schema says ----------------------------------------------------------------

_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$\.?(?P<key>[^`]*)`)?$")


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    """Litestar converts JSON bodies leniently ("1" for 1, 0 for a date-time): the API holds
    them to its schema first. Malformed JSON is left to Litestar's own 400."""
    field = request.route_handler.parsed_data_field
    kwarg = field.kwarg_definition if field else None
    if field is None or getattr(kwarg, "media_type", None) != RequestEncodingType.JSON:
        return
    try:
        body = msgspec.json.decode(await request.body())
    except msgspec.DecodeError:
        return
    try:
        msgspec.convert(_integral(body), type=field.annotation, strict=True)
    except msgspec.ValidationError as error:
        found = _AT.match(str(error))
        key = found["key"] if found and found["key"] else None
        message = found["message"] if found else str(error)
        raise ValidationException(
            "Validation failed", extra=[{"message": message, "key": key, "source": "body"}]
        ) from None


def _integral(value: Any) -> Any:
    """JSON Schema counts 1.0 as an integer, and so does the API; msgspec's strict mode not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    return value


# --- conditional answers ----------------------------------------------------------------------


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 If-None-Match: `*`, or a list of (possibly weak) tags."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


# --- the OpenAPI document ---------------------------------------------------------------------


SCHEMA_PATH = "/schema"


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Profile Picture Sync API",
        version="1.0.0",
        description=API_DESCRIPTION,
        use_handler_docstrings=True,
        path=SCHEMA_PATH,
        openapi_router=Router(
            SCHEMA_PATH,
            route_handlers=[],
            include_in_schema=False,
            after_request=_raise_not_found,
        ),
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description=BEARER_TEXT,
                )
            }
        ),
        # One server, this one: no server menu to choose from in the reference.
        servers=[],
        # The document itself at /schema (and as JSON or YAML by name); the reference that
        # people read at /schema/reference (web/api/reference.py).
        render_plugins=[
            JsonRenderPlugin(path=["/", "/openapi.json"]),
            YamlRenderPlugin(path=["/openapi.yaml"]),
            ApiReference(),
        ],
    )


def _raise_not_found(response: Response[Any]) -> Response[Any]:
    """The /schema router's hook: Litestar answers one unknown segment there (/schema/nope)
    with a bare page of its own, not an error; raised instead, it gets web/errors.py's answer,
    as every other unknown path does."""
    if response.status_code == HTTP_404_NOT_FOUND:
        raise NotFoundException
    return response


BEARER_TEXT = """\
An API token, sent as `Authorization: Bearer <token>`. A member makes one on the "API tokens" \
page (/profile/tokens, linked from /profile; it is shown once); an operator runs \
`ppsync token add HANDLE`. A token acts for its own member (that member's `userId`) only."""

API_DESCRIPTION = """\
Members' profile pictures: upload, read, restore, delete and sync.

Every call needs `Authorization: Bearer <token>`; a member creates tokens on the API tokens page
(/profile/tokens, linked from /profile; each is shown once). A token acts for its own member
only: another `userId` is 403 (and audited); an admin's token acts for any member. Errors are
RFC 9457 problem details (`application/problem+json`). Every change is pushed to the member's
open pages at once.
"""
