"""The member's API token list, live (issue 24, point 2): every change to it writes a `tokens`
event that leaves the picture alone, is sent as `tokens-N` to the member's own streams only, and
the list has a part of its own that the page fetches again."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlmodel import Session, col, select

from db.models import ApiToken, SyncEvent
from db.types import utcnow
from tests.api_support import bearer, make_token
from tests.factories import add_member, profile_of
from tests.forms import HX, cookie_header, post, signed_in_cookies
from tests.html import one
from tests.unit.test_events import change, events, running
from web.live.channel import opening_frames, private_to, sse_frame
from web.live.streams import StreamRegistry
from web.services.accounts import tokens
from web.services.audit import Actor
from web.services.commits import Change
from web.services.sync import Replay
from web.services.sync_sessions import LiveSession


def token_events(db: Session, user_id: int) -> list[int]:
    rows = db.exec(
        select(SyncEvent).where(SyncEvent.user_id == user_id, SyncEvent.kind == "tokens")
    ).all()
    return [r.picture_version for r in rows]


def test_making_and_revoking_a_token_write_tokens_events_and_leave_the_picture(
    db: Session, alice: int
) -> None:
    before = profile_of(db, alice)
    version, updated = before.picture_version, before.updated_at
    make_token(db, alice)
    token_id = db.exec(select(ApiToken.id)).one()
    assert token_id is not None
    assert tokens.revoke_token(db, actor=Actor(alice), token_id=token_id)
    assert token_events(db, alice) == [version, version]
    after = profile_of(db, alice)
    assert (after.picture_version, after.updated_at) == (version, updated)


def test_a_tokens_first_use_in_a_minute_is_one_event(
    client: TestClient[Any], db: Session, alice: int
) -> None:
    token = make_token(db, alice)
    for _ in range(2):
        assert client.get(f"/api/profile/picture/{alice}", headers=bearer(token)).is_success
    assert len(token_events(db, alice)) == 2  # made, then first used
    assert db.exec(select(ApiToken.last_used_at)).one() is not None


def test_a_tokens_frame_is_named_for_its_member_and_private_to_them() -> None:
    frame = sse_frame(Change(12, 42, 7, "tokens"))
    assert frame == b'id: 12\nevent: tokens-42\ndata: {"userId":42,"version":7,"kind":"tokens"}\n\n'
    assert private_to(frame) == 42
    assert private_to(sse_frame(Change(13, 42, 8, "removed"))) is None


def tab(viewer_id: int | None) -> LiveSession:
    return LiveSession(f"tab-{viewer_id}", viewer_id, "Chromium", utcnow(), 0)


def test_the_fan_out_sends_a_members_tokens_frame_to_their_own_streams_only() -> None:
    registry = StreamRegistry()
    # Each follows member 42 (the viewer 42 always does): only 42's own hears their tokens.
    own, other, anonymous = (registry.add(tab(v), frozenset({42})) for v in (42, 7, None))
    registry.deliver(sse_frame(Change(12, 42, 7, "tokens")))
    registry.deliver(sse_frame(Change(13, 42, 8, "removed")))
    assert [own.subscriber.qsize, other.subscriber.qsize, anonymous.subscriber.qsize] == [2, 1, 1]


def test_a_replay_leaves_out_other_members_tokens_events() -> None:
    missed = (Change(5, 42, 1, "tokens"), Change(6, 7, 1, "tokens"), Change(7, 7, 2, "uploaded"))
    opening = opening_frames(Replay(missed, 7), viewer_id=42)
    assert b"event: tokens-42" in opening
    assert b"event: tokens-7" not in opening
    assert b"event: avatar-7" in opening


@pytest.mark.anyio
async def test_a_members_stream_hears_their_tokens_and_no_one_elses(
    app: Litestar, alice: int
) -> None:
    with Session(app.state["engine"]) as db:
        bob = add_member(db, "bob")
    cookie = cookie_header(signed_in_cookies(app, "alice"))
    async with running(app) as open_stream:
        # Both follow alice (hers as the viewer) and alice's follows bob: his tokens stay his.
        alices, anonymous = open_stream([bob], Cookie=cookie), open_stream([alice])
        for client in (alices, anonymous):
            await client.start()
            await client.frames(1)
        change(app, bob, "tokens")
        change(app, alice, "tokens")
        change(app, alice, "uploaded")
        assert events(await alices.frames(2)) == [f"tokens-{alice}", f"avatar-{alice}"]
        assert events(await anonymous.frames(1)) == [f"avatar-{alice}"]


def test_the_token_list_part_listens_for_its_member(
    client: TestClient[Any], db: Session, member: int
) -> None:
    make_token(db, member, "CRM sync")
    token_id = db.exec(select(ApiToken.id)).one()
    response = client.get("/profile/tokens/list", headers=HX)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    part = one(response.text, "div#token-list")
    assert part["hx-trigger"] == f"tokens-{member} from:body"
    assert part["hx-get"] == "/profile/tokens/list"
    assert one(response.text, f"button#revoke-{token_id}")["aria-label"] == "Revoke token CRM sync"
    page = client.get("/profile/tokens").text
    assert one(page, "#tokens-main div#token-list")


def test_the_token_list_part_sends_a_browser_to_the_page(
    client: TestClient[Any], member: int
) -> None:
    response = client.get("/profile/tokens/list", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (302, "/profile/tokens")


def test_a_token_made_in_the_form_is_one_event(
    client: TestClient[Any], db: Session, member: int
) -> None:
    assert post(client, "/profile/tokens", name="Backup", headers=HX).status_code == 200
    assert len(token_events(db, member)) == 1
    assert db.exec(select(ApiToken).where(col(ApiToken.revoked_at).is_(None))).one().name == (
        "Backup"
    )
