import { dirname, resolve } from 'node:path';
import type { CgiError } from '../cgi/errors';
import { paramsFromEnv, readRawEnviron } from '../cgi/params';
import { createRequestHead } from '../cgi/request-head';
import { bodyPlan, CgiExchange } from '../cgi/runner';
import { guardStdout } from '../cgi/stdout-guard';
import type { FastCGIServer, ListenTarget } from '../fastcgi/server';
import type { NodeListener } from '../handlers/node';
import { detectMode, type Detection, explainNoMode } from './detect';
import type { AppLogRoute } from '../trace/app-logger';
import { installTrace, traceIdle, traceProcessExit, traceProcessStart } from '../trace/install';
import { originalStderrWrite, pinStdio, useDirectWrites } from '../trace/stdio';
import { handlerFor, headOptions, isDebug, resolveApp, traceError } from './app-server';

// Speed: a CGI hit is a fresh process per request, and its cost is mostly module loading (bench/
// cgi suite, "dispatch.cgi (plain app)" vs "plain node CGI"). So this file imports at the top only
// what a CGI hit runs; FastCGI-only modules (supervisor, control, faults, worker messages, listen
// addresses, app-logger options) and failure-only ones (error classes, error responses) are
// required where they are used. test/launch/cgi-loads.test.ts checks what a hit loads.

/** setAppLogRoute: options.appLog, set on the logger module only when given (it loads on first req.log). */
function setAppLogRoute(route: AppLogRoute | undefined): void {
  if (route) (require('../trace/app-logger') as typeof import('../trace/app-logger')).appLogOptions.route = route;
}

/** DispatchOptions: what an entry script passes to dispatch(). */
export interface DispatchOptions {
  /** app: a module path (relative to the entry script) or the app itself. */
  app: string | NodeListener | object;
  /** envFile: KEY=value lines added to process.env (existing variables win). */
  envFile?: string;
  /** mode: force 'cgi' or 'fcgi'; default 'auto' (DUALCGI_MODE, then detection). */
  mode?: 'auto' | 'cgi' | 'fcgi';
  /** bind: serve FastCGI on this address instead of an inherited socket (dualcgi serve). */
  bind?: string;
  /** debug: error pages show stacks. Default: DUALCGI_DEBUG is set. */
  debug?: boolean;
  /** stripMountPoint: false routes on the full REQUEST_URI path. Default true. */
  stripMountPoint?: boolean;
  maxConns?: number;
  maxReqs?: number;
  multiplex?: boolean;
  maxParamsBytes?: number;
  /** socketMode: permissions for a Unix socket created by `bind` (e.g. 0o666 for nginx's www-data). */
  socketMode?: number;
  /** timeoutMs: a handler that has not finished its response by then gets a 504. Default: none. */
  timeoutMs?: number;
  /** socketOwner: uid/gid for a Unix socket created by `bind` (serve --socket-owner www-data:www-data). */
  socketOwner?: { uid?: number; gid?: number };
  /** drainMs: how long a graceful stop (or a replaced worker) waits for in-flight requests. Default 30 s. */
  drainMs?: number;
  /**
   * workers: FastCGI processes serving the one listening socket (node:cluster). Default
   * DUALCGI_WORKERS, else 1: the process serves by itself until its first reload.
   */
  workers?: number;
  /** maxRequests: replace a serving process gracefully after N requests. Default DUALCGI_MAX_REQUESTS, else never. */
  maxRequests?: number;
  /**
   * restartFile: touching this file reloads the app gracefully at the next request (relative to
   * the entry script). Default DUALCGI_RESTART_FILE.
   */
  restartFile?: string;
  /** watch: reload when files under the app's folder (or these folders) change. Default DUALCGI_WATCH=1. */
  watch?: boolean | string[];
  /** register: a status file for `dualcgi ps` / `dualcgi reload`. Default true (DUALCGI_RUN_DIR=off disables). */
  register?: boolean;
  /** scriptPath: the entry script (for detection by name). Default process.argv[1]. */
  scriptPath?: string;
  /**
   * trace: where trace events go (unix:/path.sock, file:/path.ndjson, stderr, off). Default:
   * DUALCGI_TRACE, else the file .dualcgi-trace next to the entry script, else off.
   */
  trace?: string;
  /**
   * capture: keep each FastCGI connection's raw bytes, both directions, in this folder (0700,
   * files 0600: they hold cookies and bodies) for `dualcgi replay`. Default DUALCGI_CAPTURE_DIR.
   */
  capture?: string;
  /** showSecrets: trace Authorization/Cookie values and body bytes. Default DUALCGI_SHOW_SECRETS=1. */
  showSecrets?: boolean;
  /** appLog: where req.log lines go (see trace/app-logger). Default 'auto'. */
  appLog?: AppLogRoute;
}

