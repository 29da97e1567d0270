'use strict';
// The one error type of the package (DESIGN §7).

const ErrorCode = Object.freeze({
  INVALID_ARGUMENT: 'POTO_INVALID_ARGUMENT',
  CORRUPT_DATA: 'POTO_CORRUPT_DATA',
  TOO_LARGE: 'POTO_TOO_LARGE',
  CONFLICT: 'POTO_CONFLICT',
  UNAVAILABLE: 'POTO_UNAVAILABLE',
  OUTCOME_UNKNOWN: 'POTO_OUTCOME_UNKNOWN',
  PROVIDER: 'POTO_PROVIDER',
  NOT_AUTHENTICATED: 'POTO_NOT_AUTHENTICATED',
  INTERNAL: 'POTO_INTERNAL',
});

/** Every failure of this package: `err.code` is one of `ErrorCode`. */
class SessionError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'SessionError';
    this.code = code;
  }
}

/** An invalid-argument error, worded as the core words its own. */
function invalid(detail, cause) {
  return new SessionError(ErrorCode.INVALID_ARGUMENT, `invalid argument: ${detail}`, cause ? { cause } : undefined);
}

function notAuthenticated() {
  return new SessionError(ErrorCode.NOT_AUTHENTICATED, 'not authenticated: no current user (use runWithUser)');
}

/** `!CODE\u0001message` from the addon to a SessionError. */
function decodeError(text) {
  const sep = text.indexOf('\u0001');
  return sep < 0
    ? new SessionError(ErrorCode.INTERNAL, text.slice(1))
    : new SessionError(text.slice(1, sep), text.slice(sep + 1));
}

function fromNativeThrow(e) {
  return e && typeof e.message === 'string' && e.message.charCodeAt(0) === 33 ? decodeError(e.message) : e;
}

module.exports = { ErrorCode, SessionError, invalid, notAuthenticated, decodeError, fromNativeThrow };
