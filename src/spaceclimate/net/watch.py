"""The clock and the conscience of one download: its deadline, and the caller's check.

A download is watched all the time it runs, not only between reads: the guarded connection
(:mod:`spaceclimate.net.transport`) waits in short slices and ticks the watch after each, so
a source that trickles a byte a second, or sends nothing at all, is given up at the
deadline, and the caller's check (a job's: dismissed? out of time?) runs about every second
and may stop the download by raising.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: Longest a guarded connection blocks before it ticks the watch again (seconds).
SLICE = 0.25


class Expired(Exception):
    """The download's deadline passed."""


class Watch:
    """A deadline (``time.monotonic`` seconds) and a check run at most every *interval* s.

    Parameters
    ----------
    deadline
        When the download must have ended.
    check
        Called from the download's thread while it runs; raising stops the download with
        that exception (a dismissed job's, say).
    interval
        Seconds between two calls of *check*.
    """

    def __init__(
        self, deadline: float, check: Callable[[], None] | None = None, interval: float = 1.0
    ) -> None:
        self.deadline = deadline
        self.check = check
        self.interval = interval
        self._next_check = time.monotonic() + interval

    def remaining(self) -> float:
        """Seconds left before the deadline (0 when it passed)."""
        return max(0.0, self.deadline - time.monotonic())

    def tick(self) -> None:
        """Run the check when it is due; raise :class:`Expired` past the deadline."""
        now = time.monotonic()
        if self.check is not None and now >= self._next_check:
            self._next_check = now + self.interval
            self.check()
        if now >= self.deadline:
            if self.check is not None:
                self.check()  # a caller's own limit (a job's) is reported as its own
            raise Expired("deadline passed")

    def slice(self, until: float) -> float:
        """Seconds to block for now: at most :data:`SLICE`, *until* (monotonic) and the deadline."""
        return max(0.001, min(SLICE, until - time.monotonic(), self.remaining()))
