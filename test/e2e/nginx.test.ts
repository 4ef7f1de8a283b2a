// dualcgi behind nginx: `dualcgi serve --bind unix:... --socket-mode 666` runs as www-data, nginx
// passes to it with fastcgi_keep_conn on + upstream keepalive, SCRIPT_NAME "" and PATH_INFO $uri.

import { describe, before, after, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { startNginx, RunningNginx } from './harness/nginx';
import { httpRequest, launch, makeWorld, mkdirp, nodeForWww, processesOf, removeWorld, which, RunningServer } from './harness/util';
import { defineChecks } from './fixtures/checks';
import { installApp, installDualcgi, installStatic } from './fixtures/world';

describe('e2e: nginx -> dualcgi serve (unix socket, keep-alive)', () => {
  let world = '';
  let appDir = '';
  let dualcgi = '';
  let sock = '';
  let serveLog = '';
  let serve: RunningServer | undefined;
  let nginx: RunningNginx | undefined;
  let staticContent: Buffer = Buffer.alloc(0);

  /** `node bin/dualcgi serve` as www-data (setpriv execs: the pid stays the one we spawned). */
  async function startServe(): Promise<RunningServer> {
    const cmd = [
      which('setpriv'),
      '--reuid=www-data',
      '--regid=www-data',
      '--clear-groups',
      nodeForWww(),
      path.join(dualcgi, 'bin', 'dualcgi'),
      'serve',
      '--bind',
      `unix:${sock}`,
      '--socket-mode',
      '666',
      path.join(appDir, 'app.js'),
    ];
    const quoted = cmd.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    return launch({
      name: 'dualcgi serve',
      bin: '/bin/sh',
      // exec: the shell becomes dualcgi; its stdout/stderr are appended to serve.log.
      args: ['-c', `exec ${quoted} >>'${serveLog}' 2>&1`],
      cwd: appDir,
      dir: path.join(world, 'serve'),
      configFile: path.join(appDir, 'app.js'),
      errorLog: serveLog,
      port: 0,
      readyOn: sock,
      extraDirs: [appDir],
    });
  }

  before(async () => {
    world = await makeWorld('e2e-nginx');
    const docroot = path.join(world, 'www');
    appDir = path.join(world, 'app');
    dualcgi = await installDualcgi(world);
    await installApp(appDir);
    staticContent = await installStatic(docroot);
    const serveDir = await mkdirp(path.join(world, 'serve'), { owner: 'www-data' });
    sock = path.join(serveDir, 'app.sock');
    serveLog = path.join(serveDir, 'serve.log');
    serve = await startServe();
    nginx = await startNginx({ docroot, fastcgiPass: `unix:${sock}`, keepConn: true, params: 'pathinfo', staticPrefix: '/static/' });
  });

  after(async () => {
    await nginx?.stop();
    await serve?.stop();
    const left = processesOf(undefined, [world]);
    assert.deepEqual(left.map((p) => `${p.pid} ${p.cmdline}`), [], 'processes left behind');
    await removeWorld(world);
  });

  defineChecks({
    name: 'nginx + dualcgi serve',
    mode: 'fcgi',
    port: () => nginx?.port ?? 0,
    appDir: () => appDir,
    staticContent: () => staticContent,
    logs: async () =>
      `--- ${nginx?.errorLog} ---\n${((await nginx?.readErrorLog()) ?? '').slice(-4000)}\n` +
      `--- ${serveLog} ---\n${(await fsp.readFile(serveLog, 'utf8').catch(() => '')).slice(-4000)}`,
    appStderr: () => fsp.readFile(serveLog, 'utf8').catch(() => ''),
    restartApp: async () => {
      // nginx does not manage the app: stop it and start a new one on the same socket.
      await serve?.stop();
      serve = await startServe();
    },
    concurrency: { minOverlap: 40 },
  });

  it('reuses its FastCGI connections (fastcgi_keep_conn: dualcgi keeps the connection open)', async () => {
    const pid = serve?.pid ?? 0;
    /** Inodes of the sockets dualcgi has open: the listener plus its connections from nginx. */
    const sockets = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const fd of await fsp.readdir(`/proc/${pid}/fd`)) {
        const link = await fsp.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
        if (link.startsWith('socket:')) out.push(link);
      }
      return out.sort();
    };
    const port = nginx?.port ?? 0;
    assert.equal((await httpRequest(port, '/info')).status, 200);
    const first = await sockets();
    assert.ok(first.length >= 2, `expected the listener and a kept-alive connection, got ${first.join(' ')}`);
    for (let i = 0; i < 10; i++) {
      assert.equal((await httpRequest(port, `/info?i=${i}`)).status, 200);
      assert.deepEqual(await sockets(), first, `request ${i} did not reuse the connection`);
    }
  });
});
