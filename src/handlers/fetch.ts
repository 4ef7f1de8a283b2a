import type { Logger } from 'pino';
import type { RequestHead } from '../cgi/request-head';
import { encodeErrorResponse } from '../cgi/response-head';
import type { FetchApp } from '../launch/load-app';
import { releaseLogger, requestLogger } from '../trace/app-logger';
import { type BodySink, endFailed, type Exchange } from './exchange';
import { encodeFetchHead, isResponseLike, type ResponseLike, streamResponse, type StreamState, writeChunk } from './fetch-response';
import type { RequestInfo } from './node';
import { dataSourceOf } from './roles';
import { createWebSinkStream, type WebSinkStream } from './sink-streams';

/**
 * FetchRequestInfo: `env.dualcgi`, what `req.dualcgi` is for Node apps: the mode, the role, the
 * mount point (links are mountPoint + route), every CGI param, the URL the browser asked for, and
 * for a Filter the filtered file's bytes.
 */
export interface FetchRequestInfo extends RequestInfo {
  /** originalUrl: REQUEST_URI, mount point included (`request.url` is built from the route). */
  originalUrl: string;
  /** data: FCGI_DATA of a Filter request; undefined for other roles. */
  data?: ReadableStream<Uint8Array>;
}

/**
 * FetchEnv: the second argument of `fetch(request, env)`, the place WinterCG runtimes put
 * per-request bindings (Hono: `c.env`). `log` is the per-request pino logger (`req.log` of Node
 * apps), made on first use; its lines reach the dashboard under this request.
 */
export interface FetchEnv {
  dualcgi: FetchRequestInfo;
  readonly log: Logger;
}

/** FetchServeOptions: how failures are shown and reported, as for Node apps. */
export interface FetchServeOptions {
  /** debug: a failing app's 500 page shows the stack (never in production). */
  debug?: boolean;
  onError?: (err: Error, phase: 'request' | 'handler' | 'response') => void;
  /** onFinish: the response is complete (before the transport is told: a CGI process exits then). */
  onFinish?: (status: number, cgiHead: string) => void;
  /**
   * timeoutMs: an app that has not finished its response by then gets a 504 (or, if its head is
   * out, its response ends as failed), and request.signal aborts. Default: none (as for Node apps).
   */
  timeoutMs?: number;
}

/**
 * RunState: one response's progress, shared by respond() and the timeout: streamResponse's state
 * (`over` once either has ended the request, the other then leaves it alone; `cancel` stops
 * reading the Response body), and the status and head a failed end reports.
 */
interface RunState extends StreamState {
  over: boolean;
  status: number;
  cgiHead: string;
}

/** BODYLESS: methods a WHATWG Request may not carry a body with. */
const BODYLESS = new Set(['GET', 'HEAD']);

/** requestOrigin: scheme from HTTPS/REQUEST_SCHEME, host from HTTP_HOST, else SERVER_NAME[:SERVER_PORT]. */
export function requestOrigin(head: RequestHead, params: Exchange['params']): string {
  const scheme = head.https ? 'https' : 'http';
  let host = params.get('HTTP_HOST');
  if (!host) {
    const name = params.get('SERVER_NAME') || head.localAddress || 'localhost';
    const port = params.get('SERVER_PORT');
    const fallback = head.https ? '443' : '80';
    host = (name.includes(':') && !name.startsWith('[') ? `[${name}]` : name) + (port && port !== fallback ? `:${port}` : '');
  }
  return `${scheme}://${host}`;
}

/** hasBody: a body follows (a length above 0, or a chunked upload of unknown length). */
function hasBody(head: RequestHead): boolean {
  if (head.contentLength !== undefined) return head.contentLength > 0;
  for (let i = 0; i < head.rawHeaders.length; i += 2) if (head.rawHeaders[i] === 'transfer-encoding') return true;
  return false;
}

/** DRAIN: a sink that throws the bytes away. */
const DRAIN: BodySink = { data: () => true, end() {}, error() {} };

/** BuiltRequest: the Request and what must be cleaned up after the response. */
interface BuiltRequest {
  request: Request;
  body: WebSinkStream | null;
  controller: AbortController;
}

/**
 * buildRequest: params -> WHATWG Request. The URL is the route (the mount point fix), the body a
 * stream fed by the transport (never buffered), the signal aborted with the exchange.
 */
