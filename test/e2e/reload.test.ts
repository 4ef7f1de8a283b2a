// Graceful reload behind real web servers, under a bounded steady load: the app's code changes,
// one reload mechanism fires, and the test counts requests sent and failed (must be 0) and checks
// that the new version is served afterwards. Apache + mod_fcgid (dispatch.fcgi from `dualcgi init`)
// and nginx + `dualcgi serve --bind`; then SIGTERM with 20 slow requests in flight, and two
// backends behind one nginx upstream (one reloaded, one killed).

import { after, before, describe, it, type TestContext } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startApache, type RunningApache } from './harness/apache';
import { startNginx, type RunningNginx } from './harness/nginx';
import { freePort, httpRequest, makeWorld, mkdirp, nodeForWww, processesOf, removeWorld, sleep, type RunningServer } from './harness/util';
import { installDualcgi } from './fixtures/world';
import { answer, httpLoad, installDeployApp, type LoadResult, setVersion, startServe, waitForVersion } from './fixtures/deploy/load';
import { main } from '../../src/cli/main';
import { readStatuses } from '../../src/launch/registry';

const quiet = { stdout: { write: () => true } as unknown as NodeJS.WritableStream, stderr: process.stderr };

/** underLoad: load, change the code, trigger, wait for the new version, keep loading a little, report. */
async function underLoad(t: TestContext, port: number, appDir: string, name: string, version: string,
  trigger: () => Promise<void>, logs: () => Promise<string>): Promise<LoadResult> {
  const load = httpLoad(port, 4);
  await sleep(400);
  await setVersion(appDir, version);
  await trigger();
  const fresh = await waitForVersion(port, version);
  await sleep(300);
  const r = await load.stop();
  const served = r.versions.filter((v) => v === version).length;
  t.diagnostic(`${name}: ${r.sent} requests sent, ${r.failed} failed, ${served} answered by ${version}`);
  assert.equal(r.failed, 0, `${name}: ${r.errors.join(' | ')}\n${(await logs()).slice(-3000)}`);
  assert.ok(fresh, `${name}: ${version} never served\n${(await logs()).slice(-3000)}`);
  // Afterwards every answer is the new version.
  for (let i = 0; i < 10; i++) assert.equal((await answer(port)).version, version, `${name}: an old version after the reload`);
  return r;
}

describe('e2e reload: Apache + mod_fcgid, dispatch.fcgi from dualcgi init', { timeout: 180_000 }, () => {
  let world = '';
  let docroot = '';
  let apache: RunningApache | undefined;

  before(async () => {
    world = await makeWorld('e2e-reload-fcgid');
    docroot = await mkdirp(path.join(world, 'www'));
    const dualcgi = await installDualcgi(world);
    await installDeployApp(docroot);
    execFileSync(nodeForWww(), [path.join(dualcgi, 'bin', 'dualcgi'), 'init', '--server', 'apache-fcgid', docroot]);
    apache = await startApache({
      docroot, mode: 'fcgid',
      extraConfig: ['FcgidMaxProcessesPerClass 8', 'FcgidSpawnScoreUpLimit 200', 'FcgidSpawnScore 1', 'FcgidTerminationScore 1'].join('\n'),
    });
  });

  after(async () => {
    await apache?.stop();
    const left = processesOf(undefined, [world]);
    assert.deepEqual(left.map((p) => `${p.pid} ${p.cmdline}`), [], 'processes left behind');
    await removeWorld(world);
  });

  const logs = async (): Promise<string> => (await apache?.readErrorLog()) ?? '';

  it('the restart file (touch tmp/restart.txt): no failed request', async (t) => {
    await underLoad(t, apache!.port, docroot, 'mod_fcgid + restart file', 'v2', async () => {
      await fsp.writeFile(path.join(docroot, 'tmp', 'restart.txt'), `${Date.now()}\n`);
    }, logs);
  });

  it('dualcgi reload SCRIPT (SIGHUP to every process of the script): no failed request', async (t) => {
    await underLoad(t, apache!.port, docroot, 'mod_fcgid + dualcgi reload', 'v3', async () => {
      assert.equal(await main(['reload', path.join(docroot, 'dispatch.fcgi')], quiet), 0);
    }, logs);
  });

  it('SIGUSR1 to every process (as `apachectl graceful` operators expect): no failed request', async (t) => {
    await underLoad(t, apache!.port, docroot, 'mod_fcgid + SIGUSR1', 'v4', async () => {
      const mine = readStatuses().filter((s) => s.script === path.join(docroot, 'dispatch.fcgi'));
      assert.ok(mine.length > 0, 'no registered dispatch.fcgi process');
      for (const s of mine) process.kill(s.pid, 'SIGUSR1');
    }, logs);
  });

  it('touching dispatch.fcgi itself changes nothing (FIELD-NOTES): the restart file is the way', async () => {
    const before = await answer(apache!.port);
    await setVersion(docroot, 'v5');
    const now = new Date();
    await fsp.utimes(path.join(docroot, 'dispatch.fcgi'), now, now);
    await sleep(300);
    assert.equal((await answer(apache!.port)).version, before.version);
    await setVersion(docroot, before.version);
  });
});

