"""One exception hierarchy for the hub, mapped once to HTTP status and CLI exit code.

Every error the hub raises on purpose derives from :class:`SCOError`. Each class carries
the HTTP status an API answers with and the exit code the CLI ends with, so both
surfaces stay consistent. Messages are one line and name the file or field at fault.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class SCOError(Exception):
    """Base of every error the hub raises deliberately."""

    status: int = 500
    exit_code: int = 1
    title: str = "Internal error"
    headers: Mapping[str, str] = {}  # HTTP headers the answer carries (WWW-Authenticate, ...)

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = " ".join(str(message).split())  # always one line
        self.details = details

    def __str__(self) -> str:
        return self.message


class InputError(SCOError):
    """The user's input (a file, a parameter, a query) is unusable."""

    status = 400
    exit_code = 2
    title = "Bad input"


class CorruptFileError(InputError):
    """A source file is truncated, corrupt or not of the format it claims."""

    title = "Unreadable file"


class NoRecipeError(InputError):
    """No product recipe matches a source file, or the named recipe does not exist."""

    title = "No recipe"


class UnitError(InputError):
    """A unit is unknown or cannot be converted to the canonical unit."""

    title = "Unit error"


class GridError(InputError):
    """A coordinate is non-monotonic, irregular or otherwise not a usable grid."""

    title = "Grid error"


class RecipeError(InputError):
    """A recipe or ECV table is malformed."""

    title = "Invalid recipe"


class FetchError(InputError):
    """A source URL could not be fetched: refused by the hub's rules, or not answered with it.

    The message names the URL as it was given and nothing of the network behind it (no
    resolved address, no reason a connection failed), so that it maps nothing for the sender.
    """

    title = "Source not fetched"


class NotFoundError(SCOError):
    """A collection, item, variable or version does not exist."""

    status = 404
    exit_code = 2
    title = "Not found"


class ConflictError(SCOError):
    """The operation conflicts with the hub's state (for example another ingest holds the lock)."""

    status = 409
    exit_code = 3
    title = "Conflict"


class UnauthorizedError(SCOError):
    """A write came without an API key, or with an unknown or revoked one."""

    status = 401
    exit_code = 2
    title = "Unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="spaceclimate"'}


class ForbiddenError(SCOError):
    """The API key of a write may not change what the write would change."""

    status = 403
    exit_code = 2
    title = "Forbidden"


class RateLimitedError(SCOError):
    """Too many requests from one API key or client address; retry after *retry_after* s."""

    status = 429
    exit_code = 3
    title = "Too many requests"

    def __init__(self, message: str, retry_after: int, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.headers = {"Retry-After": str(retry_after)}


class UnsupportedMediaTypeError(SCOError):
    """A request body comes in a media type the operation does not take."""

    status = 415
    exit_code = 2
    title = "Unsupported media type"


class TooLargeError(SCOError):
    """A request would read or return more than the configured limit."""

    status = 413
    exit_code = 2
    title = "Request too large"


class DecodedSizeError(TooLargeError):
    """A variable of a source file would take more memory, decoded, than the hub accepts."""

    title = "File too large"


class UnavailableError(SCOError):
    """A service the hub relies on (the Dask scheduler, the object store) does not answer."""

    status = 503
    exit_code = 5
    title = "Service unavailable"


class IntegrityError(SCOError):
    """Stored data no longer matches its recorded checksums."""

    status = 500
    exit_code = 4
    title = "Integrity check failed"
