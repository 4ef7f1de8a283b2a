/**
 * coarse-clock: Date.now() read at most once per COARSE_MS while it is asked for. The server
 * stamps each request's connection with it (server.ts, lastActive), which only a drain reads, to
 * close connections idle for a second: a clock read per request was ~0.2k instructions of a hello
 * request under callgrind (bench/README.md, nginx, "Seventh session, second round").
 * While nobody asks, no timer runs.
 */

/** COARSE_MS: how old a reading may be. */
export const COARSE_MS = 50;

let now = 0;
let fresh = false;

function stale(): void {
  fresh = false;
}

/** coarseNow: Date.now(), up to COARSE_MS old. */
export function coarseNow(): number {
  if (!fresh) {
    now = Date.now();
    fresh = true;
    setTimeout(stale, COARSE_MS).unref();
  }
  return now;
}
