"""The exceptions of poto-sessions: one per error kind, shared with the C and Node APIs (`code`)."""

from __future__ import annotations


class SessionError(Exception):
    """Base class of every poto-sessions error. ``code`` is the kind's code, e.g. ``POTO_CONFLICT``."""

    code = "POTO_INTERNAL"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code


class InvalidArgumentError(SessionError, ValueError):
    """Bad input (non-dict session, NaN, int beyond 64 bits, bad id...); nothing was written."""

    code = "POTO_INVALID_ARGUMENT"


class CorruptDataError(SessionError):
    """The stored session cannot be read back; the message names the user."""

    code = "POTO_CORRUPT_DATA"


class SessionTooLargeError(SessionError):
    """The session or id exceeds its limit; nothing was written."""

    code = "POTO_TOO_LARGE"


class ConflictError(SessionError):
    """An atomic update spent its retry budget; it was not applied."""

    code = "POTO_CONFLICT"


class UnavailableError(SessionError, ConnectionError):
    """The backend could not be reached, or timed out before the request was sent."""

    code = "POTO_UNAVAILABLE"


class OutcomeUnknownError(SessionError):
    """A write was sent but its reply never came: it may or may not have been applied.

    A call cancelled after its write was sent is in the same state, without this error."""

    code = "POTO_OUTCOME_UNKNOWN"


class ProviderError(SessionError):
    """A custom provider (or a callback) failed; the message is its own."""

    code = "POTO_PROVIDER"


class NotAuthenticatedError(SessionError):
    """A module method needs a current user and none is set (see ``user_context``)."""

    code = "POTO_NOT_AUTHENTICATED"


class InternalError(SessionError):
    """A bug in poto-sessions."""

    code = "POTO_INTERNAL"


__all__ = [
    "SessionError",
    "InvalidArgumentError",
    "CorruptDataError",
    "SessionTooLargeError",
    "ConflictError",
    "UnavailableError",
    "OutcomeUnknownError",
    "ProviderError",
    "NotAuthenticatedError",
    "InternalError",
]