/** Running: what dispatch() started, for embedding and tests. */
export interface Running {
  detection: Detection;
  /** server: the listening FastCGI server (the owner), or a worker's server (not listening). */
  server?: FastCGIServer;
  /** worker: this process is a worker forked by an owner (its server gets connections over IPC). */
  worker?: boolean;
}

/**
 * dispatch: detect how this process was launched and serve the app that way: one CGI request and
 * exit, or a FastCGI server on fd 0 (or `bind`). Failures become responses or one clear line on
 * stderr, never a hang.
 */
export async function dispatch(options: DispatchOptions): Promise<Running> {
  try {
    return await start(options);
  } catch (err) {
    // The entry script has no catch of its own: one clear line for the web server's error log.
    const e = err as Error & { code?: unknown };
    originalStderrWrite(`dualcgi: ${typeof e.code === 'string' ? `${e.code}: ` : ''}${e.message}\n`);
    process.exit(1);
  }
}

async function start(options: DispatchOptions): Promise<Running> {
  const scriptPath = options.scriptPath ?? process.argv[1];
  if (process.env['DUALCGI_DOCTOR'] === 'load') {
    const { runLoadProbe } = require('../deploy/doctor/probe') as typeof import('../deploy/doctor/probe');
    return runLoadProbe(options, scriptPath);
  }
  // launch/messages is loaded only when WORKER_ENV.worker ('DUALCGI_WORKER') is set, not on a CGI hit.
  if (process.env['DUALCGI_WORKER'] === '1' && (require('./messages') as typeof import('./messages')).isWorkerProcess()) {
    return startWorker(options, scriptPath);
  }
  const detection = detectMode({
    explicit: options.mode !== undefined && options.mode !== 'auto' ? options.mode : options.bind ? 'fcgi' : undefined,
    env: process.env,
    scriptPath,
  });
  if (options.bind !== undefined && (options.mode === undefined || options.mode === 'auto')) {
    detection.reason = `--bind ${options.bind}`;
  }
  if (detection.mode === 'none') {
    originalStderrWrite(explainNoMode(detection, scriptPath));
    process.exitCode = detection.fd0.kind === 'tty' ? 2 : 1;
    return { detection };
  }
  const base = scriptPath ? dirname(scriptPath) : process.cwd();
  // CGI: stdout is the response; guard it before anything (the console capture included) can write.
  // A server takes the streams' writers now, before an app could patch them.
  if (detection.mode === 'cgi') guardStdout();
  else pinStdio();
  installTrace({ trace: options.trace, scriptPath, showSecrets: options.showSecrets }, detection.mode);
  setAppLogRoute(options.appLog);
  const appName = typeof options.app === 'string' ? resolve(base, options.app) : '(app object)';
  traceProcessStart(detection.mode, detection.reason, appName, scriptPath);
  if (detection.mode === 'cgi') {
    runCgi(options, base);
    return { detection };
  }
  (require('./faults') as typeof import('./faults')).installFaultPolicy();
  const server = await runFastCGI(options, base, detection, appName, scriptPath);
  return { detection, server };
}

