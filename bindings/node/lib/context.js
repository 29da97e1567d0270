'use strict';
// The current user of a request, in an AsyncLocalStorage (per async call chain).

const { AsyncLocalStorage } = require('node:async_hooks');
const { invalid, notAuthenticated } = require('./errors.js');
const { checkId } = require('./values.js');

const userStorage = new AsyncLocalStorage();

/** Runs `fn(...args)` with `userId` as the current user of every module call inside it. */
function runWithUser(userId, fn, ...args) {
  checkId(userId);
  if (typeof fn !== 'function') throw invalid('runWithUser needs a function');
  return userStorage.run(userId, fn, ...args);
}

/** The current user, or undefined outside runWithUser. */
function currentUser() {
  return userStorage.getStore();
}

/** The current user, else the not-authenticated error. */
function requireUser() {
  const user = userStorage.getStore();
  if (user === undefined) throw notAuthenticated();
  return user;
}

module.exports = { runWithUser, currentUser, requireUser };
