import { AsyncLocalStorage } from 'node:async_hooks';

/** requestContext: which request the running code serves, once console output asked for it (runInRequest). */
export const requestContext = new AsyncLocalStorage<string>();

/** lastRid: the request runInRequest ran last (a CGI hit's only one). */
let lastRid: string | undefined;

/**
 * oneRequestRid: the request of a process that serves one (a CGI hit): its console output is that
 * request's wherever it comes from. Express's error log (a setImmediate) and every first console
 * line written from a callback went out without a rid, so the dashboard showed the hit's 500
 * without its stack.
 */
export function oneRequestRid(): string | undefined {
  return lastRid;
}

/** syncRid: the request whose synchronous code runs now, while requestContext is not used. */
let syncRid: string | undefined;
/** served: a traced request has run (console output before that is the server's own, not an app's). */
let served = false;
/** consoleWritten: something wrote to stdout/stderr while traced requests were being served. */
let consoleWritten = false;

/**
 * runInRequest: run a traced request's code so that console output it writes is attributed to it
 * (console-tap.ts). Only once the app has written to the console at all does this use
 * requestContext: in Node 20 an AsyncLocalStorage that has run turns on an async_hooks init hook
 * for every async resource of the process (each nextTick, write, timer), which cost a traced hello
 * request ~4 µs (serving process CPU, listener attached, 4 interleaved runs each way:
 * 44.6 -> 40.3 µs median). Until then a plain variable covers the synchronous part, so a first
 * console line written later, from a callback, goes out without its rid.
 */
export function runInRequest<T>(rid: string, fn: () => T): T {
  lastRid = rid;
  if (consoleWritten) return requestContext.run(rid, fn);
  served = true;
  const outer = syncRid;
  syncRid = rid;
  try {
    return fn();
  } finally {
    syncRid = outer;
  }
}

/**
 * consoleRid: the request to attribute console output to now (undefined: none known). Once
 * requests are being served, from now on they keep their context.
 */
export function consoleRid(): string | undefined {
  if (served) consoleWritten = true;
  return requestContext.getStore() ?? syncRid;
}
