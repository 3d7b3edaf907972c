"""What a job's messages say in public: the reason, without the server's internals.

A job's message is written by whatever ran it: a reader naming the file it could not open
(by its absolute path under the hub's uploads), the ingest naming the key that submitted it,
an unreachable service naming its address. The API shows messages to the job's submitter
(and admins), who need the reason but none of the machine's layout. :func:`public_message`
rewrites a message so that it names

- files under the hub's folder (``SCO_HOME``) or the cube store relative to them
  (``uploads/<job>/files/x.nc``, ``store/<collection>/<cube>.zarr``) and any other absolute
  path by its file name only;
- no API key (token, id, name or scopes): "the submitting key";
- no address of the hub's own services (catalog database, scheduler, counter store, object
  store endpoint) and no job runner (``host:pid``) or other internal connection URL.

URLs a client gave (the http(s) URLs of an ingest) are the client's own and stay as they are.
The stored message is left whole for ``sco jobs`` on the hub's machine.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable
from functools import cache
from pathlib import PurePosixPath

from spaceclimate.config import Settings

#: An absolute POSIX path: a ``/`` at the start or after a space, quote, bracket, ``=`` or
#: ``,``, then characters that are not space, quotes, brackets or separators.
_PATH = re.compile(r"(?:(?<=^)|(?<=[\s'\"(\[{=,<]))(/[^\s'\"()\[\]{}<>,;:|`]*)")
_FILE_URL = re.compile(r"file://(?=/)")
_TOKEN = re.compile(r"\bsco_[0-9a-f]{12}_[A-Za-z0-9_-]+")
_KEY_LABEL = re.compile(r"\b[Kk]ey [0-9a-f]{12}(?: \([^()]*\))?")
_INTERNAL_URL = re.compile(
    r"\b(?:tcp|tls|ucx|inproc|ws|wss|redis|rediss|unix|amqp|"
    r"postgres(?:ql)?|mysql|mariadb|oracle|mssql|sqlite)(?:\+[\w]+)?://[^\s'\"()<>,]*",
    re.I,
)
_SUBMITTING_KEY = "the submitting key"


@cache
def _runner_pattern(host: str) -> re.Pattern[str]:
    return re.compile(rf"\b{re.escape(host)}:\d+\b")


def _roots(settings: Settings) -> list[tuple[str, str]]:
    """``(absolute folder, name shown)`` of the hub's folders, longest first."""
    home = settings.resolved_home
    found = {str(settings.home.expanduser().absolute()): "", str(home): ""}
    if not settings.store_is_remote:
        store = settings.resolved_store_path
        shown = store.relative_to(home).as_posix() if store.is_relative_to(home) else "store"
        found.setdefault(str(store), shown)
    return sorted(found.items(), key=lambda kv: len(kv[0]), reverse=True)


def _internal_values(settings: Settings) -> list[tuple[str, str]]:
    """Configured addresses of the hub's services and what a message says instead."""
    values: list[tuple[str, str]] = [
        (settings.resolved_catalog_url, "[catalog database]"),
        (settings.catalog_url or "", "[catalog database]"),
        (settings.dask_scheduler or "", "[scheduler]"),
        (settings.redis_url or "", "[counter store]"),
    ]
    if settings.store_is_remote:
        values.append((settings.store_url or "", "[cube store]"))
    endpoint = settings.store_options.get("endpoint_url")
    if isinstance(endpoint, str):
        values.append((endpoint, "[cube store]"))
    return sorted(((v, label) for v, label in values if len(v) > 3), key=lambda x: -len(x[0]))


def _shown_path(path: str, roots: Iterable[tuple[str, str]]) -> str:
    for folder, name in roots:
        if path == folder:
            return name or "."
        if path.startswith(folder + "/"):
            rest = path[len(folder) + 1 :]
            return f"{name}/{rest}" if name else rest
    parts = [p for p in PurePosixPath(path).parts if p != "/"]
    return parts[-1] if parts else path


def public_message(text: str, settings: Settings) -> str:
    """Return *text* without the server's paths, keys and internal addresses (see module)."""
    if not text:
        return text
    out = text
    for value, label in _internal_values(settings):
        out = out.replace(value, label)
    out = _INTERNAL_URL.sub("[internal service]", out)
    out = _TOKEN.sub("[API key]", out)
    out = _KEY_LABEL.sub(_SUBMITTING_KEY, out)
    out = _runner_pattern(socket.gethostname()).sub("[job runner]", out)
    out = _FILE_URL.sub("", out)
    roots = _roots(settings)
    out = _PATH.sub(lambda m: _shown_path(m.group(1), roots), out)
    if out.startswith(_SUBMITTING_KEY):
        out = "T" + out[1:]
    return out
