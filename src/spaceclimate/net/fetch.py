"""The guarded client: every download the hub makes of a URL someone gave it.

:class:`Fetcher` downloads http(s) URLs into open files under a
:class:`~spaceclimate.net.policy.FetchPolicy`:

- it follows redirects itself, at most ``max_redirects`` of them, judging every URL a
  redirect leads to as it judged the first (scheme, allowed prefixes, literal addresses);
- it connects only to addresses it resolved and checked (:mod:`spaceclimate.net.transport`);
- a download has a total deadline (the policy's ``timeout``, and the caller's, a job's end),
  not only a wait per read, and the caller's check runs about every second while it
  connects and streams;
- the bytes are counted as they arrive, against a limit for everything the fetcher fetches;
- a failure says only that the source (as it was given) could not be fetched. The reason,
  which may name internal addresses or the way a connection failed, goes to the log
  (logger ``spaceclimate.net``), not to the one who sent the URL.
"""

from __future__ import annotations

import base64
import logging
import math
import ssl
import time
import zlib
from collections.abc import Callable, Iterator
from typing import BinaryIO
from urllib.parse import unquote, urljoin, urlsplit

import httpcore

from spaceclimate import __version__
from spaceclimate.errors import FetchError, SCOError, TooLargeError
from spaceclimate.net.addresses import AddressRefused
from spaceclimate.net.policy import FetchPolicy
from spaceclimate.net.transport import GuardedBackend
from spaceclimate.net.watch import Expired, Watch

log = logging.getLogger("spaceclimate.net")

REDIRECTS = {301, 302, 303, 307, 308}
BLOCK = 1 << 20
#: Failures of a download that are the source's or the network's, never the hub's.
_NETWORK_FAILURES = (
    httpcore.NetworkError,
    httpcore.TimeoutException,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    ssl.SSLError,
    OSError,
    zlib.error,
)

#: ``check(url as given, bytes received so far)``; raising stops the download.
Check = Callable[[str, int], None]


class _Unusable(Exception):
    """The source answered, but not with something to save (the reason is for the log)."""


def redact(url: str) -> str:
    """Return *url* without credentials, query or fragment (they may carry a token)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port:
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}{parts.path}"


def _request_target(url: str) -> str:
    """The URL as requested: no credentials or fragment, an ASCII (IDNA) host."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        host = host.encode("idna").decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{host}{parts.path or '/'}{query}"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.hostname or "", parts.port


def _basic_auth(url: str) -> list[tuple[bytes, bytes]]:
    """The Authorization header of credentials written in *url*, if any."""
    parts = urlsplit(url)
    if parts.username is None:
        return []
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return [(b"Authorization", b"Basic " + base64.b64encode(pair))]


def _header(response: httpcore.Response, name: bytes) -> str | None:
    for key, value in response.headers:
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


def _decoded(blocks: Iterator[bytes], encoding: str) -> Iterator[bytes]:
    """The body's bytes without its content coding (identity, gzip or deflate)."""
    if encoding in ("", "identity"):
        yield from blocks
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise _Unusable(f"content coding {encoding!r} is not supported")
    inflate = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib header
    for block in blocks:
        pending = block
        while pending:  # bounded output per step: a compressed body cannot balloon at once
            out = inflate.decompress(pending, BLOCK)
            pending = inflate.unconsumed_tail
            if out:
                yield out
    rest = inflate.flush()
    if rest:
        yield rest


