"""The link fetcher against a real HTTP server on the loopback (tests/picture_site.py).

The loopback is not public, so the tests that fetch allow it (`allowed_networks`), as an
operator would allow an intranet; every refusal is checked with the allow-list empty, unless
the allow-list is the point. Names are resolved by a stand-in for the resolver where a test
needs a public-looking name, and the real resolver is then made to fail if anything else
looks the name up.
"""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest

from tests.picture_site import PHOTO, PictureSite, certificates, serve, silent_listener
from tests.ports import free_port
from web.services.fetch import FetchError, addresses, fetch_picture, redacted, resolver
from web.services.fetch.addresses import IPAddress, is_public, parse_networks, permitted

LOOPBACK = ["127.0.0.0/8"]
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def site() -> Iterator[PictureSite]:
    with serve() as running:
        yield running


@pytest.fixture(scope="module")
def second_site() -> Iterator[PictureSite]:
    """A site on 127.0.0.2, so an allow-list can hold it and not 127.0.0.1."""
    with serve("127.0.0.2") as running:
        yield running


Lookups = list[tuple[str, int]]


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, list[str]]], Lookups]:
    """Resolve the names given (and only those), counting lookups; the system resolver is
    made to refuse those names, so a second lookup anywhere in the stack would fail."""

    def install(table: dict[str, list[str]]) -> Lookups:
        lookups: Lookups = []

        def resolve(host: str, port: int) -> list[IPAddress]:
            lookups.append((host, port))
            return [ip_address(address) for address in table[host]]

        monkeypatch.setattr(resolver, "resolve", resolve)
        refuse_system_lookups(monkeypatch, set(table))
        return lookups

    return install


def refuse_system_lookups(monkeypatch: pytest.MonkeyPatch, hosts: set[str]) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        assert host not in hosts, f"{host} was looked up outside the fetcher's one lookup"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def refusal(url: str, **options: Any) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch_picture(url, **options)
    return caught.value


def test_a_photo_is_fetched_from_an_allowed_server(site: PictureSite) -> None:
    url = f"http://127.0.0.1:{site.port}/photo.jpg"
    picture = fetch_picture(url, allowed_networks=LOOPBACK)
    assert (picture.body, picture.content_type, picture.url) == (PHOTO, "image/jpeg", url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/photo.jpg",
        "http://localhost:{port}/photo.jpg",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[::]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://[::127.0.0.1]/",
        "http://[2002:7f00:1::]/",
        "http://[64:ff9b::a00:1]/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://[ff02::1]/",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://0x7f.1/",
        "http://127.1:{port}/photo.jpg",
    ],
)
def test_an_address_off_the_public_internet_is_refused(site: PictureSite, url: str) -> None:
    before = len(site.seen)
    error = refusal(url.format(port=site.port))
    assert (error.code, error.message) == (
        "not_public",
        "That address is not on the public internet.",
    )
    assert len(site.seen) == before


def test_a_public_name_that_resolves_to_the_loopback_is_refused(
    site: PictureSite, names: Callable[[dict[str, list[str]]], Lookups]
) -> None:
    names({"pics.example.com": ["127.0.0.1"]})
    before = len(site.seen)
    assert refusal(f"http://pics.example.com:{site.port}/photo.jpg").code == "not_public"
    assert len(site.seen) == before


def test_a_name_with_one_private_address_among_public_ones_is_refused(
    names: Callable[[dict[str, list[str]]], Lookups],
) -> None:
    names({"pics.example.com": ["93.184.215.14", "10.0.0.1"]})
    assert refusal("https://pics.example.com/a.jpg").code == "not_public"


def test_one_of_the_servers_own_public_addresses_is_refused(
    names: Callable[[dict[str, list[str]]], Lookups], monkeypatch: pytest.MonkeyPatch
) -> None:
    names({"me.example.com": ["93.184.215.14"]})
    monkeypatch.setattr(addresses, "is_own_address", lambda address: True)
    assert refusal("https://me.example.com/a.jpg").code == "not_public"


def test_a_redirect_to_a_private_address_is_refused(
    site: PictureSite, second_site: PictureSite
) -> None:
    private = f"http://127.0.0.1:{site.port}/photo.jpg"
    url = f"http://127.0.0.2:{second_site.port}/to?location={private}"
    before = len(site.seen)
    assert refusal(url, allowed_networks=["127.0.0.2/32"]).code == "not_public"
    assert second_site.seen[-1][1].startswith("/to?")
    assert len(site.seen) == before


@pytest.mark.parametrize(
    ("location", "code"),
    [("file:///etc/passwd", "bad_scheme"), ("http://169.254.169.254/", "not_public")],
)
def test_a_redirect_is_checked_like_a_pasted_link(
    second_site: PictureSite, location: str, code: str
) -> None:
    url = f"http://127.0.0.2:{second_site.port}/to?location={location}"
    assert refusal(url, allowed_networks=LOOPBACK).code == code


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x/", "ftp://example.com/a.jpg"])
def test_a_link_other_than_http_or_https_is_refused(url: str) -> None:
    error = refusal(url)
    assert (error.code, error.message) == (
        "bad_scheme",
        "Only http:// and https:// links can be imported.",
    )


