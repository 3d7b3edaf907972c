"""Outbound HTTP of the hub: one guarded client for every URL it is given to fetch.

- :mod:`.addresses`: which addresses are public, and the operator's allow-list of others;
- :mod:`.policy`: the rules a URL is judged by (schemes, allowed prefixes, redirects, time);
- :mod:`.watch`: a download's deadline and its caller's check;
- :mod:`.transport`: connections to checked addresses only, watched while they wait;
- :mod:`.fetch`: :class:`Fetcher`, which follows redirects itself and saves the answer.

It sits with the shared nouns at the bottom of the package: any layer that fetches (the
ingest job today) uses it, and it imports only :mod:`spaceclimate.config` and
:mod:`spaceclimate.errors`.
"""

from spaceclimate.net.addresses import AllowList, is_public
from spaceclimate.net.fetch import Fetcher, redact
from spaceclimate.net.policy import FetchPolicy

__all__ = ["AllowList", "FetchPolicy", "Fetcher", "is_public", "redact"]
