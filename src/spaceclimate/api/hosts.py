"""Trusted hosts: links never name a host the client chose.

Links in answers (``self``, ``Location``, results, tiles, Zarr, ...) are made from the public
URL when it is configured (``SCO_PUBLIC_URL``), else from the request's ``Host`` header
(:func:`spaceclimate.api.urls.base_url`). A shared cache in front of the hub stores answers
whatever ``Host`` they were asked with, so a forged ``Host`` would put the forger's links into
what everyone else is then served.

:class:`HostGuardMiddleware` therefore replaces a ``Host`` that is not trusted
(``SCO_TRUSTED_HOSTS``, by default the loopback names; the public URL's host always is) before
anything reads it: with the public URL's host when one is set, else with the address the
server listens on. Such a request is answered as usual, only its links point at the hub's own
address; the first few untrusted hosts of a process are logged, naming the setting to change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger("spaceclimate.api")

#: Untrusted hosts logged by one process at most (the rest are replaced silently).
LOGGED_HOSTS = 20
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def host_name(netloc: str) -> str:
    """Return the lower-cased host of a ``Host`` value (``[::1]:8000`` → ``::1``)."""
    value = netloc.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value  # a bare IPv6 address, or a name without port


class TrustedHosts:
    """The host names links may name, from a comma-separated list (see the module)."""

    def __init__(self, names: Iterable[str]) -> None:
        self.exact: set[str] = set()
        self.suffixes: list[str] = []
        self.any = False
        for raw in names:
            name = raw.strip().lower()
            if not name:
                continue
            if name == "*":
                self.any = True
            elif name.startswith("*."):
                self.suffixes.append(name[1:])  # ".example.org"
            else:
                self.exact.add(host_name(name) if name.startswith("[") else name)

    @classmethod
    def from_settings(cls, trusted: str, public_url: str | None) -> TrustedHosts:
        """The trusted hosts of the settings: the list and the public URL's host."""
        names = trusted.split(",")
        if public_url:
            names.append(urlsplit(public_url).hostname or "")
        return cls(names)

    def __contains__(self, host: object) -> bool:
        if not isinstance(host, str) or not host:
            return False
        if self.any or host in self.exact:
            return True
        return any(host.endswith(s) and len(host) > len(s) for s in self.suffixes)


def _netloc(scheme: str, host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    if port is None or _DEFAULT_PORTS.get(scheme) == port:
        return shown
    return f"{shown}:{port}"


class HostGuardMiddleware:
    """Replace an untrusted ``Host`` header (see the module)."""

    def __init__(self, app: ASGIApp, trusted: TrustedHosts, public_url: str | None) -> None:
        self.app = app
        self.trusted = trusted
        public = urlsplit(public_url) if public_url else None
        self.public_netloc = public.netloc if public is not None and public.netloc else None
        self._logged: set[str] = set()
        self._lock = threading.Lock()

    def fallback(self, scope: Scope) -> str:
        """The ``Host`` an untrusted request gets: the public URL's, or the server's address."""
        if self.public_netloc:
            return self.public_netloc
        server = scope.get("server")
        if server:
            host, port = server[0], server[1]
            return _netloc(str(scope.get("scheme", "http")), str(host), port)
        return "localhost"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = list(scope.get("headers") or [])
        given = [value for key, value in headers if key == b"host"]
        name = host_name(given[0].decode("latin-1")) if len(given) == 1 else ""
        if name not in self.trusted:
            replacement = self.fallback(scope)
            if len(given) == 1 and given[0].decode("latin-1").lower() == replacement.lower():
                await self.app(scope, receive, send)  # the server's own address already
                return
            self._note(given[0].decode("latin-1") if given else "", replacement)
            headers = [(k, v) for k, v in headers if k != b"host"]
            headers.append((b"host", replacement.encode("latin-1")))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)

    def _note(self, given: str, replacement: str) -> None:
        shown = given[:100]
        with self._lock:
            if shown in self._logged or len(self._logged) >= LOGGED_HOSTS:
                return
            self._logged.add(shown)
        log.warning(
            "Host %r is not trusted: links name %s instead (set SCO_PUBLIC_URL, or add the "
            "host to SCO_TRUSTED_HOSTS)",
            shown,
            replacement,
        )