@pytest.mark.parametrize(
    "url", ["", "pics.example.com/a.jpg", "http://", "http://1.2.3.4.5/", "http://a.com:99999/"]
)
def test_something_that_is_no_link_is_refused_as_a_bad_url(url: str) -> None:
    assert refusal(url).code == "bad_url"


def test_the_connection_goes_to_the_address_resolved_once_per_hop(
    site: PictureSite, names: Callable[[dict[str, list[str]]], Lookups]
) -> None:
    lookups = names({"pics.example.com": ["127.0.0.1"]})
    url = f"http://pics.example.com:{site.port}/redirect/2"
    assert fetch_picture(url, allowed_networks=LOOPBACK).body == PHOTO
    assert lookups == [("pics.example.com", site.port)] * 3
    host = f"pics.example.com:{site.port}"
    assert site.seen[-3:] == [(host, "/redirect/2"), (host, "/redirect/1"), (host, "/photo.jpg")]


def test_each_hop_is_checked_against_its_own_lookup(
    site: PictureSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that answers the loopback first and a private address next (DNS rebinding)
    is refused at the hop that would have used the second answer."""
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])
    lookups: Lookups = []

    def rebinding(host: str, port: int) -> list[IPAddress]:
        lookups.append((host, port))
        return [ip_address(address) for address in next(answers)]

    monkeypatch.setattr(resolver, "resolve", rebinding)
    refuse_system_lookups(monkeypatch, {"rebind.example.com"})
    url = f"http://rebind.example.com:{site.port}/redirect/1"
    assert refusal(url, allowed_networks=LOOPBACK).code == "not_public"
    assert len(lookups) == 2


def test_a_chunked_body_past_the_cap_is_refused_as_too_large(site: PictureSite) -> None:
    url = f"http://127.0.0.1:{site.port}/chunked?bytes={MIB}"
    error = refusal(url, allowed_networks=LOOPBACK, max_bytes=MIB // 4)
    assert (error.code, error.message) == (
        "too_large",
        "The picture at that link is larger than 0.25 MB.",
    )


def test_a_body_ended_by_closing_past_the_cap_is_refused_as_too_large(site: PictureSite) -> None:
    url = f"http://127.0.0.1:{site.port}/unframed?bytes={MIB}"
    assert refusal(url, allowed_networks=LOOPBACK, max_bytes=MIB // 4).code == "too_large"


def test_a_content_length_past_the_cap_is_refused_before_the_body(site: PictureSite) -> None:
    url = f"http://127.0.0.1:{site.port}/lying?claim={11 * MIB}&bytes=10"
    error = refusal(url, allowed_networks=LOOPBACK)
    assert (error.code, error.message) == (
        "too_large",
        "The picture at that link is larger than 10 MB.",
    )


def test_a_content_length_under_the_cap_reads_no_more_than_it_says(site: PictureSite) -> None:
    url = f"http://127.0.0.1:{site.port}/lying?claim=1000&bytes={MIB}"
    picture = fetch_picture(url, allowed_networks=LOOPBACK, max_bytes=MIB // 4)
    assert len(picture.body) == 1000


def test_a_body_shorter_than_its_content_length_is_a_bad_answer(site: PictureSite) -> None:
    url = f"http://127.0.0.1:{site.port}/lying?claim=1000&bytes=10"
    assert refusal(url, allowed_networks=LOOPBACK).code == "bad_answer"


def test_a_byte_a_second_is_refused_at_the_deadline(site: PictureSite) -> None:
    started = time.monotonic()
    error = refusal(f"http://127.0.0.1:{site.port}/drip", allowed_networks=LOOPBACK, deadline=1.5)
    elapsed = time.monotonic() - started
    assert (error.code, error.message) == ("timeout", "The link did not answer in time.")
    assert 1.4 < elapsed < 2.5


def test_a_server_that_accepts_and_never_answers_is_refused_at_the_deadline() -> None:
    with silent_listener() as port:
        started = time.monotonic()
        error = refusal(f"http://127.0.0.1:{port}/a.jpg", allowed_networks=LOOPBACK, deadline=1)
        elapsed = time.monotonic() - started
    assert error.code == "timeout"
    assert 0.9 < elapsed < 2


def test_a_resolver_that_hangs_is_refused_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resolver, "resolve", lambda host, port: time.sleep(3) or [])
    started = time.monotonic()
    assert refusal("http://slow.example.com/a.jpg", deadline=0.5).code == "timeout"
    assert time.monotonic() - started < 1.5


def test_a_port_nobody_listens_on_is_unreachable() -> None:
    error = refusal(f"http://127.0.0.1:{free_port()}/a.jpg", allowed_networks=LOOPBACK)
    assert (error.code, error.message) == ("unreachable", "The link could not be reached.")


def test_a_name_that_does_not_resolve_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    def unknown(host: str, port: int) -> list[IPAddress]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(resolver, "resolve", unknown)
    assert refusal("https://no-such-name.example.com/a.jpg").code == "unreachable"


def test_an_html_page_is_refused_as_not_a_picture(site: PictureSite) -> None:
    error = refusal(f"http://127.0.0.1:{site.port}/page.html", allowed_networks=LOOPBACK)
    assert (error.code, error.message) == ("not_a_picture", "That link is not a picture.")


def test_a_compressed_picture_is_refused_as_a_bad_answer(site: PictureSite) -> None:
    assert refusal(f"http://127.0.0.1:{site.port}/gzip", allowed_networks=LOOPBACK).code == (
        "bad_answer"
    )


def test_a_404_is_refused_with_its_status(site: PictureSite) -> None:
    error = refusal(f"http://127.0.0.1:{site.port}/missing", allowed_networks=LOOPBACK)
    assert (error.code, error.message) == ("error_status", "The link answered 404.")


def test_three_redirects_are_followed(site: PictureSite) -> None:
    url = f"http://127.0.0.1:{site.port}/redirect/3"
    assert fetch_picture(url, allowed_networks=LOOPBACK).body == PHOTO


def test_four_redirects_are_refused(site: PictureSite) -> None:
    error = refusal(f"http://127.0.0.1:{site.port}/redirect/4", allowed_networks=LOOPBACK)
    assert (error.code, error.message) == (
        "too_many_redirects",
        "The link redirected more than 3 times.",
    )
    assert site.seen[-1][1] == "/redirect/1"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_is_verified_against_the_name_while_connecting_to_the_address(
    tmp_path: Path, names: Callable[[dict[str, list[str]]], Lookups]
) -> None:
    ca, certificate, key = certificates(tmp_path, ["pics.example.com"])
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(certificate, key)
    client_tls = ssl.create_default_context(cafile=str(ca))
    names({"pics.example.com": ["127.0.0.1"], "other.example.com": ["127.0.0.1"]})
    with serve(tls=server_tls) as tls_site:
        url = f"https://pics.example.com:{tls_site.port}/photo.jpg"
        picture = fetch_picture(url, allowed_networks=LOOPBACK, ssl_context=client_tls)
        wrong_name = f"https://other.example.com:{tls_site.port}/photo.jpg"
        error = refusal(wrong_name, allowed_networks=LOOPBACK, ssl_context=client_tls)
        sni = list(tls_site.sni)
    assert picture.body == PHOTO
    assert error.code == "unreachable"
    assert sni == ["pics.example.com", "other.example.com"]


def test_redacted_drops_the_user_name_and_password() -> None:
    assert redacted("https://ann:s3cret@pics.example.com/a.jpg?x=1") == (
        "https://pics.example.com/a.jpg?x=1"
    )
    assert redacted("http://a@b:c@pics.example.com/") == "http://pics.example.com/"
    assert redacted("http://pics.example.com/a\nb") == "http://pics.example.com/a%0Ab"


def test_a_refusal_is_logged_without_the_password(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="ppsync.fetch"):
        refusal("http://ann:s3cret@10.0.0.1/a.jpg")
    assert "not_public" in caplog.text
    assert "10.0.0.1/a.jpg" in caplog.text
    assert "s3cret" not in caplog.text


def test_credentials_in_a_link_are_never_sent(site: PictureSite) -> None:
    url = f"http://ann:s3cret@127.0.0.1:{site.port}/photo.jpg"
    picture = fetch_picture(url, allowed_networks=LOOPBACK)
    assert picture.url == f"http://127.0.0.1:{site.port}/photo.jpg"


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"],
)
def test_public_addresses_and_their_ipv6_forms_are_public(address: str) -> None:
    assert is_public(ip_address(address))
    assert permitted(ip_address(address), ())


def test_the_allow_list_also_opens_the_ipv6_forms_of_its_ipv4_networks() -> None:
    allowed = parse_networks(["10.1.0.0/16"])
    assert permitted(ip_address("::ffff:10.1.2.3"), allowed)
    assert not permitted(ip_address("::ffff:10.2.0.1"), allowed)


def test_the_fetcher_imports_nothing_of_the_web_layer() -> None:
    probe = (
        "import sys, web.services.fetch; print(sorted(m for m in sys.modules"
        " if m.split('.')[0] in ('litestar', 'jinja2')"
        " or m.startswith(('web.routes', 'web.plumbing', 'web.live', 'web.api'))))"
    )
    root = Path(__file__).parents[2]
    run = [sys.executable, "-c", probe]
    out = subprocess.run(run, capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"
