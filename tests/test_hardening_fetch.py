"""Hardening of what the hub fetches and reads for others: URLs, redirects, slow sources, bombs.

The sources here are real HTTP servers on loopback addresses, written to misbehave: they
redirect where they should not, trickle a byte at a time, say nothing at all, or send more
than they declared. The hub must refuse loopback (and every non-public address) unless the
operator allows it, judge every redirect like the first URL, give a download up at its
deadline or when its job is dismissed, count bytes as they come, and say nothing of the
network in its messages. A NetCDF file of compressed zeros declaring gigabytes must be
refused from its metadata, with the memory of the process refusing it staying low.
"""

from __future__ import annotations

import datetime
import io
import ipaddress
import os
import re
import resource
import select
import socket
import ssl
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import h5py
import httpx
import netCDF4
import numpy as np
import pytest
from fastapi.testclient import TestClient

from spaceclimate.api import create_app
from spaceclimate.config import DEFAULT_MAX_VARIABLE_BYTES, Settings
from spaceclimate.ecv import match_recipe, match_recipes
from spaceclimate.errors import DecodedSizeError, FetchError, InputError, TooLargeError
from spaceclimate.ingest import Ingestor
from spaceclimate.net import AllowList, Fetcher, FetchPolicy, is_public
from spaceclimate.readers import check_decoded_size, guess_reader, open_dataset
from spaceclimate.readers.base import DeclaresVariables

from .conftest import start_server, stop_server
from .opshub import SAMPLES, bearer, make_key, small_hub, snapshot, wait_for_job
from .profile import hub_env

OZONE = SAMPLES / "ozone" / "o3_esacci_total_column_merged_200505_subset.nc"
SM_DAY = SAMPLES / "soil_moisture" / "sm_esacci_combined_v02.2_20000101.nc"
GENERIC = "the source could not be fetched"

Route = Callable[["_Handler"], None]


# -- hostile sources ----------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - the name the standard library calls
        source = self.server.source
        source.requests.append(self.path)
        route = source.routes.get(self.path.split("?", 1)[0])
        if route is None:
            self.send_error(404)
            return
        try:
            route(self)
        except (BrokenPipeError, ConnectionResetError):
            source.hung_up()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    source: Source