export function buildRequest(exchange: Exchange, head: RequestHead): BuiltRequest {
  const body = !BODYLESS.has(head.method) && hasBody(head)
    ? createWebSinkStream({ start: (sink) => exchange.startBody(sink, head.contentLength), resume: () => exchange.resumeBody() })
    : null;
  // A body the app cannot see is still read: a CGI server blocks until stdin is drained (FIELD-NOTES).
  if (body === null) exchange.startBody(DRAIN);
  try {
    const url = requestOrigin(head, exchange.params) + (head.url.startsWith('/') ? head.url : `/${head.url}`);
    const headers = new Headers();
    for (let i = 0; i < head.rawHeaders.length; i += 2) headers.append(head.rawHeaders[i]!, head.rawHeaders[i + 1]!);
    const controller = new AbortController();
    // RequestInit lacks `duplex`, which undici requires with a stream body.
    const init: RequestInit & { duplex?: 'half' } = { method: head.method, headers, signal: controller.signal };
    if (body) {
      init.body = body.stream;
      init.duplex = 'half';
    }
    return { request: new Request(url, init), body, controller };
  } catch (err) {
    body?.discard();
    throw err;
  }
}

/** createEnv: the `env` argument; the logger is made on first use (pino is not loaded otherwise). */
function createEnv(exchange: Exchange, head: RequestHead, state: { log?: Logger }): FetchEnv {
  const dualcgi: FetchRequestInfo = {
    mode: exchange.mode, role: exchange.role, requestId: exchange.requestId, mountPoint: head.mountPoint,
    params: exchange.params, originalUrl: head.originalUrl,
  };
  const data = dataSourceOf(exchange);
  if (data) {
    const stream = createWebSinkStream(data);
    exchange.onAbort((reason) => stream.fail(reason));
    dualcgi.data = stream.stream;
  }
  return {
    dualcgi,
    get log() {
      return (state.log ??= requestLogger(exchange));
    },
  };
}

/** toError: what was thrown, as an Error (apps throw strings too). */
function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(`non-error thrown: ${String(err)}`);
}

/**
 * serveFetch: run one exchange through a fetch app. Failure mapping, one per phase: the Request
 * cannot be built -> 400; fetch() throws, returns no Response, or a header would break the head
 * (CGI_ERR_HEADER_INJECTION) -> 500; the body fails after the head -> the response is broken off
 * (exchange.ts endFailed). Each failure goes to the web server's error log and to onError.
 */
export function serveFetch(app: FetchApp, exchange: Exchange, head: RequestHead, options: FetchServeOptions = {}): void {
  let built: BuiltRequest;
  try {
    built = buildRequest(exchange, head);
  } catch (err) {
    const e = toError(err);
    report(exchange, head, e, 'request', options);
    finish(exchange, encodeErrorResponse(400, options.debug ? `400 Bad Request\n\n${e.message}` : '400 Bad Request'), 400, 1, options);
    return;
  }
  exchange.onAbort((reason) => built.controller.abort(reason));
  const state: { log?: Logger } = {};
  const env = createEnv(exchange, head, state);
  let timer: NodeJS.Timeout | undefined;
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    if (timer !== undefined) clearTimeout(timer);
    if (state.log) releaseLogger(exchange.rid);
    // Like node:http: an unread body is discarded once the response is done.
    built.body?.discard();
  };
  const run: RunState = { headSent: false, over: false, status: 0, cgiHead: '', cancel: null };
  if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
    // A timed-out app's promise may never settle: the request's resources go with the timeout.
    timer = setTimeout(() => {
      timedOut(exchange, head, built, run, options);
      release();
    }, options.timeoutMs);
    timer.unref();
  }
  void respond(app, exchange, head, built, env, options, run).finally(release);
}

/**
 * timedOut: the app has not finished within timeoutMs (FetchServeOptions.timeoutMs): request.signal
 * aborts, and the request ends: a 504 before the head, else broken off after what was sent.
 */
function timedOut(exchange: Exchange, head: RequestHead, built: BuiltRequest, run: RunState, options: FetchServeOptions): void {
  if (run.over) return;
  run.over = true;
  const ms = options.timeoutMs!;
  const err = Object.assign(new Error(`handler did not respond within ${ms} ms`), { code: 'DUALCGI_ERR_HANDLER_TIMEOUT' });
  built.controller.abort(err);
  run.cancel?.(err);
  if (exchange.aborted) return;
  report(exchange, head, err, 'handler', options);
  if (!run.headSent) finish(exchange, encodeErrorResponse(504, 'Gateway Timeout: the application did not respond in time'), 504, 0, options);
  else finishFailed(exchange, run.status, run.cgiHead, options);
}

