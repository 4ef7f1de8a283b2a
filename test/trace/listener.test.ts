import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listenForTraces } from '../../src/trace/listener';

describe('listenForTraces', () => {
  it('gives the umask back when listening fails (it listens with a tight one)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dualcgi-listener-'));
    try {
      const umask = process.umask();
      // A folder that does not exist: listen fails (libuv says EACCES) after the umask was tightened.
      await assert.rejects(listenForTraces(join(dir, 'missing', 'trace.sock'), () => {}), /listen E/);
      assert.equal(process.umask(), umask);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
