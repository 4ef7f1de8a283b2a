import { type ChildProcess, spawn } from 'node:child_process';
import { constants as fsConstants, accessSync, linkSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import type { Address } from '../net/address';
import { ClientError, errnoCode } from './errors';

/** Output a launched process writes is kept up to this many bytes per stream (it is for diagnostics). */
const MAX_CAPTURE = 4 * 1024 * 1024;

/** LaunchOptions: what a web server adds when it starts a FastCGI script. */
export interface LaunchOptions {
  /** env: variables besides PATH (mod_fcgid passes PATH only, plus `FcgidInitialEnv`). */
  env?: Record<string, string>;
  /** cwd: default the script's folder. */
  cwd?: string;
}

/** LaunchedFastCGI: a FastCGI script serving on a listening socket it got as fd 0. */
export interface LaunchedFastCGI {
  address: Address;
  child: ChildProcess;
  /** output: what the process wrote to stdout and stderr so far (bounded). */
  output(): { stdout: Buffer; stderr: Buffer };
  /** exited: settles with the exit code or signal once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** stop: SIGTERM, then SIGKILL after `graceMs`; removes the socket folder. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * launchFastCGIScript: start a script exactly as mod_fcgid, lighttpd `bin-path` and spawn-fcgi do: a
 * listening Unix socket on its fd 0, PATH as its only environment, cwd = its folder.
 *
 * The parent must not keep listening: its event loop would accept connections meant for the child.
 * So it closes its server in the same tick as the spawn, before the loop can run. Closing a Node
 * server bound to a path unlinks the path (measured), so a hard link made first keeps the socket,
 * which the child still listens on, reachable by name.
 */
export async function launchFastCGIScript(scriptPath: string, options: LaunchOptions = {}): Promise<LaunchedFastCGI> {
  const script = resolve(scriptPath);
  assertExecutable(script);
  const dir = mkdtempSync(join(tmpdir(), 'dualcgi-launch-'));
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });
  let child: ChildProcess;
  try {
    child = await spawnOnSocket(script, options, join(dir, 'listen.sock'), join(dir, 'fcgi.sock'));
  } catch (err) {
    removeDir();
    throw err instanceof ClientError ? err : new ClientError('CLIENT_ERR_LAUNCH', `cannot set up a socket for ${script}: ${(err as Error).message}`, err);
  }
  const stdout = capture(child.stdout);
  const stderr = capture(child.stderr);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('close', (code, signal) => done({ code, signal }));
  });
  try {
    await spawned(child, script);
  } catch (err) {
    removeDir();
    throw err;
  }
  // A FastCGI process stops gracefully on SIGTERM (its connection from here is gone by then).
  const untrack = track(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    removeDir();
  });
  return {
    address: { kind: 'unix', path: join(dir, 'fcgi.sock') },
    child,
    output: () => ({ stdout: stdout(), stderr: stderr() }),
    exited,
    stop: async (graceMs = 2000) => {
      untrack();
      await stopChild(child, exited, graceMs);
      removeDir();
    },
  };
}

/** EXIT_SIGNALS: what ends a CLI run from outside: Ctrl-C, timeout(1), kill, a closed terminal. */
const EXIT_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const live = new Set<() => void>();

/**
 * track: while a launched script runs, a signal that ends this process (`dualcgi request
 * ./dispatch.fcgi /hang`, then Ctrl-C or `timeout 5 dualcgi request ...`) first stops it and removes
 * its socket folder, then ends this process as the signal would have; so does process.exit. Without
 * this the script outlived us, listening in a folder nobody knew of. A command with its own handler
 * for the signal (dev) stops its scripts itself. Returns the function that stops tracking.
 */
function track(stop: () => void): () => void {
  if (live.size === 0) {
    // First in line, so that it sees whether a command's own handler is there to run after it.
    for (const signal of EXIT_SIGNALS) process.prependListener(signal, onExitSignal);
    process.on('exit', stopAll);
  }
  live.add(stop);
  return () => {
    if (!live.delete(stop) || live.size > 0) return;
    for (const signal of EXIT_SIGNALS) process.off(signal, onExitSignal);
    process.off('exit', stopAll);
  };
}

function stopAll(): void {
  for (const stop of live) stop();
  live.clear();
}

function onExitSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  stopAll();
  for (const s of EXIT_SIGNALS) process.off(s, onExitSignal);
  process.off('exit', stopAll);
  process.kill(process.pid, signal);
}

/** spawnOnSocket: listen on `listenPath`, keep `socketPath` as a second name, spawn with it as fd 0. */
async function spawnOnSocket(script: string, options: LaunchOptions, listenPath: string, socketPath: string): Promise<ChildProcess> {
  const server = await listenUnix(listenPath);
  try {
    linkSync(listenPath, socketPath);
    return spawn(script, [], {
      cwd: options.cwd ?? dirname(script),
      env: { PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin', ...options.env },
      stdio: [serverFd(server), 'pipe', 'pipe'],
    });
  } finally {
    server.close(); // same tick as spawn(): the event loop never gets to accept on it
  }
}

function listenUnix(path: string): Promise<Server> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(path, () => done(server));
  });
}

/**
 * serverFd: the listening socket's file descriptor. Node has no public accessor; `_handle.fd` is
 * what cluster and child_process use internally for the same hand-over.
 */
