"""Use a picture from a link: POST /api/profile/import-picture and the /profile link form, each
the fetcher (web/services/fetch/) and then exactly the upload path."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from ipaddress import ip_network
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlmodel import Session, select

from db.models import AuditLog, ProfilePicture
from tests.api_support import bearer, history, jpeg, make_token, problem, upload
from tests.forms import HX, log_in, post, redirected
from tests.html import one, parse
from tests.picture_site import PictureSite, serve
from web.app import create_app
from web.services.pictures.from_link import ACTION, BUSY
from web.settings import Settings

CAP = 100_000  # the loopback app's upload limit, so "too large" is quick to send


@pytest.fixture
def site() -> Iterator[PictureSite]:
    with serve() as running:
        running.picture = jpeg("green")
        yield running


@pytest.fixture
def loopback(settings: Settings, db: Session) -> Settings:
    """The unit settings with the loopback allowed (FETCH_ALLOWED_NETWORKS=127.0.0.0/8) and a
    short fetch deadline. (`db` migrates the database first.)"""
    return replace(
        settings,
        fetch_allowed_networks=(ip_network("127.0.0.0/8"),),
        fetch_deadline_seconds=2,
        max_upload_bytes=CAP,
    )


def import_picture(
    client: TestClient[Any], token: str, user_id: int, url: str, key: str | None = None
) -> Any:
    headers = bearer(token) | ({"Idempotency-Key": key} if key else {})
    body = {"userId": str(user_id), "url": url}
    return client.post("/api/profile/import-picture", headers=headers, json=body)


def audit_rows(db: Session) -> list[AuditLog]:
    db.expire_all()
    return list(db.exec(select(AuditLog).where(AuditLog.action == ACTION).order_by(AuditLog.id)))


def test_api_import_answers_as_an_upload_and_history_names_it_after_the_link(
    loopback: Settings, db: Session, alice: int, site: PictureSite
) -> None:
    token = make_token(db, alice)
    link = f"127.0.0.1:{site.port}/real/x/Holiday%20snap.jpg?size=2"
    with TestClient(create_app(loopback)) as client:
        imported = import_picture(client, token, alice, f"http://dora:s3cret@{link}", key="k1")
        assert imported.status_code == 201, imported.text
        uploaded = upload(client, token, alice, jpeg("blue"))
        assert sorted(imported.json()) == sorted(uploaded.json())  # the same body shape
        assert imported.json()["version"] == 1
        replay = import_picture(client, token, alice, f"http://{link}", key="k1")
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json() == imported.json()
        entries = history(client, token, alice).json()["versions"]
    assert [(e["version"], e["originalName"]) for e in entries if e["version"] == 1] == [
        (1, "Holiday snap.jpg")
    ]
    assert [p.version for p in db.exec(select(ProfilePicture))] == [1, 2]
    rows = audit_rows(db)
    assert rows[0].outcome == "ok"
    assert rows[0].detail == f"version 1 from http://{link}"  # the password stripped
    assert not any("s3cret" in (row.detail or "") for row in db.exec(select(AuditLog)))


def test_the_form_without_javascript_redirects_with_a_flash(
    loopback: Settings, alice: int, site: PictureSite
) -> None:
    with TestClient(create_app(loopback)) as client:
        log_in(client, "alice")
        url = f"http://127.0.0.1:{site.port}/real/a/portrait.jpg"
        answer = post(client, "/profile/picture/from-link", pictureUrl=url)
        assert (answer.status_code, answer.headers["location"]) == (303, "/profile"), answer.text
        page = client.get("/profile").text
    assert one(page, ".flash-ok").get_text(strip=True) == "Version 1 made from the link."
    assert one(page, ".history-meta .file-label").get_text(strip=True) == "portrait.jpg"


def test_the_form_with_htmx_swaps_the_main_part(
    loopback: Settings, alice: int, site: PictureSite
) -> None:
    with TestClient(create_app(loopback)) as client:
        log_in(client, "alice")
        url = f"http://127.0.0.1:{site.port}/real/a/portrait.jpg"
        answer = post(client, "/profile/picture/from-link", headers=HX, pictureUrl=url)
    assert answer.status_code == 200
    assert parse(answer.text).select("html, body") == []  # the main part, not a page
    one(answer.text, "#profile-main")
    assert one(answer.text, ".flash-ok").get_text(strip=True) == "Version 1 made from the link."


REFUSED_LINKS = [
    "http://127.0.0.1:{port}/x.jpg",
    "http://localhost:{port}/x.jpg",
    "http://[::1]/",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/",
    "http://0.0.0.0/",
    "http://[::ffff:127.0.0.1]/",
    "http://2130706433/",
    "file:///etc/passwd",
    "gopher://x/",
]


@pytest.mark.parametrize("link", REFUSED_LINKS)
def test_links_off_the_public_internet_are_refused_422_and_audited(
    client: TestClient[Any], db: Session, alice: int, token: str, site: PictureSite, link: str
) -> None:
    url = link.format(port=site.port)
    body = problem(import_picture(client, token, alice, url), 422)
    assert url not in body["detail"]  # the member's sentence, never the link
    assert site.seen == []  # nothing was asked of the site
    assert db.exec(select(ProfilePicture)).all() == []
    [row] = audit_rows(db)
    assert row.outcome == "invalid"
    assert row.detail.endswith(url)


def test_the_form_shows_a_refusal_in_itself_and_keeps_the_link(
    client: TestClient[Any], member: int
) -> None:
    posted = post(client, "/profile/picture/from-link", pictureUrl="http://10.0.0.1/me.jpg")
    answer = redirected(client, posted)  # post/redirect/get: the link as typed kept
    form = one(answer.text, "form#link-form")
    assert form["action"] == "/profile/picture/from-link"
    assert one(str(form), "label[for=pictureUrl]").get_text(strip=True) == "Link to a picture"
    field = one(str(form), "input#pictureUrl")
    assert (field["type"], field["value"]) == ("url", "http://10.0.0.1/me.jpg")
    assert field["aria-invalid"] == "true"
    error = one(str(form), "#link-error").get_text(strip=True)
    assert error == "That address is not on the public internet."
    assert one(str(form), "button[type=submit]").get_text(strip=True) == "Use this link"
    assert one(answer.text, "form#upload-form").select("#upload-error") == []
    swapped = post(client, "/profile/picture/from-link", headers=HX, pictureUrl="gopher://x/")
    assert swapped.status_code == 422
    swapped_error = one(swapped.text, "#link-error").get_text(strip=True)
    assert swapped_error == "Only http:// and https:// links can be imported."


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (f"/chunked?bytes={16384 * 8}", 413),  # over the cap, no Content-Length
        ("/page.html", 415),
        ("/missing", 422),
    ],
)
def test_what_a_link_leads_to_is_refused_with_its_status(
    loopback: Settings, db: Session, alice: int, site: PictureSite, path: str, status: int
) -> None:
    token = make_token(db, alice)
    with TestClient(create_app(loopback)) as client:
        problem(import_picture(client, token, alice, f"http://127.0.0.1:{site.port}{path}"), status)
    assert db.exec(select(ProfilePicture)).all() == []


def test_a_slow_drip_is_504_within_the_deadline(
    loopback: Settings, db: Session, alice: int, site: PictureSite
) -> None:
    token = make_token(db, alice)
    with TestClient(create_app(loopback)) as client:
        started = time.monotonic()
        problem(import_picture(client, token, alice, f"http://127.0.0.1:{site.port}/drip"), 504)
    assert time.monotonic() - started < loopback.fetch_deadline_seconds + 2


def test_a_second_fetch_while_one_runs_is_429(
    loopback: Settings, db: Session, alice: int, site: PictureSite
) -> None:
    token = make_token(db, alice)
    answers: list[Any] = []
    with TestClient(create_app(loopback)) as client:
        slow = f"http://127.0.0.1:{site.port}/drip"
        first = threading.Thread(
            target=lambda: answers.append(import_picture(client, token, alice, slow))
        )
        first.start()
        deadline = time.monotonic() + 5
        while not site.seen and time.monotonic() < deadline:
            time.sleep(0.02)
        second = import_picture(client, token, alice, f"http://127.0.0.1:{site.port}/real/a.jpg")
        first.join()
    assert problem(second, 429)["detail"] == BUSY
    problem(answers[0], 504)


def test_each_fetch_counts_in_the_upload_allowance(
    loopback: Settings, db: Session, alice: int, site: PictureSite
) -> None:
    token = make_token(db, alice)
    with TestClient(create_app(replace(loopback, uploads_per_minute=1))) as client:
        url = f"http://127.0.0.1:{site.port}/page.html"
        problem(import_picture(client, token, alice, url), 415)  # refused, yet counted
        problem(upload(client, token, alice), 429)
    with TestClient(create_app(replace(loopback, uploads_per_minute=1))) as client:
        log_in(client, "alice")
        form = "/profile/picture/from-link"
        assert post(client, form, headers=HX, pictureUrl=url).status_code == 415
        refused = post(client, form, headers=HX, pictureUrl=url)
        assert refused.status_code == 429
        assert 'id="link-error"' in refused.text  # said in the form that was sent
        again = redirected(client, post(client, form, pictureUrl=url))  # a plain form post
        assert 'id="link-error"' in again.text


def test_the_server_keeps_answering_while_a_link_drips(
    loopback: Settings, db: Session, alice: int, site: PictureSite
) -> None:
    """The fetch runs in a worker thread: /healthz answers throughout the drip, each in under half
    the fetch's deadline (a fetch on the event loop would hold a ping the whole 2 s; the bound
    leaves room for a busy machine), and no database connection is held while it is fetched."""
    token = make_token(db, alice)
    answers: list[Any] = []
    pings: list[float] = []
    held: list[int] = []
    app = create_app(loopback)
    with TestClient(app) as client:
        slow = f"http://127.0.0.1:{site.port}/drip"
        fetch = threading.Thread(
            target=lambda: answers.append(import_picture(client, token, alice, slow))
        )
        fetch.start()
        while fetch.is_alive():
            started = time.monotonic()
            assert client.get("/healthz").status_code == 200
            pings.append(time.monotonic() - started)
            if site.seen:  # the fetch has begun
                held.append(app.state["engine"].pool.checkedout())
            time.sleep(0.05)
        fetch.join()
    problem(answers[0], 504)
    assert len(pings) >= 5, pings
    slowest = max(pings)
    assert slowest < loopback.fetch_deadline_seconds / 2, f"/healthz took {slowest:.2f} s"
    assert held and max(held[:-1] or held) == 0, held  # the last sample may see the 504's audit
