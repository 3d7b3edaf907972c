"""Run the STAC API validator command, every read of the web going through the environment.

The validator reads the web with several HTTP clients. Most honour the proxy settings of the
environment (``HTTPS_PROXY``, ``NO_PROXY``, ...); the default I/O of the STAC library it
validates with opens its own connection pool, which does not. This runner gives that library
an I/O class of its own kind (through its documented ``StacIO.set_default``) that reads URLs
with the standard library's ``urllib.request``, then runs the validator's command with the
arguments given::

    python tests/stacvalidate.py --root-url http://127.0.0.1:8000/stac --conformance core ...

so that :mod:`tests.schemaproxy` answers every schema the validator fetches.
"""

from __future__ import annotations

import sys
import urllib.request
from urllib.parse import urlsplit

import pystac
from pystac.stac_io import DefaultStacIO


class EnvironmentStacIO(DefaultStacIO):
    """STAC I/O that reads URLs with ``urllib`` (the environment's proxies honoured)."""

    def read_text_from_href(self, href: str) -> str:
        """Read a local file, or a URL through the environment's proxies."""
        if urlsplit(href).scheme not in ("http", "https"):
            return super().read_text_from_href(href)
        headers = {"User-Agent": f"pystac/{pystac.__version__}", **self.headers}
        request = urllib.request.Request(href, headers=headers)
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - http(s) only
            return str(answer.read().decode("utf-8"))


def main() -> None:
    """Run the validator's command line with this process's arguments."""
    pystac.StacIO.set_default(EnvironmentStacIO)
    from stac_api_validator.__main__ import main as validate

    sys.exit(validate(args=sys.argv[1:], prog_name="stac-api-validator"))


if __name__ == "__main__":
    main()
