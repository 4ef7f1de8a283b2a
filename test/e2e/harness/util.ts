// Shared helpers for the end-to-end harness: temp worlds, ports, processes, HTTP.
// Everything here is for tests that run as root and start real web servers which drop
// privileges to www-data; nothing here touches the system service configs.

import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import * as net from 'node:net';
import * as http from 'node:http';
import * as crypto from 'node:crypto';
import { spawn, ChildProcess } from 'node:child_process';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

// ---------------------------------------------------------------------------------------------
// Binaries and packages

/** Debian package that provides each binary or module the harness uses. */
export const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  '/usr/sbin/apache2': 'apache2',
  '/usr/lib/apache2/modules/mod_fcgid.so': 'libapache2-mod-fcgid',
  '/usr/lib/apache2/modules/mod_cgi.so': 'apache2',
  '/usr/lib/apache2/modules/mod_cgid.so': 'apache2',
  '/usr/lib/apache2/modules/mod_rewrite.so': 'apache2',
  '/usr/sbin/nginx': 'nginx',
  '/usr/sbin/lighttpd': 'lighttpd',
  '/usr/sbin/php-fpm8.2': 'php-fpm',
  'cgi-fcgi': 'libfcgi-bin',
  'spawn-fcgi': 'spawn-fcgi',
  tmux: 'tmux',
  apache2: 'apache2',
  nginx: 'nginx',
  lighttpd: 'lighttpd',
  'php-fpm8.2': 'php-fpm',
};

function packageFor(bin: string): string | undefined {
  return DEBIAN_PACKAGES[bin] ?? DEBIAN_PACKAGES[path.basename(bin)];
}

function missing(what: string, pkg: string | undefined): Error {
  return new Error(
    pkg
      ? `e2e: ${what} not found; install the Debian package "${pkg}" (apt-get install -y ${pkg})`
      : `e2e: ${what} not found; install the Debian package that provides it (apt-file search ${path.basename(what)})`,
  );
}

/**
 * Resolve a binary (absolute path, or a name looked up in PATH plus the sbin folders) and
 * return its absolute path. Throws a one-line error naming the Debian package when missing.
 */
export function which(bin: string, pkg?: string): string {
  const candidates: string[] = [];
  if (bin.includes('/')) {
    candidates.push(bin);
  } else {
    const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
    for (const d of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
      if (!dirs.includes(d)) dirs.push(d);
    }
    for (const d of dirs) candidates.push(path.join(d, bin));
  }
  for (const c of candidates) {
    try {
      fs.accessSync(c, fs.constants.X_OK);
      if (fs.statSync(c).isFile()) return c;
    } catch {
      // try the next one
    }
  }
  throw missing(bin, pkg ?? packageFor(bin));
}

/** Like which() for a plain file (an Apache module, a config snippet). */
export function requireFile(file: string, pkg?: string): string {
  if (!fs.existsSync(file)) {
    throw missing(file, pkg ?? packageFor(file));
  }
  return file;
}

// ---------------------------------------------------------------------------------------------
// Users and worlds

export interface UserIds {
  uid: number;
  gid: number;
}

/** uid/gid of a user from /etc/passwd (www-data by default). */
export function userIds(name = 'www-data'): UserIds {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(name + ':'));
  if (!line) throw new Error(`e2e: user ${name} does not exist (the web servers drop privileges to it)`);
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/**
 * Create a fresh world directory /tmp/dualcgi-<prefix>-XXXXXX, mode 0755, with every
 * ancestor searchable by others (www-data must reach the docroot inside it).
 */
export async function makeWorld(prefix: string): Promise<string> {
  const safe = prefix.replace(/[^A-Za-z0-9_.-]/g, '_');
  const dir = await fsp.mkdtemp(path.join('/tmp', `dualcgi-${safe}-`));
  await fsp.chmod(dir, 0o755);
  await ensureTraversable(dir);
  return dir;
}

/** Make every ancestor of `p` searchable by others (adds o+x, never removes bits). */
export async function ensureTraversable(p: string): Promise<void> {
  let cur = path.resolve(p);
  for (;;) {
    const st = await fsp.stat(cur);
    if (st.isDirectory() && (st.mode & 0o001) === 0) await fsp.chmod(cur, (st.mode & 0o7777) | 0o011);
    const parent = path.dirname(cur);
    if (parent === cur) break;
    cur = parent;
  }
}

