"""Public JSON schemas served offline: a loopback proxy that answers for their web hosts.

Validators fetch the schemas a STAC document names (``https://schemas.stacspec.org/...``,
``https://stac-extensions.github.io/...``, ``https://geojson.org/...``) and the schemas those
refer to. Tests run without the internet, so :func:`offline_schemas` starts a proxy on the
loopback interface that serves the copies in ``tests/data/schemas/<host>/<path>``:

- ``https://`` requests come as ``CONNECT host:443``: the proxy answers for a host it has
  copies of with a certificate of a certification authority made for the test (a client
  trusts it through ``REQUESTS_CA_BUNDLE`` and ``SSL_CERT_FILE``), then serves the file;
- ``http://`` requests come in absolute form (``GET http://json-schema.org/...``);
- any other host is refused (403), as an offline machine would fail to reach it.

The environment :func:`offline_schemas` yields points a subprocess's HTTP clients at the
proxy (those that honour ``HTTPS_PROXY`` and ``NO_PROXY``), loopback addresses excepted.
Nothing of the validators is changed: they fetch the same URLs and get the same documents.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import socketserver
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SCHEMAS = Path(__file__).parent / "data" / "schemas"


@dataclass
class ProxyLog:
    """What the proxy was asked: URLs served, URLs it has no copy of, hosts refused."""

    served: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, what: str) -> None:
        with self.lock:
            getattr(self, kind).append(what)


def _certificates(hosts: list[str], folder: Path) -> tuple[Path, Path, Path]:
    """Write a CA certificate and a server certificate (and key) for *hosts*; return paths."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "offline schemas test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(h) for h in hosts]
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    root: Path
    hosts: set[str]
    tls: ssl.SSLContext
    log: ProxyLog


class _FileHandler(http.server.BaseHTTPRequestHandler):
    """Answers a GET for ``host/path`` with the copy of that file (404 without one)."""

    server: _Server
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        pass

    def _serve(self, host: str, path: str) -> None:
        url = f"{host}{path}"
        root = self.server.root.resolve()
        target = (root / host / path.lstrip("/")).resolve()
        if host not in self.server.hosts or not target.is_relative_to(root / host):
            self.server.log.add("refused", url)
            self.send_error(403, "offline: not a schema host of the test")
            return
        if not target.is_file():
            self.server.log.add("missing", url)
            self.send_error(404, "no copy of this schema")
            return
        body = target.read_bytes()
        self.server.log.add("served", url)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _TunnelHandler(_FileHandler):
    """Requests inside a TLS tunnel: the host is the one the tunnel was opened for."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        host = (self.headers.get("Host") or "").split(":", 1)[0]
        self._serve(host, urlsplit(self.path).path)


class _ProxyHandler(_FileHandler):
    """The proxy: ``CONNECT`` for https URLs, absolute-form ``GET`` for http ones."""

    def do_CONNECT(self) -> None:  # noqa: N802 - http.server's naming
        host = self.path.rsplit(":", 1)[0]
        if host not in self.server.hosts:
            self.server.log.add("refused", self.path)
            self.send_error(403, "offline: not a schema host of the test")
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        try:
            tunnel = self.server.tls.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            self.close_connection = True
            return
        try:
            _TunnelHandler(tunnel, self.client_address, self.server)
        finally:
            tunnel.close()
        self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        url = urlsplit(self.path)
        self._serve(url.hostname or "", url.path)


@contextmanager
def offline_schemas(
    workdir: Path, root: Path = SCHEMAS
) -> Iterator[tuple[dict[str, str], ProxyLog]]:
    """Serve the schema copies under *root* through a loopback proxy while in the block.

    Parameters
    ----------
    workdir
        A folder for the test's certificates.
    root
        Copies of the schemas, one folder per host.

    Yields
    ------
    tuple
        The environment variables that send a subprocess's web requests through the proxy
        (loopback addresses directly), and the log of what the proxy was asked.
    """
    hosts = sorted(p.name for p in root.iterdir() if p.is_dir())
    ca_path, cert_path, key_path = _certificates(hosts, workdir)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert_path, key_path)
    server = _Server(("127.0.0.1", 0), _ProxyHandler)
    server.root, server.hosts, server.tls, server.log = root, set(hosts), tls, ProxyLog()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    proxy = f"http://127.0.0.1:{server.server_address[1]}"
    env = {
        "HTTPS_PROXY": proxy,
        "https_proxy": proxy,
        "HTTP_PROXY": proxy,
        "http_proxy": proxy,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        "REQUESTS_CA_BUNDLE": str(ca_path),
        "SSL_CERT_FILE": str(ca_path),
    }
    try:
        yield env, server.log
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