describe('e2e reload: nginx + dualcgi serve --bind', { timeout: 240_000 }, () => {
  let world = '';
  let appDir = '';
  let dualcgi = '';
  let serveDir = '';
  let sock = '';
  let nginx: RunningNginx | undefined;
  let serve: RunningServer | undefined;
  let n = 1;

  before(async () => {
    world = await makeWorld('e2e-reload-nginx');
    appDir = await mkdirp(path.join(world, 'app'));
    dualcgi = await installDualcgi(world);
    await installDeployApp(appDir);
    await mkdirp(path.join(appDir, 'tmp'));
    serveDir = await mkdirp(path.join(world, 'serve'), { owner: 'www-data' });
    sock = path.join(serveDir, 'app.sock');
    nginx = await startNginx({ docroot: await mkdirp(path.join(world, 'www')), fastcgiPass: `unix:${sock}`, keepConn: true, params: 'pathinfo' });
  });

  after(async () => {
    await serve?.stop();
    await nginx?.stop();
    const left = processesOf(undefined, [world]);
    assert.deepEqual(left.map((p) => `${p.pid} ${p.cmdline}`), [], 'processes left behind');
    await removeWorld(world);
  });

  const log = (): string => path.join(serveDir, 'serve.log');
  const logs = async (): Promise<string> => `${await fsp.readFile(log(), 'utf8').catch(() => '')}\n${(await nginx?.readErrorLog()) ?? ''}`;

  /** each mechanism gets its own `dualcgi serve` with its flags, behind the same nginx. */
  async function mechanism(t: TestContext, name: string, flags: string[], trigger: (pid: number) => Promise<void>): Promise<void> {
    await serve?.stop();
    await setVersion(appDir, `v${n}`);
    serve = await startServe({ world, dualcgi, appDir, bind: `unix:${sock}`, flags, log: log() });
    assert.equal((await answer(nginx!.port)).version, `v${n}`);
    n++;
    await underLoad(t, nginx!.port, appDir, `nginx + serve ${name}`, `v${n}`, () => trigger(serve!.pid), logs);
  }

  it('SIGHUP (dualcgi reload PID)', (t) => mechanism(t, 'SIGHUP', [], async (pid) => {
    assert.equal(await main(['reload', String(pid)], quiet), 0);
  }));
  it('SIGUSR1', (t) => mechanism(t, 'SIGUSR1', [], async (pid) => { process.kill(pid, 'SIGUSR1'); }));
  it('--restart-file', (t) => mechanism(t, '--restart-file', ['--restart-file', path.join(appDir, 'tmp', 'restart.txt')], async () => {
    await fsp.writeFile(path.join(appDir, 'tmp', 'restart.txt'), `${Date.now()}\n`);
  }));
  it('--watch', (t) => mechanism(t, '--watch', ['--watch'], async () => {}));
  it('--max-requests 100', (t) => mechanism(t, '--max-requests', ['--max-requests', '100'], async () => {}));
  it('--workers 2 + SIGHUP (each reloaded in turn)', (t) => mechanism(t, '--workers 2', ['--workers', '2'], async (pid) => {
    process.kill(pid, 'SIGHUP');
  }));

  it('SIGTERM with 20 slow requests in flight: all 20 complete, exit 0', async (t) => {
    await serve?.stop();
    serve = await startServe({ world, dualcgi, appDir, bind: `unix:${sock}`, log: log() });
    const started = Date.now();
    const replies = Array.from({ length: 20 }, () => httpRequest(nginx!.port, '/slow?ms=1500', { timeoutMs: 20_000 }));
    await sleep(400);
    process.kill(serve.pid, 'SIGTERM');
    const results = await Promise.allSettled(replies);
    const ok = results.filter((r) => r.status === 'fulfilled' && r.value.status === 200).length;
    t.diagnostic(`SIGTERM with 20 in flight: ${ok}/20 completed with 200 in ${Date.now() - started} ms`);
    assert.equal(ok, 20, `${results.map((r) => (r.status === 'fulfilled' ? r.value.status : String(r.reason))).join(' ')}\n${await logs()}`);
    await sleep(300);
    assert.match(await fsp.readFile(log(), 'utf8'), /SIGTERM: drained, exit 0/);
    serve = undefined;
  });
});

