// What `dualcgi init` writes and prints passes `dualcgi doctor` and works behind real Apache
// (mod_fcgid and mod_cgi, with its .htaccess), nginx (its server block, the backend started with the
// systemd unit's ExecStart line) and lighttpd (its fastcgi.server block, bin-path).

import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { startApache, type RunningApache } from './harness/apache';
import {
  freePort, httpRequest, launch, makeWorld, mkdirp, nodeForWww, processesOf, removeWorld, requireFile, which, writeFile, type RunningServer,
} from './harness/util';
import { installDualcgi, installStatic } from './fixtures/world';
import { answer, installDeployApp } from './fixtures/deploy/load';
import { main } from '../../src/cli/main';

let world = '';
let dualcgi = '';
const stops: Array<() => Promise<void>> = [];

/** init: run the world's copy of dualcgi, as a deployer would; returns what it printed. */
function init(args: string[]): string {
  return execFileSync(nodeForWww(), [path.join(dualcgi, 'bin', 'dualcgi'), 'init', ...args], { encoding: 'utf8' });
}

async function doctor(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io = { stdout: { write: (s: string) => { out += s; return true; } } as NodeJS.WritableStream, stderr: process.stderr };
  return { code: await main(['doctor', ...args], io), out };
}

/** deployDir: a folder with the app, static/hello.txt, and what init writes for `server`. */
async function deployDir(name: string, server: string, extra: string[] = []): Promise<{ dir: string; printed: string }> {
  const dir = await mkdirp(path.join(world, name));
  await installDeployApp(dir);
  await installStatic(dir);
  const printed = init(['--server', server, ...extra, dir]);
  const again = init(['--server', server, ...extra, dir]);
  assert.doesNotMatch(again, /created|overwritten|kept/, 'init is not idempotent');
  return { dir, printed };
}

/** between: the lines of `text` from the one starting with `from` up to (not including) the one starting with `to`. */
function between(text: string, from: string, to?: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(from));
  const end = to === undefined ? lines.length : lines.findIndex((l, i) => i > start && l.startsWith(to));
  assert.ok(start >= 0, `no "${from}" in:\n${text}`);
  return lines.slice(start, end === -1 ? lines.length : end).join('\n');
}

async function checkServed(port: number, name: string): Promise<void> {
  const info = await answer(port, '/foo/bar?x=1');
  assert.equal(info.version, 'v1', name);
  const file = await httpRequest(port, '/static/hello.txt');
  assert.equal(file.status, 200, `${name}: static/hello.txt`);
  assert.ok(file.headers['last-modified'], `${name}: static/hello.txt went to the app, not served as a file`);
}

