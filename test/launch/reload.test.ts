// Graceful reload of `dualcgi serve` by every mechanism, under a steady bounded load: zero failed
// requests, and the new version served afterwards. Each mechanism's counts go to the diagnostics.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AppDir, get, loadLoop, makeApp, readStatus, serve, type Served, sleep, until } from './helpers';

interface Mechanism {
  name: string;
  flags?: string[];
  /** trigger: make the running server pick up the new code. */
  trigger(served: Served, app: AppDir): void | Promise<void>;
}

const mechanisms: Mechanism[] = [
  { name: 'SIGHUP', trigger: (s) => { s.child.kill('SIGHUP'); } },
  { name: 'SIGUSR1', trigger: (s) => { s.child.kill('SIGUSR1'); } },
  {
    name: 'restart file',
    flags: ['--restart-file', 'tmp/restart.txt'],
    trigger: (_s, app) => {
      const file = join(app.dir, 'tmp', 'restart.txt');
      const now = new Date();
      utimesSync(file, now, now);
    },
  },
  { name: '--watch', flags: ['--watch'], trigger: () => {} },
  { name: '--max-requests 50', flags: ['--max-requests', '50'], trigger: () => {} },
  { name: '--workers 2 + SIGHUP', flags: ['--workers', '2'], trigger: (s) => { s.child.kill('SIGHUP'); } },
];

describe('graceful reload under load (dualcgi serve --bind)', { timeout: 120_000 }, () => {
  for (const m of mechanisms) {
    it(`${m.name}: no failed request, the new version afterwards`, async (t) => {
      const app = makeApp('v1');
      if (m.name === 'restart file') {
        require('node:fs').mkdirSync(join(app.dir, 'tmp'));
        writeFileSync(join(app.dir, 'tmp', 'restart.txt'), '');
      }
      const served = await serve(app, m.flags ?? []);
      try {
        const load = loadLoop(served.address, 4);
        await sleep(300);
        app.setVersion('v2');
        await sleep(50);
        await m.trigger(served, app);
        const fresh = await until(async () => (await get(served.address, '/')).startsWith('v2 '), 10_000);
        await sleep(300); // keep loading while the old generation drains
        const r = await load.stop();
        const afterFirstV2 = r.versions.slice(r.versions.indexOf('v2'));
        t.diagnostic(`${m.name}: ${r.sent} sent, ${r.failed} failed, ${r.retried} resent on a closed kept-alive connection, ` +
          `${r.versions.filter((v) => v === 'v2').length} answered by v2`);
        assert.equal(r.failed, 0, `failures: ${r.errors.join(' | ')}\n${served.output()}`);
        assert.ok(fresh, `v2 never served\n${served.output()}`);
        assert.ok(afterFirstV2.length > 0);
        const status = readStatus(app, served.child.pid!);
        assert.ok(status, 'no status file');
        if (m.name.startsWith('--max-requests')) assert.match(served.output(), /recycling pid \d+: \d+ requests/);
        else assert.ok(Number(status['generation']) >= 2, `generation ${String(status['generation'])}`);
      } finally {
        await served.stop();
        app.cleanup();
      }
    });
  }

  it('restart file: the next request (on a new connection) already gets the new code', async () => {
    const app = makeApp('v1');
    require('node:fs').mkdirSync(join(app.dir, 'tmp'));
    const served = await serve(app, ['--restart-file', 'tmp/restart.txt']);
    try {
      assert.match(await get(served.address, '/'), /^v1 /);
      app.setVersion('v2');
      writeFileSync(join(app.dir, 'tmp', 'restart.txt'), '');
      assert.match(await get(served.address, '/'), /^v2 /);
    } finally {
      await served.stop();
      app.cleanup();
    }
  });

  it('a new version that fails to load leaves the old one serving', async () => {
    const app = makeApp('v1');
    const served = await serve(app);
    try {
      writeFileSync(join(app.dir, 'version.js'), 'module.exports = ;\n'); // syntax error
      served.child.kill('SIGHUP');
      assert.ok(await until(() => /reload \(SIGHUP\) failed/.test(served.output())), served.output());
      assert.match(await get(served.address, '/'), /^v1 /);
      assert.equal((readStatus(app, served.child.pid!)?.['lastReload'] as { ok: boolean }).ok, false);
    } finally {
      await served.stop();
      app.cleanup();
    }
  });

  it('a worker that dies is replaced, and the trace says so (the worker cannot)', async () => {
    const app = makeApp('v1');
    const traceFile = join(app.dir, 'trace.ndjson');
    const served = await serve(app, ['--workers', '2', '--trace', `file:${traceFile}`]);
    try {
      const pid = Number((await get(served.address, '/')).split(' ')[1]);
      process.kill(pid, 'SIGKILL');
      assert.ok(await until(() => /exited unexpectedly/.test(served.output())), served.output());
      const events = (): Array<Record<string, unknown>> => {
        try {
          return readFileSync(traceFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
        } catch {
          return [];
        }
      };
      assert.ok(await until(() => events().some((e) => e['ev'] === 'error' && e['phase'] === 'supervisor'
        && e['code'] === 'DUALCGI_ERR_WORKER_EXIT' && String(e['msg']).includes(`worker ${pid} exited unexpectedly`))),
      JSON.stringify(events().filter((e) => e['ev'] === 'error')));
      assert.deepEqual(events().filter((e) => e['ev'] === 'app.log' && /serving FastCGI on/.test(String(e['msg']))), [],
        "serve's own line is not the app's output");
      const pids = new Set<string>();
      assert.ok(await until(async () => {
        pids.add((await get(served.address, '/')).split(' ')[1]!);
        return pids.size >= 2 && !pids.has(String(pid));
      }), `pids ${[...pids].join(' ')}`);
    } finally {
      await served.stop();
      app.cleanup();
    }
  });
});

describe('graceful stop', { timeout: 60_000 }, () => {
  it('SIGTERM with 20 slow requests in flight: all 20 complete, exit 0', async () => {
    const app = makeApp('v1');
    const served = await serve(app);
    try {
      const replies = Array.from({ length: 20 }, () => get(served.address, '/slow?ms=800'));
      await sleep(200);
      served.child.kill('SIGTERM');
      const results = await Promise.allSettled(replies);
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      assert.equal(ok, 20, results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok')).join(' | '));
      assert.deepEqual(await served.exited, { code: 0, signal: null });
    } finally {
      await served.stop();
      app.cleanup();
    }
  });

  it('SIGTERM after a reload: the worker drains its slow requests too', async () => {
    const app = makeApp('v1');
    const served = await serve(app);
    try {
      served.child.kill('SIGHUP');
      assert.ok(await until(() => /generation 2 serving/.test(served.output())), served.output());
      const replies = Array.from({ length: 20 }, () => get(served.address, '/slow?ms=800'));
      await sleep(200);
      served.child.kill('SIGTERM');
      const results = await Promise.allSettled(replies);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 20);
      assert.deepEqual(await served.exited, { code: 0, signal: null });
    } finally {
      await served.stop();
      app.cleanup();
    }
  });
});
