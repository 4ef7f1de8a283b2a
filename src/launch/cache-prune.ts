/**
 * The compile cache's folder, kept bounded (launch/compile-cache writes one blob per entry script
 * and Node version). Hits never remove a blob, so a script that moved left its blob behind for
 * good: a deploy into a new release folder, a Node upgrade, a test's temp folder. A development
 * machine had 3,514 blobs (375 MB) in /tmp/dualcgi-compile-cache-0 after a few days of test runs.
 *
 * A hit that has just written its blob (rare: only when something was compiled anew) calls
 * maybePrune; at most once per PRUNE_EVERY_MS (the mtime of the folder's `.pruned` file) it removes
 * blobs not written for MAX_AGE_MS, then the oldest beyond MAX_BLOBS, and write locks left by a
 * killed process. A blob still in use that goes costs its script one uncached hit, which writes it
 * again. Only names the cache itself makes are touched: the folder may be one the user chose.
 */
import { closeSync, openSync, readdirSync, statSync, unlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

export const MAX_AGE_MS = 7 * 24 * 3600 * 1000;
export const MAX_BLOBS = 256;
export const PRUNE_EVERY_MS = 3600 * 1000;
/** STALE_LOCK_MS: a `.tmp` lock older than this was left by a killed writer (compile-cache's own limit). */
const STALE_LOCK_MS = 30_000;
const MARKER = '.pruned';
const BLOB = /^[0-9a-f]{8}\.bin$/;
const LOCK = /^[0-9a-f]{8}\.bin\.tmp$/;

/** PruneLimits: the bounds (tests make them small). */
export interface PruneLimits {
  maxAgeMs: number;
  maxBlobs: number;
  everyMs: number;
}

const DEFAULT_LIMITS: PruneLimits = { maxAgeMs: MAX_AGE_MS, maxBlobs: MAX_BLOBS, everyMs: PRUNE_EVERY_MS };

/**
 * maybePrune: prune `dir` if the last pruning is older than `limits.everyMs` (or never was);
 * returns how many files went. Never throws: a cache that cannot be tidied still works.
 */
export function maybePrune(dir: string, now = Date.now(), limits: PruneLimits = DEFAULT_LIMITS): number {
  const marker = join(dir, MARKER);
  try {
    const last = statSync(marker, { throwIfNoEntry: false })?.mtimeMs;
    if (last !== undefined && now - last < limits.everyMs) return 0;
    // Marked first: hits exiting at the same moment do not all list the folder.
    if (last === undefined) closeSync(openSync(marker, 'a', 0o600));
    utimesSync(marker, now / 1000, now / 1000);
    return pruneCacheDir(dir, now, limits);
  } catch {
    return 0;
  }
}

/** pruneCacheDir: remove old blobs, the oldest past the count, and stale locks; returns how many went. */
export function pruneCacheDir(dir: string, now: number, limits: PruneLimits = DEFAULT_LIMITS): number {
  const blobs: Array<{ file: string; mtimeMs: number }> = [];
  let removed = 0;
  const remove = (file: string): void => {
    try {
      unlinkSync(file);
      removed++;
    } catch {
      // gone meanwhile, or not ours to remove
    }
  };
  for (const name of readdirSync(dir)) {
    const blob = BLOB.test(name);
    if (!blob && !LOCK.test(name)) continue;
    const file = join(dir, name);
    const mtimeMs = statSync(file, { throwIfNoEntry: false })?.mtimeMs;
    if (mtimeMs === undefined) continue;
    if (!blob) {
      if (now - mtimeMs > STALE_LOCK_MS) remove(file);
    } else if (now - mtimeMs > limits.maxAgeMs) {
      remove(file);
    } else {
      blobs.push({ file, mtimeMs });
    }
  }
  if (blobs.length > limits.maxBlobs) {
    blobs.sort((a, b) => b.mtimeMs - a.mtimeMs);
    for (const b of blobs.slice(limits.maxBlobs)) remove(b.file);
  }
  return removed;
}