describe('e2e deploy: dualcgi init output, checked by doctor, behind real servers', { timeout: 180_000 }, () => {
  after(async () => {
    for (const stop of stops.reverse()) await stop();
    if (world) {
      const left = processesOf(undefined, [world]);
      assert.deepEqual(left.map((p) => `${p.pid} ${p.cmdline}`), [], 'processes left behind');
      await removeWorld(world);
    }
  });

  it('prepares a world with dualcgi readable by www-data', async () => {
    world = await makeWorld('e2e-deploy');
    dualcgi = await installDualcgi(world);
  });

  for (const mode of ['fcgid', 'cgi'] as const) {
    it(`Apache + mod_${mode}: init, doctor passes, requests work`, async () => {
      const { dir } = await deployDir(`apache-${mode}`, mode === 'fcgid' ? 'apache-fcgid' : 'apache-cgi');
      const d = await doctor([dir]);
      assert.equal(d.code, 0, d.out);
      const apache: RunningApache = await startApache({ docroot: dir, mode, dir: path.join(world, `apache-${mode}-conf`) });
      stops.push(() => apache.stop());
      const info = await answer(apache.port, '/foo/bar?x=1');
      assert.equal(info.version, 'v1', await apache.readErrorLog());
      assert.equal((info as unknown as { url: string }).url, '/foo/bar?x=1');
      assert.equal((info as unknown as { mode: string }).mode, mode === 'fcgid' ? 'fcgi' : 'cgi');
      const direct = await answer(apache.port, `/dispatch.${mode === 'fcgid' ? 'fcgi' : 'cgi'}/foo/bar?x=1`);
      assert.equal((direct as unknown as { url: string }).url, '/foo/bar?x=1');
      await checkServed(apache.port, `apache ${mode}`);
    });
  }

  it('Apache + mod_fcgid: doctor\'s verdicts on the rewrite loop and on files sent as they are agree with Apache for each way of guarding it', async () => {
    const { dir } = await deployDir('apache-guards', 'apache-fcgid');
    const classic = await fsp.readFile(path.join(dir, '.htaccess'), 'utf8');
    const head = 'Options +ExecCGI +FollowSymLinks\nAddHandler fcgid-script .fcgi\nCGIPassAuth On\nRewriteEngine On\n';
    const variants: Array<[string, string, boolean]> = [
      ['the guard rule', classic, true],
      ['%{REQUEST_FILENAME} !-f', `${head}RewriteCond %{REQUEST_FILENAME} !-f\nRewriteRule ^(.*)$ dispatch.fcgi/$1 [QSA,L]\n`, true],
      ['[END]', `${head}RewriteRule ^(.*)$ dispatch.fcgi/$1 [END]\n`, true],
      ['%{REQUEST_URI} !^/dispatch\\.fcgi', `${head}RewriteCond %{REQUEST_URI} !^/dispatch\\.fcgi\nRewriteRule ^(.*)$ dispatch.fcgi/$1 [L]\n`, true],
      ['nothing', `${head}RewriteRule ^(.*)$ dispatch.fcgi/$1 [L]\n`, false],
    ];
    const apache = await startApache({ docroot: dir, mode: 'fcgid', dir: path.join(world, 'apache-guards-conf') });
    stops.push(() => apache.stop());
    for (const [name, text, serves] of variants) {
      await writeFile(path.join(dir, '.htaccess'), text);
      const res = await httpRequest(apache.port, '/foo/bar?x=1', { timeoutMs: 20_000 });
      assert.equal(res.status, serves ? 200 : 500, `${name}: Apache`);
      const d = await doctor([dir]);
      assert.equal(/DOCTOR_HTACCESS_GUARD/.test(d.out), !serves, `${name}: doctor\n${d.out}`);
      // Under !-f Apache sends the app's own files as they are: doctor says so (and only then).
      const source = await httpRequest(apache.port, '/app.js', { timeoutMs: 20_000 });
      const leaks = source.status === 200 && source.body.toString('utf8') === await fsp.readFile(path.join(dir, 'app.js'), 'utf8');
      assert.equal(leaks, name.includes('!-f'), `${name}: Apache sent app.js as a file`);
      assert.equal(/DOCTOR_HTACCESS_EXPOSED/.test(d.out), leaks, `${name}: doctor\n${d.out}`);
    }
  });

  it('nginx: init --server nginx, doctor passes, its server block + the unit\'s ExecStart work', async () => {
    const runDir = await mkdirp(path.join(world, 'nginx-run'), { owner: 'www-data' });
    const { dir, printed } = await deployDir('nginx-app', 'nginx', ['--bind', `unix:${runDir}/app.sock`]);
    const d = await doctor(['--server', 'nginx', dir]);
    assert.equal(d.code, 0, d.out);
    // The backend: the systemd unit's ExecStart line, run as its User=.
    const exec = /^ExecStart=(.*)$/m.exec(printed)![1]!.split(' ');
    const log = path.join(runDir, 'serve.log');
    const quoted = [which('setpriv'), '--reuid=www-data', '--regid=www-data', '--clear-groups', ...exec].map((a) => `'${a}'`).join(' ');
    const backend: RunningServer = await launch({
      name: 'dualcgi serve (ExecStart)', bin: '/bin/sh', args: ['-c', `exec ${quoted} >>'${log}' 2>&1`], cwd: dir,
      dir: runDir, configFile: exec.join(' '), errorLog: log, port: 0, readyOn: path.join(runDir, 'app.sock'), extraDirs: [dir],
    });
    stops.push(() => backend.stop());
    // The front: its server block, listening on a test port, inside a minimal nginx.conf.
    const conf = path.join(world, 'nginx-conf');
    await mkdirp(path.join(conf, 'logs'));
    await fsp.copyFile(requireFile('/etc/nginx/fastcgi_params', 'nginx-common'), path.join(conf, 'fastcgi_params'));
    const port = await freePort();
    const server = between(printed, 'upstream ', '# systemd:').replace('listen 80;', `listen 127.0.0.1:${port};`);
    await writeFile(path.join(conf, 'nginx.conf'), [
      'daemon off;', 'user www-data www-data;', 'worker_processes 1;', `pid ${conf}/nginx.pid;`, `error_log ${conf}/logs/error.log warn;`,
      'events { worker_connections 64; }', 'http {', `    include ${requireFile('/etc/nginx/mime.types', 'nginx-common')};`,
      `    access_log ${conf}/logs/access.log;`, `    client_body_temp_path ${conf}/body;`, `    fastcgi_temp_path ${conf}/fastcgi;`,
      server, '}', '',
    ].join('\n'));
    const nginx = await launch({
      name: 'nginx (init snippet)', bin: which('/usr/sbin/nginx'), args: ['-p', `${conf}/`, '-c', path.join(conf, 'nginx.conf'), '-e', `${conf}/logs/error.log`],
      dir: conf, configFile: path.join(conf, 'nginx.conf'), errorLog: `${conf}/logs/error.log`, port, readyOn: port,
    });
    stops.push(() => nginx.stop());
    await checkServed(port, 'nginx');
    const info = await answer(port, '/x?y=1');
    assert.equal((info as unknown as { url: string }).url, '/x?y=1');
  });

  it('lighttpd: init --server lighttpd, doctor passes, its fastcgi.server block works (bin-path)', async () => {
    const sockDir = await mkdirp(path.join(world, 'lighttpd-sock'), { owner: 'www-data' });
    const { dir, printed } = await deployDir('lighttpd-app', 'lighttpd', ['--bind', `unix:${sockDir}/app.sock`]);
    const d = await doctor(['--server', 'lighttpd', dir]);
    assert.equal(d.code, 0, d.out);
    const conf = path.join(world, 'lighttpd-conf');
    const logs = await mkdirp(path.join(conf, 'logs'), { owner: 'www-data' });
    const port = await freePort();
    await writeFile(path.join(conf, 'lighttpd.conf'), [
      'server.modules = ( "mod_access", "mod_accesslog" )', `server.document-root = "${dir}"`, 'server.bind = "127.0.0.1"',
      `server.port = ${port}`, 'server.username = "www-data"', 'server.groupname = "www-data"', `server.pid-file = "${conf}/lighttpd.pid"`,
      `server.errorlog = "${logs}/error.log"`, `server.breakagelog = "${logs}/breakage.log"`,
      'mimetype.assign = ( ".txt" => "text/plain", "" => "application/octet-stream" )',
      between(printed, 'server.modules +='), '',
    ].join('\n'));
    const lighttpd = await launch({
      name: 'lighttpd (init snippet)', bin: which('/usr/sbin/lighttpd'), args: ['-D', '-f', path.join(conf, 'lighttpd.conf')],
      dir: conf, configFile: path.join(conf, 'lighttpd.conf'), errorLog: `${logs}/error.log`, port, readyOn: port, extraDirs: [dir],
    });
    stops.push(() => lighttpd.stop());
    await checkServed(port, 'lighttpd');
    assert.equal(((await answer(port, '/x?y=1')) as unknown as { url: string }).url, '/x?y=1');
  });
});