/** mkdir -p with mode 0755 for each created folder; optionally chown the leaf to www-data. */
export async function mkdirp(dir: string, opts: { owner?: 'www-data' | 'root'; mode?: number } = {}): Promise<string> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o755 });
  await fsp.chmod(dir, opts.mode ?? 0o755);
  if (opts.owner === 'www-data') {
    const { uid, gid } = userIds();
    await fsp.chown(dir, uid, gid);
  }
  return dir;
}

/** Write a file (creating its folder 0755) with the given mode (default 0644). */
export async function writeFile(file: string, content: string | Buffer, mode = 0o644): Promise<string> {
  await mkdirp(path.dirname(file));
  await fsp.writeFile(file, content);
  await fsp.chmod(file, mode);
  return file;
}

/** True when the bits for "others" let www-data execute `file` and search every folder to it. */
export function othersCanExec(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if ((st.mode & 0o005) !== 0o005) return false;
    let cur = path.dirname(path.resolve(file));
    for (;;) {
      if ((fs.statSync(cur).mode & 0o001) === 0) return false;
      const parent = path.dirname(cur);
      if (parent === cur) return true;
      cur = parent;
    }
  } catch {
    return false;
  }
}

let cachedNode: string | undefined;

/**
 * An absolute node binary that www-data can execute: process.execPath when reachable,
 * else a copy under /tmp (nvm installs under /root are not searchable by www-data).
 */
export function nodeForWww(): string {
  if (cachedNode) return cachedNode;
  const real = fs.realpathSync(process.execPath);
  if (othersCanExec(real)) {
    cachedNode = process.execPath;
    return cachedNode;
  }
  const copy = `/tmp/dualcgi-node-${process.version}`;
  if (!fs.existsSync(copy)) {
    const tmp = `${copy}.${process.pid}`;
    fs.copyFileSync(real, tmp);
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, copy);
  }
  cachedNode = copy;
  return cachedNode;
}

/**
 * Copy installed packages (and their own dependencies, by package.json) into `<dir>/node_modules`
 * so a script run as www-data can `require('<dir>/node_modules/<name>')` even when the repo itself
 * lives somewhere www-data cannot read. Returns the node_modules folder.
 */
export async function copyNodeModules(dir: string, names: string[]): Promise<string> {
  const target = path.join(dir, 'node_modules');
  await mkdirp(target);
  const seen = new Set<string>();
  const queue = [...names];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    const pkgJson = require.resolve(`${name}/package.json`);
    const src = path.dirname(pkgJson);
    await fsp.cp(src, path.join(target, name), { recursive: true, dereference: true });
    const meta = JSON.parse(await fsp.readFile(pkgJson, 'utf8')) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(meta.dependencies ?? {})) queue.push(dep);
  }
  await chmodReadable(target);
  return target;
}

/** chmod -R a+rX */
export async function chmodReadable(p: string): Promise<void> {
  const st = await fsp.lstat(p);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    await fsp.chmod(p, (st.mode & 0o7777) | 0o555);
    for (const e of await fsp.readdir(p)) await chmodReadable(path.join(p, e));
  } else {
    const x = st.mode & 0o111 ? 0o111 : 0;
    await fsp.chmod(p, (st.mode & 0o7777) | 0o444 | x);
  }
}

