import type { RequestHeadOptions } from '../cgi/request-head';
import type { FcgiRequest } from '../fastcgi/request';
import type { FastCGIServer } from '../fastcgi/server';
import type { Connection } from '../fastcgi/connection';
import type { Exchange } from '../handlers/exchange';
import { createExchangeHandler } from '../handlers/serve';
import { isTracing, publish } from '../trace/channel';
import { Level } from '../trace/events';
import { traceProcessExit } from '../trace/install';
import { originalStderrWrite } from '../trace/stdio';
import type { DispatchOptions } from './dispatch';
import { appFromValue, AppLoadError, type LoadedApp, loadApp } from './load-app';

/** headOptions: the request mapping options both modes share. */
export function headOptions(options: DispatchOptions): RequestHeadOptions {
  return { stripMountPoint: options.stripMountPoint !== false, scriptFile: options.scriptPath ?? process.argv[1] };
}

/** isDebug: error pages show stacks. */
export function isDebug(options: DispatchOptions): boolean {
  return options.debug ?? Boolean(process.env['DUALCGI_DEBUG']);
}

/** handlerFor: the shared middle (params -> request head -> app -> response) for one loaded app. */
export function handlerFor(app: LoadedApp, options: DispatchOptions): (exchange: Exchange) => void {
  return createExchangeHandler(app, {
    ...headOptions(options),
    debug: isDebug(options),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
}

/** resolveApp: the env file first (the app may read it while loading), then the app itself. */
export async function resolveApp(options: DispatchOptions, base: string): Promise<LoadedApp> {
  // env-file is required only when used: one module less on a CGI hit (bench/ cgi suite).
  if (options.envFile) (require('./env-file') as typeof import('./env-file')).loadEnvFile(options.envFile);
  return unlessStalled(typeof options.app === 'string' ? loadApp(options.app, base) : appFromValue(options.app));
}

/**
 * unlessStalled: `loading`, or an APP_ERR_LOAD if the event loop empties while it is pending: a
 * factory whose promise nobody settles and nothing keeps alive. The process then exited 0 with
 * no word (a CGI hit: no output; FastCGI: exit before listening, mod_fcgid starting it again).
 */
function unlessStalled(loading: Promise<LoadedApp>): Promise<LoadedApp> {
  return new Promise((resolve, reject) => {
    const onBeforeExit = (): void => {
      reject(new AppLoadError('APP_ERR_LOAD',
        'the app\'s factory never settled: its promise is pending and nothing is left for it to wait for'));
    };
    process.once('beforeExit', onBeforeExit);
    loading.then((app) => {
      process.off('beforeExit', onBeforeExit);
      resolve(app);
    }, (err: unknown) => {
      process.off('beforeExit', onBeforeExit);
      reject(err);
    });
  });
}

/** traceError: a failure outside any request (app load, bad CGI environment). */
export function traceError(err: Error, phase: string): void {
  if (!isTracing()) return;
  const code = (err as { code?: unknown }).code;
  publish({ ev: 'error', level: Level.error, phase, msg: err.message, stack: err.stack, ...(typeof code === 'string' ? { code } : {}) });
}

/** describeLoadError: the one line (and the cause's stack) a load failure leaves in the error log. */
export function describeLoadError(err: Error): string {
  let text = `dualcgi: ${err instanceof AppLoadError ? `${err.code}: ` : ''}${err.message}\n`;
  if (err.cause instanceof Error && err.cause.stack) text += `${err.cause.stack}\n`;
  return text;
}

/**
 * exitOnLoadError: a FastCGI process that cannot load its app exits; the web server reports the
 * failure (mod_fcgid: 500 "End of script output") and this line goes to its error log.
 */
export async function exitOnLoadError(err: Error): Promise<never> {
  originalStderrWrite(describeLoadError(err));
  traceError(err, 'load');
  await traceProcessExit('fcgi', `app failed to load: ${err.message}`, 1);
  process.exit(1);
}

/** AppServerHooks: what the process around the server wants to see of each request. */
export interface AppServerHooks {
  /** beforeRequest: runs as each request reaches the app (restart file, request counting). */
  beforeRequest?(): void;
}

/**
 * createAppServer: load the app and put it behind a FastCGIServer that is not listening yet: the
 * caller listens (the process owning the socket) or adopts handed-over connections (a worker).
 */
export async function createAppServer(options: DispatchOptions, base: string, hooks: AppServerHooks = {}): Promise<FastCGIServer> {
  const app = await resolveApp(options, base);
  const handle = handlerFor(app, options);
  const before = hooks.beforeRequest;
  // Loaded here, not at the top: a CGI hit shares this module but never needs a FastCGI server.
  const { FastCGIServer: Server } = require('../fastcgi/server') as typeof import('../fastcgi/server');
  const { createTraceObserver } = require('../trace/fastcgi-observer') as typeof import('../trace/fastcgi-observer');
  const captureDir = options.capture ?? process.env['DUALCGI_CAPTURE_DIR'];
  let onConnection: ((conn: Connection) => void) | undefined;
  if (captureDir !== undefined && captureDir !== '') {
    const { attachCapture, prepareCaptureDir } = require('../capture/writer') as typeof import('../capture/writer');
    prepareCaptureDir(captureDir);
    onConnection = (conn) => {
      attachCapture(conn.socket, captureDir, { mode: 'fcgi', conn: conn.id });
    };
  }
  return new Server({
    onConnection,
    maxConns: options.maxConns,
    maxReqs: options.maxReqs,
    multiplex: options.multiplex,
    maxParamsBytes: options.maxParamsBytes,
    socketMode: options.socketMode,
    socketOwner: options.socketOwner,
    observer: createTraceObserver('fcgi'),
    onRequest: before
      ? (request: FcgiRequest) => {
        before();
        handle(request);
      }
      : (request: FcgiRequest) => handle(request),
  });
}