/** respond: await the app, then stream its Response; every failure is mapped here. */
async function respond(app: FetchApp, exchange: Exchange, head: RequestHead, built: BuiltRequest, env: FetchEnv,
  options: FetchServeOptions, run: RunState): Promise<void> {
  let value: unknown;
  let response: ResponseLike;
  let cgiHead: string;
  try {
    value = await app.fetch(built.request, env);
    if (!isResponseLike(value)) throw new TypeError(`fetch() returned ${value === null ? 'null' : typeof value}, expected a Response`);
    response = value;
    cgiHead = encodeFetchHead(response);
  } catch (err) {
    if (isResponseLike(value)) value.body?.cancel().catch(() => undefined);
    if (run.over) return; // timed out: answered already
    run.over = true;
    const e = toError(err);
    report(exchange, head, e, 'handler', options);
    if (!exchange.aborted) {
      const status = statusFor(e, built);
      finish(exchange, errorPageFor(e, status, options), status, 0, options);
    }
    return;
  }
  if (exchange.aborted || run.over) {
    response.body?.cancel().catch(() => undefined);
    return;
  }
  run.status = response.status;
  run.cgiHead = cgiHead;
  try {
    await streamResponse(exchange, Buffer.from(cgiHead, 'latin1'), response.body, head.method !== 'HEAD', run);
  } catch (err) {
    if (run.over) return;
    run.over = true;
    const e = toError(err);
    report(exchange, head, e, 'response', options);
    if (!run.headSent) finish(exchange, errorPage(e, options), 500, 0, options);
    else finishFailed(exchange, response.status, cgiHead, options);
    return;
  }
  if (run.over) return;
  run.over = true;
  options.onFinish?.(response.status, cgiHead);
  exchange.end(undefined, 0);
}

/**
 * statusFor: 500, or the request body's own failure status when that failure is what the app threw
 * (a body over maxBodyBytes: 413; a CGI stdin shorter than CONTENT_LENGTH: 400), as the Node
 * adapter answers (README "Faults, limits and hostile input").
 */
function statusFor(err: Error, built: BuiltRequest): number {
  const status = (err as { status?: unknown }).status;
  return built.body !== null && built.body.failure === err && typeof status === 'number' ? status : 500;
}

/** errorPageFor: the page of statusFor's status: a body failure's code, else errorPage's 500. */
function errorPageFor(err: Error, status: number, options: FetchServeOptions): Buffer {
  if (status === 500) return errorPage(err, options);
  return encodeErrorResponse(status, `${status} ${(err as { code?: string }).code ?? 'Bad Request'}`);
}

/** finishFailed: the head (and maybe some body) went out, then the body failed: the response is broken off (endFailed). */
function finishFailed(exchange: Exchange, status: number, cgiHead: string, options: FetchServeOptions): void {
  options.onFinish?.(status, cgiHead);
  endFailed(exchange);
}

/** errorPage: the 500 response; the stack only in debug mode. */
function errorPage(err: Error, options: FetchServeOptions): Buffer {
  return encodeErrorResponse(500, options.debug ? `Internal Server Error\n\n${err.stack ?? err.message}` : 'Internal Server Error');
}

/** finish: a whole response of dualcgi's own (an error page), then the end of the request. */
function finish(exchange: Exchange, bytes: Buffer, status: number, appStatus: number, options: FetchServeOptions): void {
  void writeChunk(exchange, bytes);
  options.onFinish?.(status, bytes.subarray(0, bytes.indexOf('\r\n\r\n') + 4).toString('latin1'));
  exchange.end(undefined, appStatus);
}

/** report: a failure to onError and to the web server's error log (FCGI_STDERR, or stderr in CGI). */
function report(exchange: Exchange, head: RequestHead, err: Error, phase: 'request' | 'handler' | 'response',
  options: FetchServeOptions): void {
  options.onError?.(err, phase);
  exchange.writeStderr(`dualcgi: ${head.method} ${head.url} failed: ${err.stack ?? err.message}\n`);
}
