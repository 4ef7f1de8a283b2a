import { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from '../cgi/params';
import type { RequestHead } from '../cgi/request-head';
import { httpHeadToCgi } from '../cgi/response-head';
import type { Exchange, Mode, RoleName } from './exchange';
import { ExchangeSocket } from './socket';
import type { Logger } from 'pino';
import { releaseLogger, requestLogger } from '../trace/app-logger';

/** NodeListener: a node:http request listener (Express, Koa's callback(), Connect, plain handlers). */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * RequestInfo: `req.dualcgi`, the documented way for an app to see how it was reached: the mode, the
 * mount point (to build links: mountPoint + route), the FastCGI role and id, and every CGI param.
 */
export interface RequestInfo {
  mode: Mode;
  role: RoleName;
  requestId: number;
  mountPoint: string;
  params: Params;
}

/** DualcgiRequest: the IncomingMessage an app receives, with dualcgi's additions. */
export interface DualcgiRequest extends IncomingMessage {
  originalUrl: string;
  dualcgi: RequestInfo;
  /** log: a pino logger bound to this request; its lines reach the dashboard (see trace/app-logger). */
  log: Logger;
}

/** NodeServeOptions: how handler failures are shown. */
export interface NodeServeOptions {
  /** debug: a failing handler's 500 page shows the stack (never in production). */
  debug?: boolean;
  /** onError: told of every handler failure, with its phase. */
  onError?: (err: Error, phase: 'handler' | 'response') => void;
  /** onFinish: the response is complete and handed to the transport. */
  onFinish?: (res: ServerResponse) => void;
  /**
   * timeoutMs: a handler that has not finished its response by then gets a 504 (or, if its head
   * is out, its response ends as failed), and req/res see 'close'. Default: none.
   */
  timeoutMs?: number;
}

type StoreHeader = (this: ServerResponse, firstLine: string, headers: unknown) => void;
interface OutgoingInternals {
  _storeHeader: StoreHeader;
  _header: string | null;
  chunkedEncoding: boolean;
  useChunkedEncodingByDefault: boolean;
  shouldKeepAlive: boolean;
}

const storeHttpHeader = (ServerResponse.prototype as unknown as OutgoingInternals)._storeHeader;
if (typeof storeHttpHeader !== 'function') {
  throw new Error('dualcgi: this Node.js has no ServerResponse.prototype._storeHeader; please report the Node version');
}

/**
 * storeCgiHeader: installed on each response as an own property (so it survives Express swapping the
 * prototype): node:http builds its head as usual, then the head becomes a CGI head and chunked
 * framing is turned off. The web server frames the response to the client (DESIGN "Known traps").
 */
function storeCgiHeader(this: ServerResponse, firstLine: string, headers: unknown): void {
  storeHttpHeader.call(this, firstLine, headers);
  const out = this as unknown as OutgoingInternals;
  out._header = httpHeadToCgi(out._header!);
  out.chunkedEncoding = false;
}

function noop(): void {}

function destroySocket(socket: ExchangeSocket): void {
  socket.destroy();
}

/**
 * kNeedDrain: node:http's flag for "write() returned false". Its HTTP server clears it and emits
 * 'drain' on the response when the socket drains (_http_server.js socketOnDrain); without that
 * server, we must do the same, or a handler waiting for 'drain' waits forever.
 */
const kNeedDrain = Object.getOwnPropertySymbols(new ServerResponse(new IncomingMessage(null as never)))
  .find((s) => s.description === 'kNeedDrain');

function responseOnSocketDrain(res: ServerResponse): void {
  if (res.writableEnded || !res.writableNeedDrain) return;
  if (kNeedDrain) (res as unknown as Record<symbol, boolean>)[kNeedDrain] = false;
  res.emit('drain');
}

/** headersObject: raw header pairs to node:http's headers object rules for duplicates. */
function headersObject(raw: readonly string[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const prev = headers[name];
    if (prev === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(prev)) prev.push(value);
    else headers[name] = prev + (name === 'cookie' ? '; ' : ', ') + value;
  }
  return headers;
}

/**
 * serveNode: run one exchange through a node:http request listener. `req` and `res` are real
 * IncomingMessage / ServerResponse objects, so frameworks that swap prototypes keep working.
 */
export function serveNode(listener: NodeListener, exchange: Exchange, head: RequestHead,
  options: NodeServeOptions = {}): void {
  const socket = new ExchangeSocket(exchange, head);
  const req = new IncomingMessage(socket as never) as DualcgiRequest;
  req.method = head.method;
  req.url = head.url;
  req.originalUrl = head.originalUrl;
  req.httpVersion = head.httpVersion;
  const dot = head.httpVersion.indexOf('.');
  req.httpVersionMajor = Number(head.httpVersion.slice(0, dot));
  req.httpVersionMinor = Number(head.httpVersion.slice(dot + 1));
  req.rawHeaders = head.rawHeaders;
  req.headers = headersObject(head.rawHeaders);
  req.dualcgi = {
    mode: exchange.mode,
    role: exchange.role,
    requestId: exchange.requestId,
    mountPoint: head.mountPoint,
    params: exchange.params,
  };

  let log: Logger | undefined;
  // Made on first use: pino is not even loaded for requests that never log.
  Object.defineProperty(req, 'log', {
    configurable: true,
    enumerable: false,
    get: () => (log ??= requestLogger(exchange)),
  });

  const res = new ServerResponse(req);
  const internals = res as unknown as OutgoingInternals;
  internals._storeHeader = storeCgiHeader;
  internals.useChunkedEncodingByDefault = true; // keeps node's automatic Content-Length on end(data)
  internals.shouldKeepAlive = true;             // no "Connection: close" added for our sake
  res.sendDate = false;                         // the web server adds Date
  // There is no interim response in CGI: a "100 Continue" line would corrupt the head.
  res.writeContinue = noop;
  res.writeProcessing = noop;
  (res as { writeEarlyHints?: unknown }).writeEarlyHints = noop;
  res.assignSocket(socket as never);
  socket.on('drain', () => responseOnSocketDrain(res));

  pipeBody(exchange, req, res);
  // node:http emits 'error' on a response written after its end; with no listener that would
  // crash a process serving other requests. It is the app's bug: report it, go on.
  res.on('error', (err) => {
    options.onError?.(err, 'response');
    exchange.writeStderr(`dualcgi: ${req.method} ${req.url}: ${err.message}\n`);
  });
  exchange.onAbort((reason) => {
    // As node:http does when a client disconnects: IncomingMessage emits 'aborted' unless fully read.
    if (!req.destroyed) req.destroy(reason);
    socket.destroy();
  });

  const state = { appStatus: 0 };
  res.on('finish', () => {
    options.onFinish?.(res); // before end(): a CGI process may exit as soon as the response is out
    exchange.end(undefined, state.appStatus);
    if (log) releaseLogger(exchange.rid);
    // Like node:http: an unread body is discarded once the response is done.
    if (!req.readableEnded && !req.destroyed) {
      req.removeAllListeners('data');
      req.resume();
    }
    // Emits res 'close', as node:http does after a response. Deferred: destroying the socket
    // while its last write callback is still being processed makes Writable build an
    // ERR_STREAM_DESTROYED error (with its stack) per request: 5% of a hello request's CPU.
    setImmediate(destroySocket, socket);
  });

  if (options.timeoutMs !== undefined && options.timeoutMs > 0) armTimeout(options.timeoutMs, req, res, exchange, options, state);
  const fail = (err: unknown): void => onHandlerError(toError(err), req, res, exchange, options, state);
  try {
    const result = listener(req, res) as { then?: unknown } | undefined;
    if (result && typeof result.then === 'function') (result as Promise<unknown>).then(undefined, fail);
  } catch (err) {
    fail(err);
  }
}

/**
 * pipeBody: the exchange's body into IncomingMessage, pausing the transport when the app is slow.
 * A body that cannot be read whole (CGI stdin shorter than CONTENT_LENGTH) destroys req and, if the
 * app has not answered yet, gets the error's status (400) instead of a hang.
 */
function pipeBody(exchange: Exchange, req: IncomingMessage, res: ServerResponse): void {
  // An own property survives prototype swaps; IncomingMessage calls _read when it wants more.
  (req as unknown as { _read: () => void })._read = () => exchange.resumeBody();
  exchange.startBody({
    data: (chunk) => req.push(chunk),
    end: () => {
      req.complete = true;
      req.push(null);
    },
    error: (err) => {
      // Destroying an unfinished req destroys the shared socket (node:http semantics), so the
      // error response goes out first; a response already under way ends as failed.
      const status = (err as { status?: unknown }).status;
      if (!res.headersSent && !res.writableEnded) {
        res.once('finish', () => req.destroy(err));
        const code = typeof status === 'number' ? status : 400;
        respondPlain(res, code, `${code} ${(err as { code?: string }).code ?? 'Bad Request'}\n`);
      } else {
        if (!res.writableEnded) exchange.end(undefined, 1);
        req.destroy(err);
      }
    },
  });
}

/** armTimeout: the handler timeout (NodeServeOptions.timeoutMs). */
function armTimeout(ms: number, req: IncomingMessage, res: ServerResponse, exchange: Exchange,
  options: NodeServeOptions, state: { appStatus: number }): void {
  const timer = setTimeout(() => {
    if (res.writableEnded) return;
    const err = Object.assign(new Error(`handler did not respond within ${ms} ms`), { code: 'DUALCGI_ERR_HANDLER_TIMEOUT' });
    options.onError?.(err, 'handler');
    exchange.writeStderr(`dualcgi: ${req.method} ${req.url}: ${err.message}\n`);
    if (!res.headersSent) respondPlain(res, 504, 'Gateway Timeout: the application did not respond in time\n');
    else {
      state.appStatus = 1;
      res.end();
    }
  }, ms);
  timer.unref();
  res.once('finish', () => clearTimeout(timer));
  res.once('close', () => clearTimeout(timer));
}

/** respondPlain: replace whatever the app prepared with a plain-text response. */
function respondPlain(res: ServerResponse, status: number, body: string): void {
  for (const name of res.getHeaderNames()) res.removeHeader(name);
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(`non-error thrown: ${String(err)}`);
}

/**
 * onHandlerError: a listener threw or its promise rejected. Before the head is sent: a 500 (the
 * stack only in debug mode). After: the response cannot be repaired, so it ends marked as failed.
 * The error goes to the web server's error log; the process goes on.
 */
function onHandlerError(err: Error, req: IncomingMessage, res: ServerResponse, exchange: Exchange,
  options: NodeServeOptions, state: { appStatus: number }): void {
  options.onError?.(err, 'handler');
  exchange.writeStderr(`dualcgi: ${req.method} ${req.url} failed: ${err.stack ?? err.message}\n`);
  if (res.writableEnded || res.destroyed) return;
  if (res.headersSent) {
    // What was written is flushed (node:http may still hold it corked), then the request ends failed.
    state.appStatus = 1;
    res.end();
    return;
  }
  respondPlain(res, 500, options.debug ? `Internal Server Error\n\n${err.stack ?? err.message}\n` : 'Internal Server Error\n');
}
