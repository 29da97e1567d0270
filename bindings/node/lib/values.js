'use strict';
// Values crossing to the core (DESIGN §2): JSON.stringify here, so Date, toJSON and undefined
// follow JavaScript's own rules and BigInt and cycles are rejected before anything is written;
// what comes back is JSON.parse'd. Ids, keys and durations are checked here too.

const { invalid } = require('./errors.js');

/** The JSON text of a session object, else an invalid-argument error naming `what`. */
function sessionText(value, what) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(`${what} must be a plain object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw invalid(`${what} cannot be converted to JSON: ${e.message}`, e);
  }
  if (typeof text !== 'string' || text.charCodeAt(0) !== 123 /* { */) {
    throw invalid(`${what} must convert to a JSON object`);
  }
  return text;
}

/** The JSON text of any value, else an invalid-argument error naming `what`. */
function valueText(value, what) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw invalid(`${what} cannot be converted to JSON: ${e.message}`, e);
  }
  if (typeof text !== 'string') throw invalid(`${what} (${typeof value}) has no JSON form`);
  return text;
}

// A lone surrogate would reach the addon as U+FFFD, so two different ids (or keys) would name
// one session: such strings are refused. (String#isWellFormed is Node 20+.)
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed = typeof ''.isWellFormed === 'function' ? (s) => s.isWellFormed() : (s) => !LONE_SURROGATE.test(s);

/** `text` when it is a string of well-formed UTF-16, else an invalid-argument error. */
function checkText(text, what) {
  if (typeof text !== 'string') throw invalid(`${what} must be a string, got ${text === null ? 'null' : typeof text}`);
  if (!wellFormed(text)) throw invalid(`${what} contains a lone UTF-16 surrogate (not valid Unicode)`);
  return text;
}

function checkId(userId) {
  return checkText(userId, 'user id');
}

/** A number of milliseconds (the core checks its range), or undefined when optional and absent. */
function checkMs(ms, what, optional = true) {
  if (ms === undefined || ms === null) {
    if (optional) return undefined;
    throw invalid(`${what} is required`);
  }
  if (typeof ms !== 'number' || !Number.isFinite(ms)) throw invalid(`${what} must be a finite number of milliseconds`);
  return ms;
}

/**
 * The JSON text of an options object (`undefined` values dropped), else an invalid-argument
 * error; the addon maps each key onto the core's options schema, which checks it.
 */
function optionsText(options, what) {
  return valueText(checkOptions(options, what), what);
}

/** `options` when it is an object (not an array), else an invalid-argument error. */
function checkOptions(options, what) {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalid(`${what} must be an object, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`);
  }
  return options;
}

/** JSON.parse of a session (or `null`). */
const parseSession = (text) => JSON.parse(text);

module.exports = { sessionText, valueText, optionsText, checkOptions, wellFormed, checkText, checkId, checkMs, parseSession };
