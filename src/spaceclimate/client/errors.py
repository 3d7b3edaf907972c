"""Exceptions the client raises for the hub's problem+json answers."""

from __future__ import annotations

from typing import Any

import httpx


class HubError(Exception):
    """The hub answered with an error (an RFC 9457 problem)."""

    def __init__(self, status: int, title: str, detail: str, body: dict[str, Any]) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.body = body


class HubBadRequest(HubError):
    """400: a parameter is malformed (the message names it)."""


class HubNotFound(HubError):
    """404: no such collection, item or variable (``known`` lists what exists)."""

    @property
    def known(self) -> list[str]:
        """The names the hub knows, when it said."""
        return list(self.body.get("known", []))


class HubTooLarge(HubError):
    """413: the request would read more than the hub answers at once."""

    @property
    def estimate_bytes(self) -> int | None:
        """The hub's estimate of the request's size in bytes."""
        value = self.body.get("estimate_bytes")
        return int(value) if value is not None else None

    @property
    def limit_bytes(self) -> int | None:
        """The hub's limit for synchronous requests in bytes."""
        value = self.body.get("limit_bytes")
        return int(value) if value is not None else None


class HubBusy(HubError):
    """429 or 503: the hub sheds load; it was asked again after ``Retry-After`` and still was."""

    @property
    def retry_after(self) -> float | None:
        """Seconds the hub asked the client to wait, when it said."""
        value = self.body.get("retry_after")
        return float(value) if value is not None else None


_BY_STATUS: dict[int, type[HubError]] = {
    400: HubBadRequest,
    404: HubNotFound,
    413: HubTooLarge,
    429: HubBusy,
    503: HubBusy,
}


def raise_for_problem(response: httpx.Response) -> None:
    """Raise the matching :class:`HubError` when *response* is an error."""
    if response.is_success:
        return
    try:
        body = response.json()
        if not isinstance(body, dict):
            body = {"detail": str(body)}
    except ValueError:
        body = {"detail": response.text[:500]}
    cls = _BY_STATUS.get(response.status_code, HubError)
    raise cls(
        response.status_code,
        str(body.get("title", response.reason_phrase)),
        str(body.get("detail", "")),
        body,
    )
