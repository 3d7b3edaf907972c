"""Asking again when the hub is busy: 429 and 503 answers that say when to come back.

A hub at its limit answers at once with ``Retry-After`` rather than letting requests queue
(admission control). The client's transport waits that long and sends the request again, a
few times, before the caller sees :class:`~spaceclimate.client.errors.HubBusy`. Nothing was
done by a refused request, so every method may be sent again.
"""

from __future__ import annotations

import time

import httpx

#: Statuses a hub sheds load with.
BUSY = (429, 503)


def retry_after(response: httpx.Response) -> float | None:
    """Return the seconds of a response's ``Retry-After`` (a number of seconds), or None."""
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None  # absent, or an HTTP date: not the hub's admission control
    return seconds if seconds >= 0 else None


class BusyRetryTransport(httpx.BaseTransport):
    """Send a request again after ``Retry-After`` when the hub answers 429 or 503.

    Parameters
    ----------
    transport
        The transport that sends requests.
    retries
        How many times a request is sent again at most.
    max_wait
        Longest ``Retry-After`` honoured (seconds); a longer one is answered to the caller.
    """

    def __init__(self, transport: httpx.BaseTransport, retries: int = 5, max_wait: float = 30.0):
        self.transport = transport
        self.retries = retries
        self.max_wait = max_wait

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        while True:
            response = self.transport.handle_request(request)
            if response.status_code not in BUSY or attempt >= self.retries:
                return response
            wait = retry_after(response)
            if wait is None or wait > self.max_wait:
                return response
            response.close()
            attempt += 1
            time.sleep(wait)

    def close(self) -> None:
        self.transport.close()
