"""Connections of the guarded client: to checked addresses only, watched while they wait.

:class:`GuardedBackend` is the network layer the HTTP protocol code runs on. For every
connection it resolves the host itself, checks every address against the rules
(:func:`~spaceclimate.net.addresses.admitted_endpoints`) and connects to an address it
checked, so a name that resolves differently a moment later (DNS rebinding) changes
nothing. Its streams never block for long: connecting, the TLS handshake, reads and writes
wait in slices of :data:`~spaceclimate.net.watch.SLICE` seconds, ticking the download's
:class:`~spaceclimate.net.watch.Watch` between them, and give up after the idle timeout
without progress.
"""

from __future__ import annotations

import errno
import functools
import select
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import httpcore

from spaceclimate.net.addresses import AllowList, Endpoint, admitted_endpoints
from spaceclimate.net.watch import Watch

T = TypeVar("T")

_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, errno.EAGAIN}


class GuardedStream(httpcore.NetworkStream):
    """A connected socket (plain or TLS) whose every wait is sliced and watched."""

    def __init__(self, sock: socket.socket, watch: Watch, idle: float) -> None:
        self.sock = sock
        self.watch = watch
        self.idle = idle

    def _wait(
        self,
        operation: Callable[[], T],
        failed: type[Exception],
        timed_out: type[Exception],
    ) -> T:
        """Run a socket *operation*, retrying after each slice until it makes progress."""
        until = time.monotonic() + self.idle
        while True:
            self.watch.tick()
            if time.monotonic() >= until:
                raise timed_out(f"no progress in {self.idle:g} s")
            self.sock.settimeout(self.watch.slice(until))
            try:
                return operation()
            except (TimeoutError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                continue
            except OSError as exc:
                raise failed(str(exc) or type(exc).__name__) from exc

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Return the next bytes received (empty at the end of the stream)."""
        return self._wait(
            lambda: self.sock.recv(max_bytes), httpcore.ReadError, httpcore.ReadTimeout
        )

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Send all of *buffer*."""
        view = memoryview(buffer)
        while view:
            sent = self._wait(
                functools.partial(self.sock.send, view), httpcore.WriteError, httpcore.WriteTimeout
            )
            view = view[sent:]

    def close(self) -> None:
        """Close the connection."""
        self.sock.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        """Return this connection wrapped in TLS (certificate checked for *server_hostname*)."""
        tls = ssl_context.wrap_socket(
            self.sock, server_hostname=server_hostname, do_handshake_on_connect=False
        )
        stream = GuardedStream(tls, self.watch, self.idle)
        try:
            stream._wait(tls.do_handshake, httpcore.ConnectError, httpcore.ConnectTimeout)
        except BaseException:
            tls.close()
            raise
        return stream

    def get_extra_info(self, info: str) -> Any:
        """What the protocol code asks of a connection (TLS object, addresses, liveness)."""
        if info == "ssl_object":
            return self.sock if isinstance(self.sock, ssl.SSLSocket) else None
        if info == "client_addr":
            return self.sock.getsockname()
        if info == "server_addr":
            return self.sock.getpeername()
        if info == "socket":
            return self.sock
        if info == "is_readable":  # an idle kept-alive connection with data is a closed one
            try:
                return bool(select.select([self.sock], [], [], 0)[0])
            except (OSError, ValueError):
                return True
        return None


class GuardedBackend(httpcore.NetworkBackend):
    """Opens connections to admitted addresses only, for one watched download.

    Parameters
    ----------
    allowed
        The non-public networks and hosts the operator allows (public ones always are).
    watch
        The download's deadline and check.
    idle
        Seconds a connection attempt (or a later wait) may make no progress.
    """

    def __init__(self, allowed: AllowList, watch: Watch, idle: float) -> None:
        self.allowed = allowed
        self.watch = watch
        self.idle = idle

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect to the first reachable address of *host*, after checking all of them."""
        self.watch.tick()
        failure: Exception = httpcore.ConnectError(f"{host}: no address")
        for endpoint in admitted_endpoints(host, port, self.allowed):
            try:
                sock = self._connect(endpoint, socket_options or ())
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return GuardedStream(sock, self.watch, self.idle)
        raise failure

    def _connect(self, endpoint: Endpoint, options: Iterable[Any]) -> socket.socket:
        family, address = endpoint
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            for option in options:
                sock.setsockopt(*option)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            code = sock.connect_ex(address)
            if code not in (0, *_IN_PROGRESS):
                raise httpcore.ConnectError(errno.errorcode.get(code, str(code)))
            until = time.monotonic() + self.idle
            while code:
                self.watch.tick()
                if time.monotonic() >= until:
                    raise httpcore.ConnectTimeout(f"no connection in {self.idle:g} s")
                _r, writable, _x = select.select([], [sock], [], self.watch.slice(until))
                if writable:
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if code:
                        raise httpcore.ConnectError(errno.errorcode.get(code, str(code)))
                    break
            sock.setblocking(True)
            return sock
        except BaseException:
            sock.close()
            raise

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        """Never: sources are reached over TCP only."""
        raise httpcore.ConnectError("local sockets are not sources")

    def sleep(self, seconds: float) -> None:
        """Wait (between retries of the protocol code; none are configured)."""
        time.sleep(seconds)