function serverFd(server: Server): number {
  const fd = (server as unknown as { _handle: { fd?: unknown } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new ClientError('CLIENT_ERR_LAUNCH', 'cannot get the listening socket\'s file descriptor from Node');
  }
  return fd;
}

/** stopChild: SIGTERM (a graceful FastCGI shutdown), SIGKILL if it is still there after `graceMs`. */
async function stopChild(child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** CgiRunOptions: one CGI hit. */
export interface CgiRunOptions {
  /** env: the CGI meta-variables (buildCgiParams); PATH is added from this process unless given. */
  env: Iterable<readonly [string, string]>;
  /** stdin: the request body; stdin is ended after it (EOF ends the body, RFC 3875 4.2). */
  stdin?: Buffer | Readable;
  /** cwd: default the script's folder. */
  cwd?: string;
  /** timeoutMs: SIGKILL the script after this long (Apache's `Timeout`); default none. */
  timeoutMs?: number;
  /** onStderr: each chunk of the script's stderr as it comes (it is collected too). */
  onStderr?(chunk: Buffer): void;
}

/** CgiRunResult: what the script wrote and how it ended. */
export interface CgiRunResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** timedOut: the script was killed because it ran past `timeoutMs`. */
  timedOut: boolean;
}

/**
 * runCgiScript: run a CGI script as Apache mod_cgi does: the params as its environment (nothing else
 * but PATH), the body on stdin, argv per RFC 3875 4.4, cwd = its folder. Params are latin-1 strings of
 * bytes; the environment is handed over as UTF-8 (bytes that are not UTF-8 cannot cross spawn()).
 */
export async function runCgiScript(scriptPath: string, options: CgiRunOptions): Promise<CgiRunResult> {
  const script = resolve(scriptPath);
  assertExecutable(script);
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin' };
  for (const [name, value] of options.env) env[name] = Buffer.from(value, 'latin1').toString('utf8');
  const child = spawn(script, cgiArgv(env['QUERY_STRING'] ?? ''), {
    cwd: options.cwd ?? dirname(script),
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stdout = capture(child.stdout, Infinity);
  const stderr = capture(child.stderr);
  if (options.onStderr) child.stderr.on('data', options.onStderr);
  let timedOut = false;
  const timer = options.timeoutMs === undefined ? null : setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs);
  const closed = new Promise<CgiRunResult>((done) => {
    child.once('close', (exitCode, signal) => {
      if (timer) clearTimeout(timer);
      done({ stdout: stdout(), stderr: stderr(), exitCode, signal, timedOut });
    });
  });
  try {
    await spawned(child, script);
  } catch (err) {
    if (timer) clearTimeout(timer);
    throw err;
  }
  const untrack = track(() => { child.kill('SIGKILL'); });
  child.once('close', untrack);
  // A script that exits without reading its body makes our writes fail with EPIPE; that is its choice.
  child.stdin.on('error', () => {});
  const body = options.stdin;
  if (body === undefined || Buffer.isBuffer(body)) child.stdin.end(body);
  else body.pipe(child.stdin);
  return closed;
}

/**
 * cgiArgv: RFC 3875 4.4: a query string without an unencoded '=' is a search string; its '+'-separated
 * words, each percent-decoded, become the script's arguments (Apache: `?isindex` -> ["isindex"]).
 */
export function cgiArgv(queryString: string): string[] {
  if (queryString === '' || queryString.includes('=')) return [];
  return queryString.split('+').map((word) => {
    try {
      return decodeURIComponent(word);
    } catch {
      return word; // a malformed escape: pass the word as it came
    }
  });
}

function assertExecutable(script: string): void {
  try {
    accessSync(script, fsConstants.X_OK);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      throw new ClientError('CLIENT_ERR_SPAWN', `no such script: ${script}`, err);
    }
    throw new ClientError('CLIENT_ERR_NOT_EXECUTABLE', `script is not executable: chmod 0755 ${script}`, err);
  }
}

/** spawned: resolves once the process runs; a missing interpreter or exec failure becomes CLIENT_ERR_SPAWN. */
function spawned(child: ChildProcess, script: string): Promise<void> {
  return new Promise((done, fail) => {
    const onError = (err: Error): void => {
      const code = errnoCode(err);
      const why = code === 'ENOENT'
        ? 'its interpreter (the #! line) was not found'
        : code === 'EACCES' ? 'permission denied (chmod 0755 it and check its folders)' : err.message;
      fail(new ClientError(code === 'EACCES' ? 'CLIENT_ERR_NOT_EXECUTABLE' : 'CLIENT_ERR_SPAWN', `cannot run ${script}: ${why}`, err));
    };
    child.once('error', onError);
    child.once('spawn', () => {
      child.off('error', onError);
      done();
    });
  });
}

/** capture: collect a stream's bytes up to `limit`; returns a function giving what arrived so far. */
function capture(stream: Readable | null, limit = MAX_CAPTURE): () => Buffer {
  const chunks: Buffer[] = [];
  let size = 0;
  stream?.on('data', (chunk: Buffer) => {
    if (size >= limit) return;
    chunks.push(size + chunk.length > limit ? chunk.subarray(0, limit - size) : chunk);
    size += chunk.length;
  });
  return () => Buffer.concat(chunks);
}
