import { dirname, resolve } from 'node:path';
import { CgiError } from '../cgi/errors';
import { paramsFromEnv, readRawEnviron } from '../cgi/params';
import { createRequestHead, type RequestHeadOptions } from '../cgi/request-head';
import { encodeErrorResponse } from '../cgi/response-head';
import { bodyPlan, CgiExchange } from '../cgi/runner';
import { guardStdout } from '../cgi/stdout-guard';
import type { FcgiRequest } from '../fastcgi/request';
import { FastCGIServer, type ListenTarget } from '../fastcgi/server';
import type { Exchange } from '../handlers/exchange';
import type { NodeListener } from '../handlers/node';
import { createExchangeHandler } from '../handlers/serve';
import { parseAddress } from '../net/address';
import { detectMode, type Detection, explainNoMode } from './detect';
import { loadEnvFile } from './env-file';
import { appLogOptions, type AppLogRoute } from '../trace/app-logger';
import { isTracing, publish } from '../trace/channel';
import { Level } from '../trace/events';
import { createTraceObserver } from '../trace/fastcgi-observer';
import { installTrace, traceProcessExit, traceProcessStart } from '../trace/install';
import { originalStderrWrite } from '../trace/stdio';
import { appFromValue, AppLoadError, type LoadedApp, loadApp } from './load-app';

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
  /** drainMs: how long a graceful shutdown waits for in-flight requests. Default 30 s. */
  drainMs?: number;
  /** scriptPath: the entry script (for detection by name). Default process.argv[1]. */
  scriptPath?: string;
  /**
   * trace: where trace events go (unix:/path.sock, file:/path.ndjson, stderr, off). Default:
   * DUALCGI_TRACE, else the file .dualcgi-trace next to the entry script, else off.
   */
  trace?: string;
  /** showSecrets: trace Authorization/Cookie values and body bytes. Default DUALCGI_SHOW_SECRETS=1. */
  showSecrets?: boolean;
  /** appLog: where req.log lines go (see trace/app-logger). Default 'auto'. */
  appLog?: AppLogRoute;
}

/** Running: what dispatch() started, for embedding and tests. */
export interface Running {
  detection: Detection;
  server?: FastCGIServer;
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
  installTrace({ trace: options.trace, scriptPath, showSecrets: options.showSecrets }, detection.mode);
  if (options.appLog) appLogOptions.route = options.appLog;
  const appName = typeof options.app === 'string' ? resolve(base, options.app) : '(app object)';
  traceProcessStart(detection.mode, detection.reason, appName, scriptPath);
  if (detection.mode === 'cgi') {
    runCgi(options, base);
    return { detection };
  }
  const server = await runFastCGI(options, base);
  return { detection, server };
}

function headOptions(options: DispatchOptions): RequestHeadOptions {
  return { stripMountPoint: options.stripMountPoint !== false, scriptFile: options.scriptPath ?? process.argv[1] };
}

function handlerFor(app: LoadedApp, options: DispatchOptions): (exchange: Exchange) => void {
  return createExchangeHandler(app, { ...headOptions(options), debug: isDebug(options) });
}

function isDebug(options: DispatchOptions): boolean {
  return options.debug ?? Boolean(process.env['DUALCGI_DEBUG']);
}

async function resolveApp(options: DispatchOptions, base: string): Promise<LoadedApp> {
  if (options.envFile) loadEnvFile(options.envFile);
  return typeof options.app === 'string' ? loadApp(options.app, base) : appFromValue(options.app);
}

/**
 * runCgi: one request from the environment and stdin, then exit. stdout is guarded first, so
 * nothing the app prints while loading can corrupt the response head.
 */
function runCgi(options: DispatchOptions, base: string): void {
  const out = guardStdout();
  const params = paramsFromEnv(process.env, readRawEnviron());
  // httpoxy: a client's "Proxy:" header arrives as HTTP_PROXY; it must never configure outbound HTTP.
  delete process.env['HTTP_PROXY'];
  let exchange: CgiExchange | null = null;
  const exit = (code: number): void => {
    const finish = (): void => {
      // Trace events of a CGI hit must leave before the process does.
      traceProcessExit('cgi', 'request done', code).then(() => process.exit(code), () => process.exit(code));
    };
    if (!exchange || exchange.bodyDone) finish();
    else {
      exchange.whenBodyDone(finish);
      setTimeout(finish, 5000).unref(); // a web server that never closes stdin must not keep us alive
    }
  };
  const fail = (status: number, err: Error): void => {
    originalStderrWrite(`dualcgi: ${err.stack ?? err.message}\n`);
    traceError(err, status === 500 ? 'load' : 'request');
    const text = isDebug(options) ? `${status} ${err.message}` : `${status} ${status === 500 ? 'Internal Server Error' : 'Bad Request'}`;
    out.write(encodeErrorResponse(status, text), () => exit(1));
  };
  let contentLength;
  try {
    contentLength = createRequestHead(params, headOptions(options)).contentLength;
  } catch (err) {
    fail(err instanceof CgiError ? err.status : 500, err as Error);
    return;
  }
  resolveApp(options, base).then((app) => {
    exchange = new CgiExchange(params, bodyPlan(params, contentLength), out, (appStatus) => exit(appStatus === 0 ? 0 : 1));
    handlerFor(app, options)(exchange);
  }, (err: Error) => fail(500, err));
}

/** runFastCGI: serve until SIGTERM/SIGINT (graceful: in-flight requests finish), then exit 0. */
async function runFastCGI(options: DispatchOptions, base: string): Promise<FastCGIServer> {
  let app: LoadedApp;
  try {
    app = await resolveApp(options, base);
  } catch (err) {
    // A FastCGI process that cannot load its app exits; the web server reports the failure
    // (mod_fcgid: 500 "End of script output") and this line goes to its error log.
    const e = err as Error;
    originalStderrWrite(`dualcgi: ${e instanceof AppLoadError ? `${e.code}: ` : ''}${e.message}\n`);
    if (e.cause instanceof Error && e.cause.stack) originalStderrWrite(`${e.cause.stack}\n`);
    traceError(e, 'load');
    await traceProcessExit('fcgi', `app failed to load: ${e.message}`, 1);
    process.exit(1);
  }
  const handle = handlerFor(app, options);
  const server = new FastCGIServer({
    maxConns: options.maxConns,
    maxReqs: options.maxReqs,
    multiplex: options.multiplex,
    maxParamsBytes: options.maxParamsBytes,
    socketMode: options.socketMode,
    observer: createTraceObserver('fcgi'),
    onRequest: (request: FcgiRequest) => handle(request),
  });
  const target: ListenTarget = options.bind ? parseAddress(options.bind) : { kind: 'fd', fd: 0 };
  await server.listen(target);
  installShutdown(server, options.drainMs ?? 30_000);
  return server;
}

/** installShutdown: first SIGTERM/SIGINT drains and exits 0; a second one exits at once. */
function installShutdown(server: FastCGIServer, drainMs: number): void {
  let stopping = false;
  const onSignal = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    const exit = (code: number): void => {
      traceProcessExit('fcgi', 'signal: drained and stopped', code).then(() => process.exit(code), () => process.exit(code));
    };
    server.close(drainMs).then(() => exit(0), () => exit(1));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** traceError: a failure outside any request (app load, bad CGI environment). */
function traceError(err: Error, phase: string): void {
  if (!isTracing()) return;
  const code = (err as { code?: unknown }).code;
  publish({ ev: 'error', level: Level.error, phase, msg: err.message, stack: err.stack, ...(typeof code === 'string' ? { code } : {}) });
}
