"""How busy this server process is: what admission control counts and heavy work defers to.

One :class:`Load` a process, kept by the admission middleware
(:mod:`spaceclimate.api.admission`) and read by heavy routes: a download streaming a
whole collection pauses between its pieces while light requests are being served, so
searches and tiles never wait behind it for the interpreter.
"""

from __future__ import annotations

import time

#: Longest pause a heavy stream makes between two pieces for light requests.
YIELD_SECONDS = 0.05


class Load:
    """Counters of the requests a process is serving and holding back."""

    def __init__(self) -> None:
        self.active = 0
        self.queued = 0
        self.heavy_active = 0

    @property
    def light_waiting(self) -> bool:
        """Whether light requests are being served or are waiting for a slot."""
        return self.active > 0 or self.queued > 0

    def defer_to_light(self) -> None:
        """Pause a heavy request's thread briefly while light requests are in progress."""
        if self.light_waiting:
            time.sleep(YIELD_SECONDS)
