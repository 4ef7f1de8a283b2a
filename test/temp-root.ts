/**
 * Temp folders for tests that have no natural moment to remove theirs (a server a test closes
 * itself, a socket's folder): all under one root per test process, removed when the process exits
 * (`node --test` runs each file in a process of its own). Before, every such folder stayed in /tmp:
 * ~4,300 empty ones after a day of test runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let root: string | undefined;

/** tempDir: a fresh folder named `prefix` + random, under this process's temp root. */
export function tempDir(prefix: string): string {
  if (root === undefined) {
    const made = mkdtempSync(join(tmpdir(), 'dualcgi-tests-'));
    root = made;
    process.once('exit', () => rmSync(made, { recursive: true, force: true }));
  }
  return mkdtempSync(join(root, prefix));
}
