'use strict';
// The one error type of the package (DESIGN §7). Failures of the core arrive already built as
// SessionError by the addon (src/errors.rs, code from the core's ErrorKind); this file builds
// only the ones found in JS (argument checks, no current user).

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

module.exports = { ErrorCode, SessionError, invalid, notAuthenticated };