/** startWorker: a worker forked by an owner: FastCGI by definition, connections come over IPC. */
async function startWorker(options: DispatchOptions, scriptPath: string | undefined): Promise<Running> {
  const base = scriptPath ? dirname(scriptPath) : process.cwd();
  pinStdio();
  installTrace({ trace: options.trace, scriptPath, showSecrets: options.showSecrets }, 'fcgi');
  setAppLogRoute(options.appLog);
  const appName = typeof options.app === 'string' ? resolve(base, options.app) : '(app object)';
  (require('./faults') as typeof import('./faults')).installFaultPolicy();
  const { runWorker } = require('./worker') as typeof import('./worker');
  const server = await runWorker({ options, base, appName, scriptPath });
  return { detection: { mode: 'fcgi', reason: 'worker', fd0: { kind: 'none' } }, worker: true, ...(server ? { server } : {}) };
}

/**
 * runCgi: one request from the environment and stdin, then exit. stdout is guarded first, so
 * nothing the app prints while loading can corrupt the response head.
 */
function runCgi(options: DispatchOptions, base: string): void {
  const out = guardStdout();
  const params = paramsFromEnv(process.env, readRawEnviron);
  // httpoxy: a client's "Proxy:" header arrives as HTTP_PROXY; it must never configure outbound HTTP.
  delete process.env['HTTP_PROXY'];
  let exchange: CgiExchange | null = null;
  const exit = (code: number): void => {
    const finish = (): void => {
      // Trace events of a CGI hit must leave before the process does. With nothing to send the
      // hit exits at once (the response went out with writeSync, trace/stdio).
      if (traceIdle()) process.exit(code);
      traceProcessExit('cgi', 'request done', code).then(() => process.exit(code), () => process.exit(code));
    };
    // What the app set off as it answered runs first, as it would in a server: its pending
    // nextTicks (the exit was called from one), then, only if it left one, a turn for its
    // setImmediate: Express logs a handler's error from one made before it writes the 500 page
    // (finalhandler), and a hit that exited at once lost the stack (not in the trace, not in the
    // web server's error log). Only then, because an event-loop turn cost a hello hit ~4 M of
    // ~140 M instructions (callgrind, whole process, six hits each way: medians 144.7 with a
    // turn, 140.6 with a nextTick, 139.5 at once).
    const afterAnswer = (): void => {
      if (process.getActiveResourcesInfo().includes('Immediate')) setImmediate(finish);
      else finish();
    };
    if (!exchange || exchange.bodyDone) process.nextTick(afterAnswer);
    else {
      exchange.whenBodyDone(finish);
      setTimeout(finish, 5000).unref(); // a web server that never closes stdin must not keep us alive
    }
  };
  const fail = (status: number, err: Error): void => {
    const code = (err as { code?: unknown }).code;
    originalStderrWrite(`dualcgi: ${typeof code === 'string' ? `${code}: ` : ''}${err.stack ?? err.message}\n`);
    traceError(err, status === 500 ? 'load' : 'request');
    const text = isDebug(options) ? `${status} ${err.message}` : `${status} ${status === 500 ? 'Internal Server Error' : 'Bad Request'}`;
    const { encodeErrorResponse } = require('../cgi/response-head') as typeof import('../cgi/response-head');
    out.write(encodeErrorResponse(status, text), () => exit(1));
  };
  let contentLength;
  try {
    contentLength = createRequestHead(params, headOptions(options)).contentLength;
  } catch (err) {
    const { CgiError: BadRequest } = require('../cgi/errors') as { CgiError: typeof CgiError };
    fail(err instanceof BadRequest ? err.status : 500, err as Error);
    return;
  }
  const plan = bodyPlan(params, contentLength);
  // A hit without a body writes fds 1 and 2 directly (trace/stdio: no socket object per pipe). With
  // a body the streams stay: Apache's mod_cgi writes the whole body before it reads the response,
  // so a blocking write of a response larger than the pipe, made before the app read the body,
  // would wait on Apache while Apache waits on us; the streams queue it and stdin is drained.
  if (plan === null) useDirectWrites();
  // An exception no handler caught (a throw from the app's timer, a stray rejection) killed the hit
  // with Node's stack and nothing on stdout: no response, no trace event, a request that never
  // ended on the dashboard. Now it ends the hit as a failed request; a second one exits at once.
  let crashed = false;
  process.on('uncaughtException', (thrown: unknown) => {
    const err = thrown instanceof Error ? thrown : new Error(`non-error thrown: ${String(thrown)}`);
    if (crashed) process.exit(1);
    crashed = true;
    if (exchange === null) fail(500, err);
    else if (!exchange.ended) endFailed(exchange, err, 'uncaught', 'uncaught exception');
    else {
      originalStderrWrite(`dualcgi: uncaught exception after the response: ${err.stack ?? err.message}\n`);
      traceError(err, 'uncaught');
    }
  });
  resolveApp(options, base).then((app) => {
    const hit = new CgiExchange(params, plan, out, (appStatus) => exit(appStatus === 0 ? 0 : 1));
    exchange = hit;
    // The event loop emptied and the app never ended its response (a forgotten res.end(), a
    // promise nobody resolves): the hit exited 0 with nothing on stdout, the web server's "End of
    // script output before headers" and no word of why.
    process.once('beforeExit', () => {
      if (hit.ended) return;
      endFailed(hit, Object.assign(new Error('the app did not answer and left nothing to wait for (a missing res.end()?)'),
        { code: 'DUALCGI_ERR_NO_RESPONSE' }), 'handler', 'DUALCGI_ERR_NO_RESPONSE');
    });
    handlerFor(app, options)(hit);
  }, (err: Error) => fail(500, err));
}

