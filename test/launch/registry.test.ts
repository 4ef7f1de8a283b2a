// The process registry: where entries go, and that stale or planted entries are never shown.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { procStartTicks } from '../../src/launch/proc';
import { readStatuses, registryDirs, runDir } from '../../src/launch/registry';

function entry(pid: number, startTicks: number): string {
  return JSON.stringify({ pid, startTicks, app: '/x/app.js', workers: [] });
}

describe('launch/registry', () => {
  it('runDir: DUALCGI_RUN_DIR, else XDG_RUNTIME_DIR/dualcgi when safe, else /tmp/dualcgi-<uid>', () => {
    assert.equal(runDir({ DUALCGI_RUN_DIR: '/x' }, 0), '/x');
    assert.equal(runDir({ DUALCGI_RUN_DIR: 'off' }, 0), null);
    assert.equal(runDir({}, 33), '/tmp/dualcgi-33');
    const xdg = mkdtempSync(join(tmpdir(), 'dualcgi-xdg-'));
    try {
      assert.equal(runDir({ XDG_RUNTIME_DIR: xdg }, process.getuid!()), join(xdg, 'dualcgi'));
      chmodSync(xdg, 0o777); // writable by others: not trusted
      assert.equal(runDir({ XDG_RUNTIME_DIR: xdg }, process.getuid!()), `/tmp/dualcgi-${process.getuid!()}`);
    } finally {
      rmSync(xdg, { recursive: true, force: true });
    }
  });

  it('shows a live entry; drops a dead pid and a pid whose start time does not match', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dualcgi-reg-'));
    try {
      const uid = process.getuid!();
      writeFileSync(join(dir, `${process.pid}.json`), entry(process.pid, procStartTicks(process.pid)!));
      writeFileSync(join(dir, '999999.json'), entry(999999, 1)); // no such process
      writeFileSync(join(dir, '1.json'), entry(1, 12345)); // pid 1 lives, but started at another time
      writeFileSync(join(dir, '2.json'), entry(3, procStartTicks(1)!)); // a file named for another pid
      const list = readStatuses([{ dir, uid }]);
      assert.deepEqual(list.map((s) => s.pid), [process.pid]);
      assert.equal(existsSync(join(dir, '999999.json')), false, 'stale entry removed');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('as root, reads every user\'s /tmp/dualcgi-<uid> it can trust', { skip: process.getuid!() !== 0 }, () => {
    const planted = '/tmp/dualcgi-4242';
    mkdirSync(planted, { recursive: true });
    chmodSync(planted, 0o700); // owned by root, not by uid 4242: not trusted
    try {
      assert.ok(!registryDirs({}, 0).some((d) => d.dir === planted));
    } finally {
      rmSync(planted, { recursive: true, force: true });
    }
  });
});
