/** Shared fixtures of the launch tests: a tiny app with a version, `dualcgi serve`, a load loop. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FastCGIClientConnection } from '../../src/client/fastcgi-client';
import { buildCgiParams } from '../../src/client/params';

/** repoRoot: the folder with dualcgi's package.json (bin/dualcgi lives there). */
export function repoRoot(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'dualcgi'))) return dir;
    if (dirname(dir) === dir) throw new Error('no repo root above ' + __dirname);
  }
}

/** cgiHitEnv: the environment Apache gives a CGI script for `GET /hello?x=1`, plus `extra`. */
export function cgiHitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', DUALCGI_RUN_DIR: 'off' };
  for (const [k, v] of buildCgiParams({ target: '/hello?x=1', mode: 'cgi', headers: [['Host', 'localhost']] })) env[k] = v;
  return { ...env, ...extra };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** VERSIONED_APP: version.js is required once, so only a reload shows a new one; /slow waits. */
const APP = `'use strict';
const version = require('./version.js');
module.exports = function app(req, res) {
  const url = new URL(req.url, 'http://x');
  const send = () => { res.setHeader('Content-Type', 'text/plain'); res.end(version + ' ' + process.pid); };
  if (url.pathname === '/slow') setTimeout(send, Number(url.searchParams.get('ms') || 100));
  else send();
};
`;

/** AppDir: a temp folder with app.js and version.js. */
export interface AppDir {
  dir: string;
  setVersion(v: string): void;
  cleanup(): void;
}

export function makeApp(version = 'v1'): AppDir {
  const dir = mkdtempSync(join(tmpdir(), 'dualcgi-launch-test-'));
  writeFileSync(join(dir, 'app.js'), APP);
  const setVersion = (v: string): void => writeFileSync(join(dir, 'version.js'), `module.exports = ${JSON.stringify(v)};\n`);
  setVersion(version);
  return { dir, setVersion, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Served: a `dualcgi serve --bind unix:...` child. */
export interface Served {
  child: ChildProcess;
  address: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/** serve: start `dualcgi serve` on `<dir>/s.sock` with extra flags; resolves once it answers. */
export async function serve(app: AppDir, flags: string[] = [], env: Record<string, string> = {}): Promise<Served> {
  const sock = join(app.dir, 's.sock');
  const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'dualcgi'), 'serve', '--bind', `unix:${sock}`, ...flags, join(app.dir, 'app.js')], {
    cwd: app.dir,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', DUALCGI_RUN_DIR: join(app.dir, 'run'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { out += b.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('exit', (code, signal) => done({ code, signal }));
  });
  const address = `unix:${sock}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await get(address, '/');
      break;
    } catch (err) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`serve did not start: ${(err as Error).message}\n${out}`);
      await sleep(30);
    }
  }
  return {
    child, address, exited, output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** get: one request on a fresh connection (mod_fcgid style); resolves with the body. */
export async function get(address: string, path: string, conn?: FastCGIClientConnection): Promise<string> {
  const c = conn ?? await FastCGIClientConnection.connect(address);
  try {
    const res = await c.request({ params: buildCgiParams({ target: path }), keepConn: conn !== undefined });
    const text = res.stdout.toString('latin1');
    const status = /^Status: (\d+)/m.exec(text)?.[1] ?? '200';
    if (status !== '200') throw new Error(`status ${status}: ${text.slice(0, 200)}`);
    return text.slice(text.indexOf('\r\n\r\n') + 4);
  } finally {
    if (!conn) c.destroy();
  }
}

/** LoadResult: what a load loop saw. */
export interface LoadResult {
  sent: number;
  failed: number;
  /** retried: requests that failed on an idle kept-alive connection and were resent, as nginx does. */
  retried: number;
  errors: string[];
  /** versions: the version of each successful response, in order of completion. */
  versions: string[];
}

/**
 * loadLoop: `loops` clients in a bounded loop until stop(): half open a connection per request
 * (mod_fcgid), half keep one alive (nginx keepalive) and, like nginx, resend once when a cached
 * connection turns out closed.
 */
export function loadLoop(address: string, loops = 4, path = '/'): { stop(): Promise<LoadResult> } {
  const result: LoadResult = { sent: 0, failed: 0, retried: 0, errors: [], versions: [] };
  let running = true;
  const one = async (keep: boolean): Promise<void> => {
    let conn: FastCGIClientConnection | undefined;
    while (running) {
      result.sent++;
      try {
        // Like nginx, which looks for EOF on a cached connection before reusing it.
        if (keep && conn) await new Promise((r) => setImmediate(r));
        if (keep && (!conn || conn.closed || conn.socket.readableEnded)) conn = await FastCGIClientConnection.connect(address);
        let body: string;
        try {
          body = await get(address, path, keep ? conn : undefined);
        } catch (err) {
          // nginx resends only when a cached connection failed, not on a bad answer.
          if (!keep || !conn || (err as { code?: string }).code !== 'CLIENT_ERR_CLOSED') throw err;
          result.retried++;
          conn.destroy();
          conn = await FastCGIClientConnection.connect(address);
          body = await get(address, path, conn);
        }
        result.versions.push(body.split(' ')[0] ?? '');
      } catch (err) {
        result.failed++;
        if (result.errors.length < 5) result.errors.push((err as Error).message);
        conn?.destroy();
        conn = undefined;
      }
    }
    conn?.destroy();
  };
  const all = Promise.all(Array.from({ length: loops }, (_, i) => one(i % 2 === 1)));
  return {
    stop: async () => {
      running = false;
      await all;
      return result;
    },
  };
}

/** readStatus: the status file the serving process wrote into `<app>/run`. */
export function readStatus(app: AppDir, pid: number): Record<string, unknown> | null {
  try {
    return JSON.parse(readFileSync(join(app.dir, 'run', `${pid}.json`), 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/** until: poll until `probe` is true or `ms` passes. */
export async function until(probe: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await sleep(25);
  }
  return false;
}