/**
 * endFailed: a CGI hit's request fails outside the adapters' reach: the error is said (stderr, the
 * web server's error log) and traced, a 500 goes out if nothing did, and the hit ends failed (exit 1).
 */
function endFailed(exchange: CgiExchange, err: Error, phase: string, label: string): void {
  originalStderrWrite(`dualcgi: ${label}: ${phase === 'uncaught' ? err.stack ?? err.message : err.message}\n`);
  traceError(err, phase);
  const status = exchange.bytesOut === 0 ? 500 : exchange.headStatus ?? 500;
  if (exchange.bytesOut === 0) {
    const { encodeErrorResponse } = require('../cgi/response-head') as typeof import('../cgi/response-head');
    exchange.write(encodeErrorResponse(500, '500 Internal Server Error'), () => {});
  }
  // Tracing's request.end (handlers/serve): the adapter that would have sent it never finished.
  exchange.forcedEnd(status);
  exchange.end(undefined, 1);
}

/**
 * runFastCGI: serve until SIGTERM/SIGINT (graceful: in-flight requests finish), then exit 0;
 * SIGHUP/SIGUSR1, the restart file, --watch and --max-requests reload without dropping a request
 * (launch/supervisor).
 */
async function runFastCGI(options: DispatchOptions, base: string, detection: Detection, appName: string,
  scriptPath: string | undefined): Promise<FastCGIServer> {
  const control = (require('./control') as typeof import('./control')).processControl(options, base);
  const { parseAddress } = require('../net/address') as typeof import('../net/address');
  const target: ListenTarget = options.bind ? parseAddress(options.bind) : { kind: 'fd', fd: 0 };
  const fd0 = detection.fd0;
  const { unixSocketPath } = require('./proc') as typeof import('./proc');
  const name = fd0.kind === 'listening' && fd0.family === 'unix' ? unixSocketPath(0) : null;
  const listenLabel = name ? `fd 0 (unix:${name})` : fd0.kind === 'listening' ? `fd 0 (${fd0.family} socket)` : 'fd 0';
  const { Supervisor } = require('./supervisor') as typeof import('./supervisor');
  const sup = await Supervisor.start({ options, base, control, target, listenLabel, appName, scriptPath });
  return sup.front;
}
