"""poto-sessions: a pluggable user-session store — in-memory by default, Redis for several
instances, or your own provider — with the Poto framework's ``PotoModule`` / ``LLMPotoModule``
API. The same Rust core serves C, Node and Rust servers, so all of them share sessions.

Sessions are plain ``dict``s of JSON values (``json.dumps`` rules, NaN and ints beyond 64 bits
rejected). Durations are seconds (``float``) or ``timedelta``.
"""

from ._native import DEFAULT_MODEL, InMemorySessionProvider, RedisSessionProvider, SessionProvider, SessionStats
from ._native import run_conformance_sync as run_conformance
from .context import current_user, reset_current_user, set_current_user, user_context
from .errors import (
    ConflictError,
    CorruptDataError,
    InternalError,
    InvalidArgumentError,
    NotAuthenticatedError,
    OutcomeUnknownError,
    ProviderError,
    SessionError,
    SessionTooLargeError,
    UnavailableError,
)
from .module import LLMPotoModule, PotoModule, set_session_provider

__all__ = [
    "DEFAULT_MODEL",
    "InMemorySessionProvider",
    "RedisSessionProvider",
    "SessionProvider",
    "SessionStats",
    "PotoModule",
    "LLMPotoModule",
    "set_session_provider",
    "run_conformance",
    "user_context",
    "current_user",
    "set_current_user",
    "reset_current_user",
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
