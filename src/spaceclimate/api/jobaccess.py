"""Who may see and dismiss a job: its submitter, or an admin key.

A job belongs to whoever submitted it:

- **an API key** (``Authorization: Bearer``): the job is that key's (``submitter`` is
  ``key:<id>``). The key sees it, lists it at ``/jobs`` and may dismiss it;
- **an anonymous client** (the portal, any OGC API Processes client without a key): the job is
  given a random 256-bit **access token**, answered once, when the job is created, in every
  link of the job (``/jobs/{id}?access=<token>``: the ``Location`` header, ``self`` and
  ``results`` links, a result file's ``href``) and as ``sco:access``. A client that follows
  those links, as OGC clients do, needs nothing else; the hub keeps only the token's SHA-256.

Admin keys see and dismiss every job and list them all. Anyone else asking for a job gets 401
without a key (nor the job's token) and 403 with another key; ``/jobs`` lists only the
caller's own jobs (none for an anonymous client, whose jobs are reached by their links).
``sco jobs`` on the hub's machine reads the database and sees every job.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Query

from spaceclimate.access import ApiKey
from spaceclimate.api.problems import problem_response
from spaceclimate.errors import ForbiddenError, UnauthorizedError
from spaceclimate.jobs.store import JobRecord

#: ``submitter`` of a job made without an API key (it has an access token instead).
ANONYMOUS = "anonymous"
#: Name of the query parameter carrying a job's access token.
ACCESS_PARAM = "access"

#: Answers of the routes of one job besides the common problems.
JOB_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: problem_response(
        "The job is not the caller's: no API key (nor the job's access token), or an unknown "
        "or revoked key",
        "WWW-Authenticate",
    ),
    403: problem_response("The job is another client's (the API key sent did not submit it)"),
}
#: Answers of the routes that take an optional API key (an invalid one is refused).
KEY_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: problem_response("An unknown, malformed or revoked API key", "WWW-Authenticate"),
}
#: OpenAPI security of routes open to all that act for a key when one is sent: added to the
#: key's requirement that the bearer dependency declares, an empty one makes the key optional.
OPTIONAL_KEY: dict[str, Any] = {"security": [{}]}


def access_param() -> Any:
    """The ``access`` query parameter of the routes of one job."""
    return Query(
        default=None,
        alias=ACCESS_PARAM,
        max_length=200,
        description="The job's access token, for a job submitted without an API key: the "
        "links the hub answered when it created the job carry it.",
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Submission:
    """Who submits a new job: its ``submitter`` and, for an anonymous one, its token."""

    submitter: str
    token: str | None = None

    @classmethod
    def of(cls, key: ApiKey | None) -> Submission:
        """The submission of a request made with *key* (None: anonymous, a new token)."""
        if key is not None:
            return cls(submitter_of(key))
        return cls(ANONYMOUS, secrets.token_urlsafe(32))

    @property
    def digest(self) -> str | None:
        """What the job store keeps of the token."""
        return None if self.token is None else _digest(self.token)


def submitter_of(key: ApiKey) -> str:
    """The ``submitter`` of the jobs *key* submits."""
    return f"key:{key.id}"


def check_job_access(job: JobRecord, key: ApiKey | None, token: str | None) -> str | None:
    """Raise 401/403 unless the caller (*key*, *token*) may see and dismiss *job*.

    Return the token when it is what grants access (the job's links keep carrying it).
    """
    if token and job.access_digest and hmac.compare_digest(_digest(token), job.access_digest):
        return token
    if key is not None and (key.is_admin or job.submitter == submitter_of(key)):
        return None
    if key is None:
        raise UnauthorizedError(
            f"job {job.id} is not yours: send the API key that submitted it, or follow the "
            f"links the hub answered when it created the job (they carry its '{ACCESS_PARAM}' "
            "token)"
        )
    raise ForbiddenError(f"job {job.id} was not submitted by {key.label()}")


def with_access(href: str, token: str | None) -> str:
    """Return *href* carrying the access token *token* (unchanged without one)."""
    if not token:
        return href
    return f"{href}{'&' if '?' in href else '?'}{ACCESS_PARAM}={quote(token, safe='')}"
