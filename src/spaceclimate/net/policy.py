"""The rules of fetching: where URLs may point, how long a download may take, redirects.

A :class:`FetchPolicy` is read from the settings (``SCO_INGEST_URL_PREFIXES``,
``SCO_FETCH_ALLOW_NETWORKS``, ``SCO_FETCH_TIMEOUT``, ``SCO_FETCH_IDLE_TIMEOUT``,
``SCO_FETCH_MAX_REDIRECTS``). :meth:`FetchPolicy.refusal` judges a URL by itself: the
submitted one, and again every URL a redirect leads to. Addresses a host resolves to are
judged when connecting (:mod:`spaceclimate.net.transport`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import SplitResult, unquote, urlsplit

from spaceclimate.config import Settings
from spaceclimate.net.addresses import SETTING, AllowList, literal_address

SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _port(parts: SplitResult) -> int | None:
    """The URL's port, the scheme's default when it names none (ValueError when invalid)."""
    return parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())


def _dot_segments(path: str) -> bool:
    """Whether a URL path has ``.`` or ``..`` segments (also percent-encoded)."""
    return any(segment in (".", "..") for segment in unquote(path).replace("\\", "/").split("/"))


def under_prefix(prefix: str, url: str) -> bool:
    """Return True when *url* is under *prefix*: same scheme, host and port, path below.

    Both are compared as parsed URLs, not as text, so ``https://data.example.org@elsewhere/``
    is not under ``https://data.example.org``.
    """
    try:
        base, parts = urlsplit(prefix), urlsplit(url)
        same_origin = (
            base.scheme.lower() == parts.scheme.lower()
            and (base.hostname or "") == (parts.hostname or "")
            and _port(base) == _port(parts)
        )
    except ValueError:
        return False
    if not same_origin or not parts.hostname:
        return False
    if _dot_segments(parts.path):
        return False
    path = parts.path or "/"
    wanted = base.path or "/"
    return (
        path.startswith(wanted)
        if wanted.endswith("/")
        else (path == wanted or path.startswith(wanted + "/"))
    )


@dataclass(frozen=True)
class FetchPolicy:
    """What the guarded client may fetch, and for how long.

    Attributes
    ----------
    prefixes
        URL prefixes every URL fetched (each redirect too) must be under; empty: any.
    allowed
        Non-public networks and hosts that may be connected to (public ones always may).
    max_redirects
        Redirects followed per URL.
    timeout
        Seconds one download may take in all.
    idle_timeout
        Seconds a download may wait for a connection or the next byte.
    """

    prefixes: tuple[str, ...] = ()
    allowed: AllowList = field(default_factory=AllowList)
    max_redirects: int = 5
    timeout: float = 900.0
    idle_timeout: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        """Return the policy of the hub's settings (InputError for an invalid allow-list)."""
        return cls(
            prefixes=tuple(p.strip() for p in settings.ingest_url_prefixes.split(",") if p.strip()),
            allowed=AllowList.parse(settings.fetch_allow_networks),
            max_redirects=settings.fetch_max_redirects,
            timeout=settings.fetch_timeout,
            idle_timeout=settings.fetch_idle_timeout,
        )

    def refusal(self, url: str) -> str | None:
        """Say why *url* may not be fetched, judged from the URL alone; None when it may."""
        try:
            parts = urlsplit(url)
            _port(parts)
        except ValueError:
            return "is not a valid URL"
        if parts.scheme.lower() not in SCHEMES or not parts.hostname:
            return "is not an http(s) URL"
        if self.prefixes and not any(under_prefix(p, url) for p in self.prefixes):
            return (
                "is not under an allowed prefix "
                f"(SCO_INGEST_URL_PREFIXES: {', '.join(self.prefixes)})"
            )
        address = literal_address(parts.hostname)
        if address is not None and not self.allowed.admits(parts.hostname, address):
            return f"is not a public address ({SETTING} lists the others allowed)"
        return None
