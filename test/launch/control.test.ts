// Small parts of process control: options vs environment, the restart file, the watch filter.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlError, processControl } from '../../src/launch/control';
import { RestartFile } from '../../src/launch/restart-file';
import { isWatchedChange } from '../../src/launch/watch';

describe('launch/control', () => {
  it('options win over the environment; paths resolve against the entry script folder', () => {
    const env = { DUALCGI_WORKERS: '3', DUALCGI_MAX_REQUESTS: '500', DUALCGI_RESTART_FILE: 'tmp/r.txt', DUALCGI_WATCH: '1' };
    const c = processControl({ app: './app.js' }, '/srv/app', env);
    assert.deepEqual(c, { workers: 3, maxRequests: 500, restartFile: '/srv/app/tmp/r.txt', watch: ['/srv/app'], drainMs: 30_000, register: true });
    const o = processControl({ app: './lib/app.js', workers: 1, maxRequests: 0, restartFile: '/x', watch: false }, '/srv/app', env);
    assert.deepEqual([o.workers, o.maxRequests, o.restartFile, o.watch], [1, 0, '/x', []]);
    assert.deepEqual(processControl({ app: './lib/app.js', watch: true }, '/srv/app', {}).watch, ['/srv/app/lib']);
    assert.equal(processControl({ app: 'a' }, '/', { DUALCGI_RUN_DIR: 'off' }).register, false);
  });

  it('emits LAUNCH_ERR_OPTION for a bad count', () => {
    assert.throws(() => processControl({ app: 'a' }, '/', { DUALCGI_WORKERS: '0' }), (e: unknown) => e instanceof ControlError && e.code === 'LAUNCH_ERR_OPTION');
    assert.throws(() => processControl({ app: 'a', maxRequests: -1 }, '/', {}), ControlError);
  });

  it('RestartFile: each touch is reported once; creating it counts; removing it does not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dualcgi-restart-'));
    try {
      const file = join(dir, 'restart.txt');
      const r = new RestartFile(file);
      assert.equal(r.check(), null);
      writeFileSync(file, '');
      assert.notEqual(r.check(), null, 'created');
      assert.equal(r.check(), null, 'reported once');
      const later = new Date(Date.now() + 5000);
      utimesSync(file, later, later);
      const m = r.check();
      assert.ok(m !== null && Math.abs(m - later.getTime()) < 1);
      assert.equal(r.accept(m!), false, 'already acted on');
      rmSync(file);
      assert.equal(r.check(), null);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--watch ignores dependencies, VCS folders, dotfiles, editor swap files and logs', () => {
    for (const f of ['app.js', 'lib/x.ts', 'views/a.html']) assert.equal(isWatchedChange(f), true, f);
    for (const f of ['node_modules/a/index.js', '.git/index', '.env.swp', 'a.js~', 'x.swp', 'app.log', '4913', 'lib/.cache']) {
      assert.equal(isWatchedChange(f), false, f);
    }
  });
});
