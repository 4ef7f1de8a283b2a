import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { detectMode, explainNoMode } from '../../src/launch/detect';

const distSrc = resolve(__dirname, '../../src');
const probe = `
const { detectMode } = require(${JSON.stringify(join(distSrc, 'launch/detect'))});
process.stdout.write(JSON.stringify(detectMode({ env: process.env, scriptPath: process.env.PROBE_NAME })));
`;

interface Seen { mode: string; reason: string; fd0: { kind: string; family?: string } }

type Stdin = number | 'ignore' | 'shell-pipe' | Socket;

/** runProbe: the probe with `stdin` as fd 0; 'shell-pipe' is a real pipe(2) (Node's 'pipe' is a socketpair). */
function runProbe(stdin: Stdin, env: Record<string, string> = {}): Promise<Seen> {
  return new Promise((resolvePromise, reject) => {
    const fullEnv = { PATH: process.env['PATH'] ?? '', ...env };
    const child = stdin === 'shell-pipe'
      ? spawn('/bin/sh', ['-c', `true | exec "${process.execPath}" -e "$PROBE"`], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...fullEnv, PROBE: probe } })
      : spawn(process.execPath, ['-e', probe], { stdio: [stdin, 'pipe', 'inherit'], env: fullEnv });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
    child.on('error', reject);
    child.on('close', () => {
      try { resolvePromise(JSON.parse(out) as Seen); } catch (err) { reject(err); }
    });
  });
}

function listen(server: Server, ...args: unknown[]): Promise<void> {
  return new Promise((r) => (server.listen as (...a: unknown[]) => void)(...args, () => r()));
}

function fdOf(server: Server): number {
  return (server as unknown as { _handle: { fd: number } })._handle.fd;
}

const cgiEnv = { GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'GET' };

describe('mode detection on real file descriptors', () => {
  it('a listening Unix socket on fd 0 is FastCGI, even with CGI variables around (lighttpd)', async () => {
    const server = createServer();
    await listen(server, join(mkdtempSync(join(tmpdir(), 'dualcgi-')), 's'));
    const seen = await runProbe(fdOf(server), cgiEnv);
    server.close();
    assert.equal(seen.mode, 'fcgi');
    assert.deepEqual(seen.fd0, { kind: 'listening', family: 'unix' });
  });

  it('a listening TCP socket on fd 0 is FastCGI', async () => {
    const server = createServer();
    await listen(server, 0, '127.0.0.1');
    const seen = await runProbe(fdOf(server));
    server.close();
    assert.equal(seen.mode, 'fcgi');
    assert.deepEqual(seen.fd0, { kind: 'listening', family: 'tcp' });
  });

  it('a connected socket on fd 0 with CGI variables is CGI (mod_cgid)', async () => {
    const server = createServer();
    const path = join(mkdtempSync(join(tmpdir(), 'dualcgi-')), 's');
    await listen(server, path);
    const accepted = new Promise<Socket>((r) => server.once('connection', r));
    const client = connect(path);
    const peer = await accepted;
    const seen = await runProbe(peer, cgiEnv);
    client.destroy();
    peer.destroy();
    server.close();
    assert.equal(seen.mode, 'cgi');
    assert.equal(seen.fd0.kind, 'connected-socket');
  });

  it('a pipe with CGI variables is CGI (mod_cgi)', async () => {
    const seen = await runProbe('shell-pipe', cgiEnv);
    assert.equal(seen.mode, 'cgi');
    assert.equal(seen.fd0.kind, 'pipe');
    assert.match(seen.reason, /GATEWAY_INTERFACE=CGI\/1\.1/);
  });

  it('/dev/null and no CGI variables is nothing to serve; a .cgi name is CGI', async () => {
    assert.equal((await runProbe('ignore')).mode, 'none');
    assert.equal((await runProbe('ignore', { PROBE_NAME: '/srv/x/dispatch.cgi' })).mode, 'cgi');
    const fcgi = await runProbe('ignore', { PROBE_NAME: '/srv/x/dispatch.fcgi' });
    assert.equal(fcgi.mode, 'none');
    assert.match(fcgi.reason, /named dispatch\.fcgi, but fd 0 is a file, not a listening socket/);
  });

  it('a terminal is nothing to serve, even for a .cgi name', { skip: spawnSync('script', ['--version']).error ? 'no script(1)' : false }, () => {
    const cmd = `PROBE_NAME=/x/dispatch.cgi ${process.execPath} -e '${probe.replace(/'/g, "'\\''")}'`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8' });
    const seen = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as Seen;
    assert.equal(seen.fd0.kind, 'tty');
    assert.equal(seen.mode, 'none');
  });
});

describe('detectMode precedence', () => {
  const fd0Listening = { kind: 'listening', family: 'unix' } as const;
  it('an explicit mode wins over everything', () => {
    assert.equal(detectMode({ explicit: 'cgi', env: {}, scriptPath: 'x.fcgi', fd0: fd0Listening }).mode, 'cgi');
    assert.equal(detectMode({ env: { DUALCGI_MODE: 'fcgi' }, scriptPath: undefined, fd0: { kind: 'pipe' } }).mode, 'fcgi');
  });
  it('an unknown explicit mode is refused with a reason', () => {
    const d = detectMode({ explicit: 'fastcgi', env: {}, scriptPath: undefined, fd0: { kind: 'pipe' } });
    assert.equal(d.mode, 'none');
    assert.match(d.reason, /unknown mode "fastcgi"/);
  });
  it('explains how to try the script by hand', () => {
    const d = detectMode({ env: {}, scriptPath: '/srv/app/dispatch.fcgi', fd0: { kind: 'tty' } });
    assert.match(explainNoMode(d, '/srv/app/dispatch.fcgi'), /npx dualcgi request \.\/dispatch\.fcgi \//);
  });
});