/** Remove a world directory (ignores errors). */
export async function removeWorld(dir: string): Promise<void> {
  if (!dir.startsWith('/tmp/dualcgi-')) throw new Error(`e2e: refusing to remove ${dir}`);
  await fsp.rm(dir, { recursive: true, force: true }).catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// Ports

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const addr = srv.address();
      if (addr === null || typeof addr === 'string') {
        srv.close();
        reject(new Error('e2e: could not get a free port'));
        return;
      }
      const port = addr.port;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export { sleep };

function tryConnect(opts: net.NetConnectOpts): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(opts);
    const done = (ok: boolean): void => {
      s.removeAllListeners();
      s.on('error', () => undefined);
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * Wait until something accepts connections on 127.0.0.1:port (or a Unix socket path when
 * `port` is a string). `abort` is polled: when it returns an Error, waiting stops with it.
 */
export async function waitForPort(
  port: number | string,
  timeoutMs = 5000,
  abort?: () => Error | undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const opts: net.NetConnectOpts = typeof port === 'string' ? { path: port } : { host: '127.0.0.1', port };
  for (;;) {
    const early = abort?.();
    if (early) throw early;
    if (await tryConnect(opts)) return;
    if (Date.now() > deadline) {
      throw new Error(`e2e: nothing listening on ${typeof port === 'string' ? port : '127.0.0.1:' + port} after ${timeoutMs} ms`);
    }
    await sleep(25);
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

/** True when `pid` exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

async function readPid(pidOrFile: number | string): Promise<number | undefined> {
  if (typeof pidOrFile === 'number') return pidOrFile;
  try {
    const n = Number.parseInt((await fsp.readFile(pidOrFile, 'utf8')).trim(), 10);
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * SIGTERM a process (a pid or a pid file), wait until it is gone, SIGKILL after `timeoutMs`.
 * Resolves true when it had to be killed. A missing pid file or process is not an error.
 */
export async function stopByPid(pidOrFile: number | string, timeoutMs = 5000): Promise<boolean> {
  const pid = await readPid(pidOrFile);
  if (pid === undefined || !isAlive(pid)) return false;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return false;
    await sleep(20);
  }
  signal(pid, 'SIGKILL');
  const hard = Date.now() + 2000;
  while (isAlive(pid) && Date.now() < hard) await sleep(20);
  if (isAlive(pid)) throw new Error(`e2e: pid ${pid} survived SIGKILL`);
  return true;
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  comm: string;
  cmdline: string;
  cwd: string;
}

/** Every live process visible in /proc (zombies excluded). */
export function listProcesses(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const rest = stat.slice(close + 2).split(' ');
      if (rest[0] === 'Z' || rest[0] === 'X') continue;
      let cwd = '';
      try {
        cwd = fs.readlinkSync(`/proc/${e}/cwd`);
      } catch {
        // kernel thread or gone
      }
      let cmdline = '';
      try {
        cmdline = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ').trim();
      } catch {
        // gone
      }
      out.push({ pid: Number(e), ppid: Number(rest[1]), pgid: Number(rest[2]), comm, cmdline, cwd });
    } catch {
      // raced with exit
    }
  }
  return out;
}

/**
 * Processes that belong to a test world: in process group `pgid` (when given), or whose cwd
 * or command line mentions one of `dirs`. Never includes this process.
 */
export function processesOf(pgid: number | undefined, dirs: string[]): ProcInfo[] {
  return listProcesses().filter((p) => {
    if (p.pid === process.pid) return false;
    if (pgid !== undefined && p.pgid === pgid) return true;
    return dirs.some((d) => p.cwd === d || p.cwd.startsWith(d + '/') || p.cmdline.includes(d + '/') || p.cmdline.endsWith(d));
  });
}

/** SIGKILL every process of a world (see processesOf) and wait until they are gone. */
export async function killLeftovers(pgid: number | undefined, dirs: string[], timeoutMs = 3000): Promise<ProcInfo[]> {
  const left = processesOf(pgid, dirs);
  for (const p of left) signal(p.pid, 'SIGKILL');
  const deadline = Date.now() + timeoutMs;
  while (left.some((p) => isAlive(p.pid)) && Date.now() < deadline) await sleep(20);
  return left;
}

// ---------------------------------------------------------------------------------------------
// Running servers

export interface RunningServer {
  /** TCP port on 127.0.0.1 (0 when the server listens on a Unix socket only). */
  port: number;
  /** pid of the master process (also its process group id). */
  pid: number;
  /** Main error log of the server. */
  errorLog: string;
  /** The world folder holding its config, logs, sockets. */
  dir: string;
  /** Its config file. */
  configFile: string;
  /** SIGTERM the master, wait, SIGKILL fallback, then kill anything left in its group or world. */
  stop(): Promise<void>;
  readErrorLog(): Promise<string>;
}

const running = new Set<RunningServer>();

/** Stop every server the harness started in this process that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
}

process.once('exit', () => {
  // Last resort if a test forgot to stop a server: kill the whole process group synchronously.
  for (const s of running) {
    try {
      process.kill(-s.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

export interface LaunchSpec {
  /** Name used in error messages ("apache", "nginx", ...). */
  name: string;
  bin: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** World folder of this server: leftovers whose cwd/cmdline mention it are killed on stop. */
  dir: string;
  configFile: string;
  errorLog: string;
  port: number;
  /** What to wait for: a TCP port on 127.0.0.1 or a Unix socket path. */
  readyOn: number | string;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
  /** Extra folders whose processes count as this server's (e.g. a docroot outside the world). */
  extraDirs?: string[];
}