describe('e2e: two dualcgi serve backends behind one nginx upstream', { timeout: 120_000 }, () => {
  let world = '';
  let nginx: RunningNginx | undefined;
  const backends: RunningServer[] = [];

  after(async () => {
    await nginx?.stop();
    for (const b of backends) await b.stop();
    const left = processesOf(undefined, [world]);
    assert.deepEqual(left.map((p) => `${p.pid} ${p.cmdline}`), [], 'processes left behind');
    await removeWorld(world);
  });

  it('one reloaded, one killed: no failed request (nginx retries the dead one on the other)', async (t) => {
    world = await makeWorld('e2e-upstream');
    const appDir = await mkdirp(path.join(world, 'app'));
    const dualcgi = await installDualcgi(world);
    await installDeployApp(appDir);
    const serveDir = await mkdirp(path.join(world, 'serve'), { owner: 'www-data' });
    const ports = [await freePort(), await freePort()];
    for (const [i, port] of ports.entries()) {
      backends.push(await startServe({ world, dualcgi, appDir, bind: `127.0.0.1:${port}`, log: path.join(serveDir, `serve-${i}.log`), name: `serve ${i}` }));
    }
    nginx = await startNginx({
      // The harness's own upstream has one server: this one has both, with keep-alive, and nginx's
      // default retry policy spelled out.
      docroot: await mkdirp(path.join(world, 'www')), fastcgiPass: 'dualcgi_pair', keepConn: false, params: 'pathinfo',
      httpConfig: `    upstream dualcgi_pair { server 127.0.0.1:${ports[0]}; server 127.0.0.1:${ports[1]}; keepalive 8; }`,
      locationConfig: '            fastcgi_keep_conn on;\n            fastcgi_next_upstream error timeout;',
    });
    const load = httpLoad(nginx.port, 4);
    await sleep(500);
    await setVersion(appDir, 'v2');
    process.kill(backends[0]!.pid, 'SIGHUP');
    await sleep(500);
    process.kill(backends[1]!.pid, 'SIGKILL');
    await sleep(1000);
    const r = await load.stop();
    const pids = new Set<number>();
    for (let i = 0; i < 6; i++) pids.add((await answer(nginx.port)).pid);
    // What nginx's retry covered: errors against each backend in its log.
    const errors = (await nginx.readErrorLog()).split('\n');
    const against = (port: number): number => errors.filter((l) => l.includes(`127.0.0.1:${port}`)).length;
    t.diagnostic(`two backends, A reloaded + B killed: ${r.sent} requests sent, ${r.failed} failed, ` +
      `${r.versions.filter((v) => v === 'v2').length} answered by v2; nginx logged ${against(ports[0]!)} upstream error(s) ` +
      `against A (reloaded) and ${against(ports[1]!)} against B (killed), each retried on the other`);
    assert.equal(r.failed, 0, r.errors.join(' | '));
    assert.equal(against(ports[0]!), 0, `the reload of A showed in nginx's log:\n${errors.filter((l) => l.includes(String(ports[0]))).join('\n')}`);
    assert.equal((await answer(nginx.port)).version, 'v2');
  });
});