class Source:
    """An HTTP server on a loopback address serving *routes*, recording what it was asked."""

    def __init__(self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        self.hangups: list[float] = []  # when a client closed the connection on a slow answer
        self.sending = threading.Event()  # a slow answer has begun
        self.hangup = threading.Event()  # ... and the client hung up on it
        self.stopping = threading.Event()
        self.server = _Server((host, 0), _Handler)
        self.server.source = self
        self.scheme = "https" if tls else "http"
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def hung_up(self) -> None:
        """Record that a client closed its connection while a slow answer was being sent."""
        self.hangups.append(time.monotonic())
        self.hangup.set()

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    # behaviours
    def body(self, path: str, data: bytes, *, length: bool = True) -> str:
        """Serve *data* at *path* (with a Content-Length, or until the connection closes)."""

        def route(h: _Handler) -> None:
            h.send_response(200)
            if length:
                h.send_header("Content-Length", str(len(data)))
            else:
                h.send_header("Connection", "close")
                h.close_connection = True
            h.end_headers()
            h.wfile.write(data)

        self.routes[path] = route
        return self.url + path

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        """Answer *path* with a redirect to *location*."""

        def route(h: _Handler) -> None:
            h.send_response(status)
            h.send_header("Location", location)
            h.send_header("Content-Length", "0")
            h.end_headers()

        self.routes[path] = route
        return self.url + path

    def trickle(self, path: str, every: float, declared: int = 10**9) -> str:
        """Declare *declared* bytes at *path*, then send one byte every *every* seconds."""

        def route(h: _Handler) -> None:
            h.send_response(200)
            h.send_header("Content-Length", str(declared))
            h.end_headers()
            h.wfile.flush()
            self.sending.set()
            for _ in range(declared):
                if self.stopping.wait(every):
                    return
                h.wfile.write(b"\0")
                h.wfile.flush()

        self.routes[path] = route
        return self.url + path

    def silent(self, path: str) -> str:
        """Declare a body at *path*, then send nothing until the client hangs up."""

        def route(h: _Handler) -> None:
            h.send_response(200)
            h.send_header("Content-Length", "1000000")
            h.end_headers()
            h.wfile.flush()
            self.sending.set()
            while not self.stopping.is_set():
                readable, _w, _x = select.select([h.connection], [], [], 0.1)
                if readable and not h.connection.recv(1, socket.MSG_PEEK):
                    self.hung_up()
                    return

        self.routes[path] = route
        return self.url + path


@pytest.fixture()
def source() -> Iterator[Source]:
    s = Source("127.0.0.1")
    try:
        yield s
    finally:
        s.close()


@pytest.fixture()
def other_source() -> Iterator[Source]:
    """A second source on another loopback address (127.0.0.2), told apart by the rules."""
    s = Source("127.0.0.2")
    try:
        yield s
    finally:
        s.close()


@pytest.fixture()
def hub(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_hub(tmp_path, tmp_path_factory.getbasetemp())


@pytest.fixture()
def esa(hub: Path) -> dict[str, str]:
    return bearer(make_key(hub, "provider:ESA", name="ESA ops")[1])


def _client(hub: Path, **settings: Any) -> TestClient:
    """An in-process API on *hub* with a job runner (unless ``job_workers=0``)."""
    return TestClient(create_app(Settings(home=hub, **{"job_workers": 1, **settings})))


def _policy(allow: str = "", **kwargs: Any) -> FetchPolicy:
    return FetchPolicy(allowed=AllowList.parse(allow), **kwargs)


def _fetch(policy: FetchPolicy, url: str, max_bytes: int = 10**9) -> bytes:
    out = io.BytesIO()
    Fetcher(policy, max_bytes=max_bytes).download(url, out)
    return out.getvalue()


# -- D4: where the hub may connect --------------------------------------------------------------
def test_loopback_is_refused_by_default(
    hub: Path, esa: dict[str, str], source: Source, tmp_path: Path
) -> None:
    port = source.server.server_address[1]
    source.body(f"/ozone/{OZONE.name}", OZONE.read_bytes())
    with _client(hub) as api:
        # a literal loopback address is refused at once
        r = api.post("/ingest", json={"urls": [f"{source.url}/ozone/{OZONE.name}"]}, headers=esa)
        assert r.status_code == 400, r.text
        assert "not a public address" in r.json()["detail"]
        # a name that resolves to loopback is refused when the job fetches it
        by_name = f"http://localhost:{port}/ozone/{OZONE.name}"
        before = snapshot(hub)
        r = api.post("/ingest", json={"urls": [by_name]}, headers=esa)
        assert r.status_code == 201, r.text
        done = wait_for_job(api, r.json()["jobID"], headers=esa)
    assert done["status"] == "failed"
    assert done["message"] == f"{by_name}: {GENERIC}"
    assert source.requests == []  # never contacted
    after = snapshot(hub)
    assert after[0] == before[0]  # no cube, no upload left
    assert after[1]["sco_collections"] == before[1]["sco_collections"]
    # the guarded client itself, with the default rules
    with pytest.raises(FetchError, match=GENERIC):
        _fetch(_policy(), by_name)
    assert source.requests == []


def test_allowed_networks_admit_exactly_what_they_list(
    source: Source, other_source: Source
) -> None:
    data = OZONE.read_bytes()
    first = source.body("/a.nc", data)
    second = other_source.body("/a.nc", data)
    only_second = _policy("127.0.0.2/32")
    assert _fetch(only_second, second) == data
    with pytest.raises(FetchError):
        _fetch(only_second, first)
    assert source.requests == []
    assert _fetch(_policy("127.0.0.0/8"), first) == data
    # a host name in the list admits that host, whatever it resolves to
    port = source.server.server_address[1]
    assert _fetch(_policy("localhost"), f"http://localhost:{port}/a.nc") == data
    with pytest.raises(FetchError):
        _fetch(_policy("localhost"), first)  # the address itself is not listed
    # a list entry that is neither a network nor a name is refused
    with pytest.raises(InputError, match="neither a network nor a host name"):
        AllowList.parse("10.0.0.0/8, not a host!")


def test_public_addresses_are_told_from_the_others() -> None:
    public = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2a00:1450:4001:81c::200e"]
    others = [
        "127.0.0.1",
        "127.0.0.2",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata services
        "100.64.0.1",  # shared (carrier-grade NAT)
        "0.0.0.0",
        "224.0.0.1",  # multicast
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo of 127.0.0.1
    ]
    for address in public:
        assert is_public(ipaddress.ip_address(address)), address
    for address in others:
        assert not is_public(ipaddress.ip_address(address)), address
    allow = AllowList.parse("127.0.0.0/8")
    assert allow.admits("x", ipaddress.ip_address("::ffff:127.0.0.1"))
    assert not allow.admits("x", ipaddress.ip_address("10.0.0.1"))


def test_a_redirect_to_the_hubs_own_metrics_is_refused(
    hub: Path, esa: dict[str, str], other_source: Source
) -> None:
    """The source (allowed, on 127.0.0.2) redirects to the hub's /metrics (on 127.0.0.1)."""
    url, proc = start_server(hub, env={"SCO_FETCH_ALLOW_NETWORKS": "127.0.0.2/32"})
    try:
        bait = other_source.redirect(f"/ozone/{OZONE.name}", f"{url}/metrics")

        def metrics_requests() -> float:
            text = httpx.get(f"{url}/metrics", timeout=10).text
            found = re.search(r'sco_http_requests_total\{[^}]*route="/metrics"[^}]*\} (\S+)', text)
            return float(found.group(1)) if found else 0.0

        before = metrics_requests()
        with httpx.Client(base_url=url, timeout=30) as api:
            r = api.post("/ingest", json={"urls": [bait]}, headers=esa)
            assert r.status_code == 201, r.text
            done = wait_for_job(api, r.json()["jobID"], headers=esa)
        assert done["status"] == "failed"
        assert done["message"] == f"{bait}: {GENERIC}"
        assert other_source.requests == [f"/ozone/{OZONE.name}"]
        assert metrics_requests() == before + 1  # only the scrape above: the job never asked
    finally:
        stop_server(proc)


def _certificate_authority(tmp: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A test authority and a certificate it signs for ``localhost``: (server, client) TLS."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("test authority"))
        .issuer_name(name("test authority"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (tmp / "leaf.pem").write_bytes(
        leaf.public_bytes(pem)
        + key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp / "leaf.pem")
    client = ssl.create_default_context(cadata=ca.public_bytes(pem).decode())
    return server, client


def test_https_sources_are_verified_for_the_host_named(tmp_path: Path) -> None:
    server_tls, client_tls = _certificate_authority(tmp_path)
    source = Source("127.0.0.1", tls=server_tls)
    try:
        data = OZONE.read_bytes()
        source.body("/a.nc", data)
        port = source.server.server_address[1]
        policy = _policy("127.0.0.1")
        out = io.BytesIO()
        fetcher = Fetcher(policy, max_bytes=10**9, ssl_context=client_tls)
        fetcher.download(f"https://localhost:{port}/a.nc", out)  # connected to the address
        assert out.getvalue() == data  # checked, the certificate checked for the name
        with pytest.raises(FetchError):  # the certificate is not for the address
            fetcher.download(f"https://127.0.0.1:{port}/a.nc", io.BytesIO())
        with pytest.raises(FetchError):  # nor trusted by the public authorities
            _fetch(policy, f"https://localhost:{port}/a.nc")
    finally:
        source.close()


def test_redirects_are_judged_at_every_hop(source: Source) -> None:
    base = source.url
    data = OZONE.read_bytes()
    source.body("/public/data.nc", data)
    source.body("/private/secret", b"internal")
    source.redirect("/public/a", "/public/b")
    source.redirect("/public/b", f"{base}/public/data.nc", status=307)
    source.redirect("/public/out", "/public/hop")
    source.redirect("/public/hop", f"{base}/private/secret", status=301)
    source.redirect("/public/loop", "/public/loop")
    source.redirect("/public/scheme", "file:///etc/passwd")
    policy = _policy("127.0.0.1", prefixes=(f"{base}/public/",), max_redirects=3)
    assert _fetch(policy, f"{base}/public/a") == data  # redirects within the rules are followed
    source.requests.clear()
    with pytest.raises(FetchError, match=f"^{re.escape(base)}/public/out: {GENERIC}$"):
        _fetch(policy, f"{base}/public/out")
    assert source.requests == ["/public/out", "/public/hop"]  # /private/secret never asked
    source.requests.clear()
    with pytest.raises(FetchError):
        _fetch(policy, f"{base}/public/loop")
    assert source.requests == ["/public/loop"] * 4  # the first request and 3 redirects
    with pytest.raises(FetchError):
        _fetch(policy, f"{base}/public/scheme")


def test_prefixes_are_compared_as_urls(hub: Path, esa: dict[str, str]) -> None:
    with _client(hub, job_workers=0, ingest_url_prefixes="https://data.esa.int") as api:
        for url in (
            "https://data.esa.int@127.0.0.1/a.nc",  # user info: the host is 127.0.0.1
            "https://data.esa.int.example.org/a.nc",
            "https://data.esa.int:8443/a.nc",
            "https://data.esa.int/cci/../../a.nc",
            "http://data.esa.int/a.nc",
        ):
            r = api.post(
                "/ingest", json={"urls": [f"{url[: -len('a.nc')]}{OZONE.name}"]}, headers=esa
            )
            assert r.status_code == 400, (url, r.text)
            assert "allowed prefix" in r.json()["detail"], r.json()
        ok = api.post(
            "/ingest", json={"urls": [f"https://data.esa.int/cci/{OZONE.name}"]}, headers=esa
        )
        assert ok.status_code == 201, ok.text


def test_failures_say_nothing_of_the_network(
    hub: Path, esa: dict[str, str], source: Source
) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens there: connection refused
    name = OZONE.name
    source.routes[f"/broken/{name}"] = lambda h: h.send_error(500, "database at 10.0.0.7 down")
    urls = [
        f"http://127.0.0.1:{closed_port}/{name}",
        f"{source.url}/missing/{name}",
        f"{source.url}/broken/{name}",
        source.redirect(f"/away/{name}", f"http://169.254.169.254/latest/{name}"),
        f"http://localhost:{source.server.server_address[1]}/missing/{name}",
    ]
    with _client(hub, fetch_allow_networks="127.0.0.1") as api:
        messages = []
        for url in urls:
            r = api.post("/ingest", json={"urls": [url + "?token=s3cr3t"]}, headers=esa)
            assert r.status_code == 201, r.text
            done = wait_for_job(api, r.json()["jobID"], headers=esa)
            assert done["status"] == "failed"
            messages.append(done["message"])
    assert messages == [f"{url}: {GENERIC}" for url in urls]
    for message in messages:
        for leak in ("refused", "404", "500", "10.0.0.7", "169.254", "Error", "s3cr3t"):
            assert leak not in message, (leak, message)


# -- D5: slow sources, deadlines, dismissal -----------------------------------------------------
def test_a_trickling_source_is_given_up_at_the_download_deadline(
    hub: Path, esa: dict[str, str], source: Source
) -> None:
    url = source.trickle(f"/ozone/{OZONE.name}", every=0.2)
    with _client(hub, fetch_allow_networks="127.0.0.1", fetch_timeout=2.0) as api:
        start = time.monotonic()
        r = api.post("/ingest", json={"urls": [url]}, headers=esa)
        done = wait_for_job(api, r.json()["jobID"], timeout=30, headers=esa)
        took = time.monotonic() - start
    assert done["status"] == "failed"
    assert done["message"] == f"{url}: {GENERIC}"
    assert took < 8, took  # 2 s of download, not a byte every 0.2 s for ever
    assert source.hangup.wait(5)  # the hub hung up on the source


def test_the_job_time_limit_bounds_its_downloads(
    hub: Path, esa: dict[str, str], source: Source
) -> None:
    url = source.silent(f"/ozone/{OZONE.name}")
    with _client(hub, fetch_allow_networks="127.0.0.1", job_time_limit=2.0) as api:
        start = time.monotonic()
        r = api.post("/ingest", json={"urls": [url]}, headers=esa)
        done = wait_for_job(api, r.json()["jobID"], timeout=30, headers=esa)
        took = time.monotonic() - start
    assert done["status"] == "failed"
    assert "time limit" in done["message"]
    assert took < 8, took  # not the 30 s the source may stay silent between bytes


@pytest.mark.parametrize("behaviour", ["trickle", "silent"])
def test_dismissing_a_job_stops_its_download_and_frees_the_runner(
    hub: Path, esa: dict[str, str], source: Source, behaviour: str
) -> None:
    path = f"/ozone/{OZONE.name}"
    url = source.trickle(path, every=1.0) if behaviour == "trickle" else source.silent(path)
    with _client(hub, fetch_allow_networks="127.0.0.1") as api:
        r = api.post("/ingest", json={"urls": [url]}, headers=esa)
        job_id = r.json()["jobID"]
        assert source.sending.wait(30), "the job never reached the source"
        time.sleep(1.5)  # it is now downloading
        assert api.get(f"/jobs/{job_id}", headers=esa).json()["status"] == "running"
        start = time.monotonic()
        api.delete(f"/jobs/{job_id}", headers=esa)
        done = wait_for_job(api, job_id, timeout=30, headers=esa)
        assert done["status"] == "dismissed", done
        assert time.monotonic() - start < 5
        assert source.hangup.wait(5) and source.hangups[0] - start < 5
        assert not (hub / "uploads" / job_id).exists()
        # the only runner is free again: an upload is ingested
        r = api.post("/ingest", files=[("files", (SM_DAY.name, SM_DAY.read_bytes()))], headers=esa)
        assert (
            wait_for_job(api, r.json()["jobID"], timeout=120, headers=esa)["status"] == "successful"
        )


def test_bytes_are_counted_as_they_arrive(source: Source) -> None:
    data = bytes(3_000_000)
    undeclared = source.body("/undeclared.nc", data, length=False)
    policy = _policy("127.0.0.1")
    out = io.BytesIO()
    with pytest.raises(TooLargeError, match="over the limit of 1000000 bytes"):
        Fetcher(policy, max_bytes=1_000_000).download(undeclared, out)
    assert len(out.getvalue()) <= 1_000_000
    # a declared length over the limit is refused before the body is read
    source.trickle("/huge.nc", every=5.0, declared=10**12)
    start = time.monotonic()
    with pytest.raises(TooLargeError):
        _fetch(policy, f"{source.url}/huge.nc", max_bytes=1_000_000)
    assert time.monotonic() - start < 3
    # the limit is over all the downloads of one fetcher (one job)
    fetcher = Fetcher(policy, max_bytes=len(data) + 10)
    fetcher.download(undeclared, io.BytesIO())
    with pytest.raises(TooLargeError):
        fetcher.download(undeclared, io.BytesIO())


def test_an_oversized_download_fails_its_job(
    hub: Path, esa: dict[str, str], source: Source
) -> None:
    url = source.body(f"/ozone/{OZONE.name}", bytes(3_000_000), length=False)
    with _client(hub, fetch_allow_networks="127.0.0.1", max_upload_bytes=1_000_000) as api:
        r = api.post("/ingest", json={"urls": [url]}, headers=esa)
        done = wait_for_job(api, r.json()["jobID"], headers=esa)
    assert done["status"] == "failed"
    assert done["message"] == f"{url}: the files fetched are over the limit of 1000000 bytes"
    assert not (hub / "uploads" / r.json()["jobID"]).exists()


# -- D7: decompression bombs --------------------------------------------------------------------
BOMB_SHAPE = (1, 21600, 43200)
BOMB_CHUNK = (1, 2160, 4320)
BOMB_BYTES = 21600 * 43200 * 4
BOMB_NAME = "o3_esacci_total_column_merged_209901_bomb.nc"
BOMB_VARIABLES = (
    "atmosphere_mole_content_of_ozone",
    "atmosphere_mole_content_of_ozone_standard_deviation",
)


def write_bomb(path: Path) -> Path:
    """Write a NetCDF-4 file of a few MB: zlib-compressed zeros declaring 3.7 GB a variable.

    It is a well-formed file of the ozone recipe (coordinates, time), so without a limit
    the ingest reads its variables whole.
    """
    _, rows, cols = BOMB_SHAPE
    with netCDF4.Dataset(path, "w") as nc:
        nc.createDimension("time", 1)
        nc.createDimension("lat", rows)
        nc.createDimension("lon", cols)
        time_var = nc.createVariable("time", "f8", ("time",))
        time_var.units = "days since 2099-01-01"
        time_var[:] = [14.0]
        lat = nc.createVariable("lat", "f4", ("lat",))
        lat.units = "degrees_north"
        lat[:] = -90 + (np.arange(rows) + 0.5) * 180 / rows
        lon = nc.createVariable("lon", "f4", ("lon",))
        lon.units = "degrees_east"
        lon[:] = -180 + (np.arange(cols) + 0.5) * 360 / cols
        for name in BOMB_VARIABLES:
            var = nc.createVariable(
                name,
                "f4",
                ("time", "lat", "lon"),
                zlib=True,
                complevel=9,
                shuffle=False,
                chunksizes=BOMB_CHUNK,
            )
            var.units = "DU"
    blob = zlib.compress(np.zeros(BOMB_CHUNK, "f4").tobytes(), 9)
    with h5py.File(path, "r+") as h5:  # write the compressed chunks as they are
        for name in BOMB_VARIABLES:
            data = h5[name]
            for i in range(0, rows, BOMB_CHUNK[1]):
                for j in range(0, cols, BOMB_CHUNK[2]):
                    data.id.write_direct_chunk((0, i, j), blob)
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = write_bomb(tmp_path_factory.mktemp("bomb") / BOMB_NAME)
    assert path.stat().st_size < 10_000_000
    with netCDF4.Dataset(path) as nc:  # what it declares, and holds
        assert nc[BOMB_VARIABLES[0]].shape == BOMB_SHAPE
        assert float(nc[BOMB_VARIABLES[0]][0, -1, -1]) == 0.0
    return path


def _assert_refusal(message: str, limit: int = DEFAULT_MAX_VARIABLE_BYTES) -> None:
    assert "\n" not in message
    assert BOMB_NAME in message
    assert repr(BOMB_VARIABLES[0]) in message
    assert f"{BOMB_BYTES:,} bytes" in message
    assert f"limit of {limit:,} bytes" in message


def _peak_after_exec(proc: subprocess.Popen[bytes], marker: bytes) -> int:
    """The child's peak resident memory (VmHWM) once it runs the command named by *marker*.

    Read from /proc while it runs: its own high-water mark after exec, not the resource usage
    the kernel reports at exit, which also counts the pages of the large test process it was
    forked from before it exec'd.
    """
    peak = 0
    status_file = Path(f"/proc/{proc.pid}/status")
    cmdline_file = Path(f"/proc/{proc.pid}/cmdline")
    while proc.poll() is None:
        try:
            if marker in cmdline_file.read_bytes():
                found = re.search(r"VmHWM:\s+(\d+) kB", status_file.read_text())
                if found:
                    peak = max(peak, int(found.group(1)) * 1024)
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.005)
    return peak


def test_sco_ingest_refuses_a_bomb_with_little_memory(bomb: Path, tmp_path: Path) -> None:
    home = tmp_path / "hub"
    env = {**os.environ, "SCO_HOME": str(home), **hub_env(home)}
    env.pop("SCO_MAX_VARIABLE_BYTES", None)
    err_file = tmp_path / "stderr.txt"
    with err_file.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "spaceclimate", "ingest", str(bomb)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        watchdog = threading.Timer(300, proc.kill)
        watchdog.start()
        try:
            peak = _peak_after_exec(proc, b"spaceclimate\0ingest")
            status = proc.wait()
        finally:
            watchdog.cancel()
    proc.returncode = status
    message = err_file.read_text()
    # its peak memory is that of starting Python with the hub's libraries, not 3.7 GB
    assert 50 * 2**20 < peak < 800 * 2**20, f"peak RSS {peak / 2**20:.0f} MiB"
    assert proc.returncode == 2, message
    _assert_refusal(message.strip().splitlines()[-1])
    assert not (home / "store").exists() or not any((home / "store").rglob("zarr.json"))


def test_an_uploaded_bomb_fails_its_job_and_the_server_stays_small(
    hub: Path, esa: dict[str, str], bomb: Path
) -> None:
    before = snapshot(hub)
    with _client(hub) as api:
        peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        r = api.post("/ingest", files=[("files", (BOMB_NAME, bomb.read_bytes()))], headers=esa)
        assert r.status_code == 201, r.text
        done = wait_for_job(api, r.json()["jobID"], headers=esa)
        peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        results = api.get(f"/jobs/{done['jobID']}/results", headers=esa)
    assert peak_after - peak_before < 500 * 2**20  # nothing near 3.7 GB was held
    assert done["status"] == "failed"
    _assert_refusal(done["message"])
    assert results.status_code == 409
    after = snapshot(hub)
    assert after[0] == before[0]
    for table in ("sco_collections", "sco_collection_versions", "sco_items"):
        assert after[1][table] == before[1][table], table


def test_the_limit_is_a_setting_and_every_reader_is_held_to_it(
    bomb: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DecodedSizeError) as caught:
        check_decoded_size(bomb, None, DEFAULT_MAX_VARIABLE_BYTES)
    assert caught.value.status == 413 and caught.value.exit_code == 2
    _assert_refusal(caught.value.message)
    check_decoded_size(bomb, None, BOMB_BYTES)  # allowed when the operator raises the limit
    # the ingest takes its limit from SCO_MAX_VARIABLE_BYTES
    monkeypatch.setenv("SCO_MAX_VARIABLE_BYTES", "1000000")
    ingestor = Ingestor(Settings(home=tmp_path / "hub"))
    try:
        with pytest.raises(DecodedSizeError, match=rf"^{re.escape(SM_DAY.name)}: variable "):
            ingestor.ingest([SM_DAY])
    finally:
        ingestor.close()
    # a lower limit refuses real samples of every format, naming the variable
    for sample in (
        SAMPLES / "land" / "landcover_modis_mcd12q1_v006_h00v08_2001.hdf",
        SAMPLES / "snow" / "snow_modis_mod10a2_h09v05_2022033_max_snow_extent_cog.tif",
        SAMPLES / "ocean_colour" / "chl_olci_c2rcc_cube_southern_north_sea_201701.zarr",
        SM_DAY,
    ):
        with pytest.raises(DecodedSizeError, match=rf"^{re.escape(sample.name)}: variable '"):
            check_decoded_size(sample, None, 1_000_000)
    # a reader that declares nothing is held to the limit once opened, before any use
    table = SAMPLES / "sea_ice" / "nsidc_seaice_index_extent_daily_N_v3.0.csv"
    recipe = match_recipe(table)
    check_decoded_size(table, recipe.reader, 1000, **recipe.reader_options)  # cannot say
    with pytest.raises(DecodedSizeError, match="over the limit of 1,000 bytes"):
        open_dataset(table, recipe.reader, max_variable_bytes=1000, **recipe.reader_options)


def _samples() -> list[Path]:
    return sorted(
        entry
        for folder in SAMPLES.iterdir()
        if folder.is_dir()
        for entry in folder.iterdir()
        if entry.suffix != ".md"
    )


def _kind(dtype: np.dtype) -> object:
    """A dtype as declared before reading: text of variable length has no width until read
    (declared as objects, opened as fixed-width text)."""
    return "text" if dtype.kind in "OU" else dtype


@pytest.mark.parametrize("sample", _samples(), ids=lambda p: p.name)
def test_every_sample_is_within_the_default_and_declared_as_opened(sample: Path) -> None:
    recipe = match_recipes(sample)[0]  # recipes sharing a file read it alike
    reader = guess_reader(sample)
    options = dict(recipe.reader_options) if recipe.reader == reader.name else {}
    check_decoded_size(sample, reader.name, DEFAULT_MAX_VARIABLE_BYTES, **options)
    if not isinstance(reader, DeclaresVariables):
        return
    declared = reader.declared(sample, **options)
    assert declared is not None
    ds = reader.open(sample, **options)
    try:
        opened = {str(k): (tuple(v.shape), _kind(v.dtype)) for k, v in ds.variables.items()}
    finally:
        ds.close()
    assert {k: (v.shape, _kind(v.dtype)) for k, v in declared.items()} == {
        k: opened[k] for k in declared
    }
    assert {k for k, (shape, _dtype) in opened.items() if shape} <= set(declared)