async function readTail(file: string, max = 4000): Promise<string> {
  try {
    const s = await fsp.readFile(file, 'utf8');
    return s.length > max ? s.slice(-max) : s;
  } catch {
    return '';
  }
}

/**
 * Spawn a server in the foreground as the leader of its own process group, wait until it
 * accepts connections, and return its handle. If it exits first, reject with its output and
 * the tail of its error log.
 */
export async function launch(spec: LaunchSpec): Promise<RunningServer> {
  const child: ChildProcess = spawn(spec.bin, spec.args, {
    cwd: spec.cwd ?? spec.dir,
    env: spec.env ?? { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const collect = (b: Buffer): void => {
    if (output.length < 20000) output += b.toString('utf8');
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, sig) => {
      exited = { code, signal: sig };
      resolve();
    });
    child.once('error', (err) => {
      spawnError = err;
      exited = exited ?? { code: null, signal: null };
      resolve();
    });
  });
  const pid = child.pid;
  if (pid === undefined) {
    await exitPromise;
    throw new Error(`e2e: could not start ${spec.name} (${spec.bin}): ${spawnError?.message ?? 'no pid'}`);
  }

  const dirs = [spec.dir, ...(spec.extraDirs ?? [])];
  let stopped: Promise<void> | undefined;
  const server: RunningServer = {
    port: spec.port,
    pid,
    errorLog: spec.errorLog,
    dir: spec.dir,
    configFile: spec.configFile,
    readErrorLog: () => fsp.readFile(spec.errorLog, 'utf8').catch(() => ''),
    stop: () => {
      stopped ??= (async () => {
        if (!exited) {
          signal(pid, 'SIGTERM');
          const timeout = spec.stopTimeoutMs ?? 5000;
          const t = setTimeout(() => signal(pid, 'SIGKILL'), timeout);
          await exitPromise;
          clearTimeout(t);
        }
        // Stragglers: FastCGI apps, CGI daemons, workers whose master was killed hard.
        await killLeftovers(pid, dirs);
        running.delete(server);
      })();
      return stopped;
    },
  };
  running.add(server);

  try {
    await waitForPort(spec.readyOn, spec.startTimeoutMs ?? 8000, () => {
      if (!exited) return undefined;
      return new Error(
        `e2e: ${spec.name} exited during start (code ${exited.code}, signal ${exited.signal}), config ${spec.configFile}` +
          (spawnError ? `: ${spawnError.message}` : '') +
          `\n--- output ---\n${output.trim()}`,
      );
    });
  } catch (err) {
    await server.stop();
    const e = err as Error;
    e.message += `\n--- ${spec.errorLog} (tail) ---\n${(await readTail(spec.errorLog)).trim()}`;
    throw e;
  }
  return server;
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface HttpRequestOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer | string;
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/**
 * One HTTP/1.1 request to 127.0.0.1:port over a fresh connection (no agent). A body gets a
 * Content-Length unless the caller set Content-Length or Transfer-Encoding.
 */
export function httpRequest(port: number, urlPath: string, opts: HttpRequestOptions = {}): Promise<HttpResponse> {
  const headers: OutgoingHttpHeaders = { ...(opts.headers ?? {}) };
  const lower = new Set(Object.keys(headers).map((k) => k.toLowerCase()));
  const body = typeof opts.body === 'string' ? Buffer.from(opts.body) : opts.body;
  if (body && !lower.has('content-length') && !lower.has('transfer-encoding')) headers['Content-Length'] = body.length;
  const timeoutMs = opts.timeoutMs ?? 10000;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: urlPath, method: opts.method ?? 'GET', headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: Buffer.concat(chunks),
          });
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`e2e: ${opts.method ?? 'GET'} http://127.0.0.1:${port}${urlPath} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}

export function sha256(buf: Buffer | string): string {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

/** Parse `NAME=value` lines (the output of `env`) into a map; the last duplicate wins. */
export function parseEnvLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}
