// The backends the nginx and trace suites put behind nginx, each in its own folder of the world
// (the harness's stop kills leftovers by folder), each on a Unix socket nginx's www-data can use,
// each stopped by pid on cleanup. Node backends run with NODE_ENV=production.
import { copyFileSync } from 'node:fs';
import * as path from 'node:path';
import { startPhpFpm } from '../../test/e2e/harness/php-fpm';
import { launch, mkdirp, type RunningServer } from '../../test/e2e/harness/util';
import { repoRoot } from '../../test/e2e/fixtures/world';
import { onCleanup } from './cleanup';
import type { Upstream } from './front';

/** Backend: a running backend, the upstream nginx needs for it, and its log. */
export interface Backend {
  name: string;
  pid: number;
  upstream: Upstream;
  log: string;
  stop(): Promise<void>;
}

/** BENCH_DIST: dist/bench (this file is dist/bench/lib/backends.js). */
export const BENCH_DIST = path.resolve(__dirname, '..');

/** benchApp: the compiled app module `name` (hello, express-app, hono-app). */
export function benchApp(name: string): string {
  return path.join(BENCH_DIST, 'apps', `${name}.js`);
}

const BASE_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', LANG: 'C', NODE_ENV: 'production' };

function quote(a: string): string {
  return `'${a.replace(/'/g, `'\\''`)}'`;
}

/** track: register the backend's stop with the cleanup list; stopping normally unregisters it. */
function track(name: string, server: RunningServer, upstream: Upstream, log: string): Backend {
  const off = onCleanup(name, () => server.stop());
  return { name, pid: server.pid, upstream, log, stop: async () => { off(); await server.stop(); } };
}

/**
 * startCommand: `sh -c 'exec CMD >>log 2>&1'` in `<world>/<name>`: the shell becomes the backend,
 * so the pid is the backend's own (the memory suite reads its RSS).
 */
async function startCommand(world: string, name: string, cmd: string[], env: NodeJS.ProcessEnv,
  kind: Upstream['kind']): Promise<Backend> {
  const dir = await mkdirp(path.join(world, name));
  const sock = path.join(dir, 'backend.sock');
  const log = path.join(dir, 'backend.log');
  const full = cmd.map((a) => a.replace('{sock}', sock));
  const server = await launch({
    name, bin: '/bin/sh', args: ['-c', `exec ${full.map(quote).join(' ')} >>${quote(log)} 2>&1`],
    env: { ...BASE_ENV, HOME: dir, ...env }, dir, cwd: dir, configFile: full.join(' '), errorLog: log, port: 0, readyOn: sock,
  });
  return track(name, server, { name, kind, address: `unix:${sock}` }, log);
}

/** DualcgiOptions: the app and how tracing is set up. */
export interface DualcgiOptions {
  app: string;
  /** trace: `--trace off` when 'off'; otherwise DUALCGI_TRACE is set to this target. */
  trace: 'off' | string;
  /** root: the dualcgi checkout to run (default: this one); the nginx suite's --baseline. */
  root?: string;
}

/** startDualcgi: `node bin/dualcgi serve --bind unix:SOCK APP`, one process (no workers). */
export function startDualcgi(world: string, name: string, opts: DualcgiOptions): Promise<Backend> {
  // BENCH_DUALCGI_NODE_FLAGS: node flags for the dualcgi backends only (--trace-deopt, --cpu-prof:
  // their output lands in the backend's log and folder; keep them with --keep-world).
  const flags = (process.env['BENCH_DUALCGI_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
  const cmd = [process.execPath, ...flags, path.join(opts.root ?? repoRoot(), 'bin', 'dualcgi'), 'serve', '--bind', 'unix:{sock}',
    '--socket-mode', '666', '--no-register', ...(opts.trace === 'off' ? ['--trace', 'off'] : []), opts.app];
  return startCommand(world, name, cmd, opts.trace === 'off' ? {} : { DUALCGI_TRACE: opts.trace }, 'fastcgi');
}

/** startNodeFastcgi: the npm node-fastcgi server with the same app. */
export function startNodeFastcgi(world: string, name: string, app: string): Promise<Backend> {
  return startCommand(world, name, [process.execPath, path.join(BENCH_DIST, 'apps', 'node-fastcgi-server.js'), app, '{sock}'],
    {}, 'fastcgi');
}

/** startNodeHttp: node:http with the same app, for nginx proxy_pass. */
export function startNodeHttp(world: string, name: string, app: string): Promise<Backend> {
  return startCommand(world, name, [process.execPath, path.join(BENCH_DIST, 'apps', 'http-server.js'), app, '{sock}'], {}, 'http');
}

/** startGo: the Go net/http/fcgi peer on one core. */
export function startGo(world: string, name: string, binary: string): Promise<Backend> {
  return startCommand(world, name, [binary, '{sock}'], { GOMAXPROCS: '1' }, 'fastcgi');
}

/**
 * startPhp: php-fpm with one static worker. fastcgi_keep_conn stays off for it: one worker blocks
 * on its kept connection while nginx opens more for concurrent requests, which then wait for
 * fastcgi_read_timeout (php-fpm serves one connection per worker).
 */
export async function startPhp(world: string, name: string): Promise<Backend> {
  const dir = await mkdirp(path.join(world, name));
  const script = path.join(dir, 'hello.php');
  copyFileSync(path.join(repoRoot(), 'bench', 'php', 'hello.php'), script);
  const sock = path.join(dir, 'backend.sock');
  const server = await startPhpFpm({ listen: sock, dir, children: 1 });
  return track(name, server, { name, kind: 'fastcgi', address: `unix:${sock}`, keepConn: false, scriptFilename: script },
    server.errorLog);
}