class Fetcher:
    """Downloads URLs under a policy, with a byte limit over all of them (see the module).

    Parameters
    ----------
    policy
        Where URLs may point, redirects, timeouts.
    max_bytes
        Most bytes (decoded) all downloads of this fetcher may bring together.
    deadline
        ``time.monotonic()`` by which every download must have ended (a job's end).
    check
        Called about every second while a download runs, with the URL as given and the
        bytes received so far; it stops the download by raising.
    ssl_context
        The certificates trusted for https sources; default: the public authorities.
    """

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        max_bytes: int,
        deadline: float = math.inf,
        check: Check | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy
        self.max_bytes = max_bytes
        self.deadline = deadline
        self.check = check
        self.ssl_context = ssl_context
        self.received = 0

    def download(self, url: str, out: BinaryIO) -> int:
        """Write the body of *url* (after redirects) to *out*; return the bytes written.

        Raises
        ------
        spaceclimate.errors.FetchError
            When the URL or one it redirects to is not allowed, the source cannot be
            reached or answers otherwise than 200, or the download runs out of time; the
            message names the URL as given, and nothing else.
        spaceclimate.errors.TooLargeError
            When the bytes fetched pass ``max_bytes``.
        """
        shown = redact(url)
        check = self.check
        watch = Watch(
            min(time.monotonic() + self.policy.timeout, self.deadline),
            (lambda: check(shown, self.received)) if check is not None else None,
        )
        backend = GuardedBackend(self.policy.allowed, watch, self.policy.idle_timeout)
        try:
            with httpcore.ConnectionPool(
                ssl_context=self.ssl_context,
                network_backend=backend,
                http1=True,
                http2=False,
                retries=0,
                max_connections=1,
            ) as pool:
                return self._follow(pool, url, out, watch, shown)
        except AddressRefused as exc:
            reason = str(exc)
        except Expired:
            reason = f"not done within its deadline ({self.policy.timeout:g} s per download)"
        except _Unusable as exc:
            reason = str(exc)
        except _NETWORK_FAILURES as exc:
            reason = f"{type(exc).__name__}: {exc}"
        log.warning("could not fetch %s: %s", shown, reason)
        raise FetchError(f"{shown}: the source could not be fetched")

    def _follow(
        self, pool: httpcore.ConnectionPool, url: str, out: BinaryIO, watch: Watch, shown: str
    ) -> int:
        """Request *url*, following redirects that the policy admits; save the answer."""
        current = url
        origin = _origin(url)
        for _hop in range(self.policy.max_redirects + 1):
            reason = self.policy.refusal(current)
            if reason:
                raise _Unusable(f"{redact(current)} {reason}")
            headers = [
                (b"Accept", b"*/*"),
                (b"Accept-Encoding", b"identity"),
                (b"User-Agent", f"spaceclimate/{__version__}".encode()),
            ]
            if _origin(current) == origin:  # credentials go to the origin they were given for
                headers += _basic_auth(url)
            idle = self.policy.idle_timeout
            with pool.stream(
                "GET",
                _request_target(current),
                headers=headers,
                extensions={
                    "timeout": {"connect": idle, "read": idle, "write": idle, "pool": idle}
                },
            ) as response:
                if response.status in REDIRECTS:
                    location = _header(response, b"location")
                    if not location:
                        raise _Unusable(f"HTTP {response.status} without a Location")
                    current = urljoin(current, location)
                    continue
                if response.status != 200:
                    raise _Unusable(f"{redact(current)} answered HTTP {response.status}")
                return self._save(response, out, watch, shown)
        raise _Unusable(f"more than {self.policy.max_redirects} redirects")

    def _save(self, response: httpcore.Response, out: BinaryIO, watch: Watch, shown: str) -> int:
        """Stream the body of *response* into *out*, counting against the limit."""
        too_large = TooLargeError(
            f"{shown}: the files fetched are over the limit of {self.max_bytes} bytes"
        )
        declared = _header(response, b"content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > self.max_bytes - self.received:
                raise too_large
        encoding = (_header(response, b"content-encoding") or "").lower()
        written = 0
        for block in _decoded(response.iter_stream(), encoding):
            watch.tick()
            self.received += len(block)
            if self.received > self.max_bytes:
                raise too_large
            try:
                out.write(block)
            except OSError as exc:  # the hub's disk, not the source: not a fetch failure
                raise SCOError(f"{shown}: cannot save the download ({exc.strerror})") from None
            written += len(block)
        return written
