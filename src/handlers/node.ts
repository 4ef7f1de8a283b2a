import { IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http';
import { nextTick } from 'node:process'; // not the global `process`, a getter (see socket.ts)
import type { Params } from '../cgi/params';
import type { RequestHead } from '../cgi/request-head';
import { cgiHeadOf } from './cgi-head-memo';
import { type BodySink, endFailed, type Exchange, type Mode, type RoleName } from './exchange';
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
  /**
   * onError: told of every failure, with its phase: 'request' (a body that could not be read whole),
   * 'handler' (the app threw), 'response' (the app misused the response).
   */
  onError?: (err: Error, phase: 'request' | 'handler' | 'response') => void;
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
  _removedConnection: boolean;
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
  out._header = cgiHeadOf(out._header!); // the last response's CGI head when the head is the same
  out.chunkedEncoding = false;
}

function noop(): void {}

/** internalSymbol: one of node:http's private symbols on `obj`, by description (undefined if renamed). */
function internalSymbol(obj: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(obj).find((s) => s.description === description);
}

const probeRequest = new IncomingMessage(null as never);
/**
 * kNeedDrain: node:http's flag for "write() returned false". Its HTTP server clears it and emits
 * 'drain' on the response when the socket drains (_http_server.js socketOnDrain); without that
 * server, we must do the same, or a handler waiting for 'drain' waits forever.
 */
const kNeedDrain = internalSymbol(new ServerResponse(probeRequest), 'kNeedDrain');
/**
 * kHeadersCount: with it set, IncomingMessage's own lazy `headers` getter builds the headers object
 * from rawHeaders on first read, with node's rules for duplicates: a hello app never pays for it.
 */
const kHeadersCount = internalSymbol(probeRequest, 'kHeadersCount');

/** socketOnDrain: the socket's one 'drain' listener, for whichever response it serves now. */
function socketOnDrain(this: ExchangeSocket): void {
  const res = this._httpMessage as ServerResponse | null;
  if (res === null || res.writableEnded || !res.writableNeedDrain) return;
  if (kNeedDrain) (res as unknown as Record<symbol, boolean>)[kNeedDrain] = false;
  res.emit('drain');
}

/**
 * socketOnClose: the socket's one 'close' listener, for whichever response it serves now: what
 * node:http's onServerResponseClose does (res emits 'close' if the socket goes first, as when the
 * web server aborts). node:http adds that listener in res.assignSocket and removes it in
 * detachSocket, per request; a pooled socket carries this one for good (see serveNode).
 */
function socketOnClose(this: ExchangeSocket): void {
  const res = this._httpMessage as ServerResponse | null;
  if (res === null) return;
  // Still serving: the app destroyed req.socket (or res.destroy()) before the response finished.
  // node:http drops the connection; here the response is broken off (exchange.ts endFailed), as a
  // handler error after the head is, or the web server would wait for it until the connection went.
  const state = (res as unknown as WithState)[kState];
  if (state !== undefined && !state.finished) {
    state.finished = true;
    state.appStatus = 1;
    endFailed(state.exchange);
    if (state.log) releaseLogger(state.exchange.rid);
    this.detach();
    // As node:http's abortIncoming: an unread request emits 'aborted' and 'close'.
    if (!state.req.destroyed) state.req.destroy();
  }
  emitResponseClose(res);
}

/**
 * socketOnError: the socket's one 'error' listener. `res.destroy(err)` destroys the socket with
 * `err` (node:http's socket has the server's error listener): with no listener the 'error' would
 * end a process serving other requests. Reported like a response error; 'close' ends the request.
 */
function socketOnError(this: ExchangeSocket, err: Error): void {
  const res = this._httpMessage as ServerResponse | null;
  if (res !== null && (res as unknown as WithState)[kState] !== undefined) resOnError.call(res, err);
}

/** emitResponseClose: node:http's emitCloseNT: res emits 'close' once, destroyed from then on. */
function emitResponseClose(res: ServerResponse): void {
  const r = res as ServerResponse & { _closed?: boolean };
  if (!r._closed) {
    r.destroyed = true;
    r._closed = true;
    r.emit('close');
  }
}

/** SOCKET_LISTENERS: event names a pooled socket carries listeners for between requests ('drain', 'close', 'error'). */
const SOCKET_LISTENERS = 3;
/** POOL_MAX: free sockets kept; more than the requests in flight at once is never needed. */
const POOL_MAX = 256;
const socketPool: ExchangeSocket[] = [];

function acquireSocket(exchange: Exchange, head: RequestHead): ExchangeSocket {
  let socket = socketPool.pop();
  if (socket === undefined) {
    socket = new ExchangeSocket();
    socket.on('drain', socketOnDrain);
    socket.on('close', socketOnClose);
    socket.on('error', socketOnError);
  }
  socket.attach(exchange, head);
  return socket;
}

/**
 * closeAfterFinish: what node:http's server does a tick after a response's 'finish' (resOnFinish,
 * emitCloseNT): res emits 'close'; the socket goes back to the pool unless the app still listens
 * on it or it was destroyed.
 */
function closeAfterFinish(res: ServerResponse, socket: ExchangeSocket): void {
  emitResponseClose(res);
  // Our 'close' listener alone: an app's own 'close' listener adds no event name to count.
  if (socket.reusable(SOCKET_LISTENERS) && socket.listenerCount('close') === 1 && socketPool.length < POOL_MAX) socketPool.push(socket);
  else socket.destroy();
}

/** headersObject: raw header pairs to node:http's headers object rules for duplicates (no kHeadersCount). */
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
 * NodeExchange: one request's state. It is the exchange's body sink, and the response's listeners
 * are shared functions that find it on the response (kState): a hello request used to allocate
 * eight closures here (bench/ nginx suite; allocation profile of the hello request).
 */
class NodeExchange implements BodySink {
  appStatus = 0;
  finished = false;
  log: Logger | undefined = undefined;
  /** info: `req.dualcgi`, made on first use (installRequestAccessors). */
  info: RequestInfo | undefined = undefined;
  constructor(readonly exchange: Exchange, readonly req: DualcgiRequest, readonly res: ServerResponse,
    readonly socket: ExchangeSocket, readonly options: NodeServeOptions, readonly mountPoint: string) {}

  // --- BodySink: the exchange's body into IncomingMessage, pausing the transport when the app is slow ---
  data(chunk: Buffer): boolean {
    this.socket.touch(); // a body chunk is activity for req.setTimeout / res.setTimeout
    return this.req.push(chunk);
  }

  end(): void {
    this.req.complete = true;
    this.req.push(null);
  }

  /**
   * error: a body that cannot be read whole (CGI stdin shorter than CONTENT_LENGTH, a body over
   * the limit) destroys req and, if the app has not answered yet, gets the error's status (400)
   * instead of a hang.
   */
  error(err: Error): void {
    const { req, res, exchange } = this;
    this.options.onError?.(err, 'request');
    // Destroying an unfinished req destroys the shared socket (node:http semantics), so the
    // error response goes out first; a response already under way ends as failed.
    const status = (err as { status?: unknown }).status;
    if (!res.headersSent && !res.writableEnded) {
      res.once('finish', () => req.destroy(err));
      const code = typeof status === 'number' ? status : 400;
      respondPlain(res, code, `${code} ${(err as { code?: string }).code ?? 'Bad Request'}\n`);
    } else {
      if (!res.writableEnded) endFailed(exchange);
      req.destroy(err);
    }
  }

  /** abort: the web server aborted the request or dropped the connection. */
  abort(reason: Error): void {
    if (this.finished) return; // the socket may already serve another request
    // As node:http does when a client disconnects: IncomingMessage emits 'aborted' unless fully read.
    if (!this.req.destroyed) this.req.destroy(reason);
    this.socket.destroy();
  }
}

const kState = Symbol('dualcgi.state');
type WithState = { [kState]: NodeExchange };

/** reqRead: IncomingMessage wants more body (an own property, so it survives prototype swaps). */
function reqRead(this: IncomingMessage): void {
  (this as unknown as WithState)[kState].exchange.resumeBody();
}

/**
 * resOnError: node:http emits 'error' on a response written after its end; with no listener that
 * would crash a process serving other requests. It is the app's bug: report it, go on.
 */
function resOnError(this: ServerResponse, err: Error): void {
  const { options, exchange, req } = (this as unknown as WithState)[kState];
  options.onError?.(err, 'response');
  exchange.writeStderr(`dualcgi: ${req.method} ${req.url}: ${err.message}\n`);
}

function resOnFinish(this: ServerResponse): void {
  const state = (this as unknown as WithState)[kState];
  const { req, socket, exchange } = state;
  state.finished = true;
  state.options.onFinish?.(this); // before end(): a CGI process may exit as soon as the response is out
  // appStatus 1: the handler failed after the head (onHandlerError, armTimeout): the client must see it.
  if (state.appStatus === 0) exchange.end(undefined, 0);
  else endFailed(exchange);
  if (state.log) releaseLogger(exchange.rid);
  // Like node:http: an unread body is discarded once the response is done.
  if (!req.readableEnded && !req.destroyed) {
    req.removeAllListeners('data');
    req.resume();
  }
  // As node:http's resOnFinish: the response lets go of the socket now (its later 'finish'
  // listeners see res.socket null, as with node:http), and 'close' follows on the next tick.
  // What detachSocket does, but for removing the 'close' listener it never added (serveNode).
  if (socket._httpMessage === this) {
    socket._httpMessage = null;
    (this as { socket: unknown }).socket = null;
  }
  socket.detach();
  nextTick(closeAfterFinish, this, socket);
}

/**
 * req.log: a pino logger bound to the request, made on first use (pino is not even loaded for
 * requests that never log). An accessor on IncomingMessage.prototype, installed once, instead of
 * one defined on every request: defineProperty on each req cost a closure and a slow-mode object.
 * Assigning req.log (pino-http does) makes an own property, as it would on a plain object.
 *
 * req.dualcgi: the same kind of accessor, so that its `params` Map is built only for an app that
 * looks (the FastCGI side no longer builds it otherwise: fastcgi/param-list.ts). The object is
 * made once per request; a Filter's `data` put on it stays.
 */
function installRequestAccessors(): void {
  defineRequestAccessor('log', (state) => (state.log ??= requestLogger(state.exchange)));
  defineRequestAccessor('dualcgi', (state) => (state.info ??= {
    mode: state.exchange.mode,
    role: state.exchange.role,
    requestId: state.exchange.requestId,
    mountPoint: state.mountPoint,
    params: state.exchange.params,
  }));
}

function defineRequestAccessor(name: string, get: (state: NodeExchange) => unknown): void {
  if (Object.getOwnPropertyDescriptor(IncomingMessage.prototype, name)) return;
  Object.defineProperty(IncomingMessage.prototype, name, {
    configurable: true,
    enumerable: false,
    get(this: Partial<WithState>): unknown {
      const state = this[kState];
      return state === undefined ? undefined : get(state);
    },
    set(this: IncomingMessage, value: unknown) {
      Object.defineProperty(this, name, { value, writable: true, configurable: true, enumerable: true });
    },
  });
}
installRequestAccessors();

/**
 * serveNode: run one exchange through a node:http request listener. `req` and `res` are real
 * IncomingMessage / ServerResponse objects, so frameworks that swap prototypes keep working.
 */
export function serveNode(listener: NodeListener, exchange: Exchange, head: RequestHead,
  options: NodeServeOptions = {}): void {
  const socket = acquireSocket(exchange, head);
  const req = new IncomingMessage(socket as never) as DualcgiRequest;
  req.method = head.method;
  req.url = head.url;
  req.originalUrl = head.originalUrl;
  req.httpVersion = head.httpVersion;
  if (head.httpVersion === '1.1') {
    // Nearly every request: no slicing and parsing of the version per request.
    req.httpVersionMajor = 1;
    req.httpVersionMinor = 1;
  } else {
    const dot = head.httpVersion.indexOf('.');
    req.httpVersionMajor = Number(head.httpVersion.slice(0, dot));
    req.httpVersionMinor = Number(head.httpVersion.slice(dot + 1));
  }
  req.rawHeaders = head.rawHeaders;
  if (kHeadersCount) (req as unknown as Record<symbol, number>)[kHeadersCount] = head.rawHeaders.length;
  else req.headers = headersObject(head.rawHeaders);

  const res = new ServerResponse(req);
  const state = new NodeExchange(exchange, req, res, socket, options, head.mountPoint);
  (req as unknown as WithState)[kState] = state;
  (res as unknown as WithState)[kState] = state;
  const internals = res as unknown as OutgoingInternals;
  internals._storeHeader = storeCgiHeader;
  internals.useChunkedEncodingByDefault = true; // keeps node's automatic Content-Length on end(data)
  internals.shouldKeepAlive = true;             // no "Connection: close" added for our sake
  // As if the app had removed it: node adds no Connection line (the web server owns the
  // connection), so httpHeadToCgi has nothing to cut from a typical head.
  internals._removedConnection = true;
  res.sendDate = false;                         // the web server adds Date
  // There is no interim response in CGI: a "100 Continue" line would corrupt the head.
  res.writeContinue = noop;
  res.writeProcessing = noop;
  (res as { writeEarlyHints?: unknown }).writeEarlyHints = noop;
  // What res.assignSocket(socket) does, without its socket.on('close') (and detachSocket's
  // removeListener: the pooled socket's own socketOnClose stands in), its 'socket' event (nobody
  // can listen to this new response yet) and its _flush (nothing is written yet).
  // What it buys: ~0.4k of ~47k instructions per hello request under callgrind (the _addListener,
  // removeListener, emit and _flush calls; bench/README.md, nginx, "Eighth session").
  socket._httpMessage = res;
  (res as { socket: unknown }).socket = socket;

  (req as unknown as { _read: () => void })._read = reqRead;
  exchange.startBody(state, head.contentLength);
  res.on('error', resOnError);
  exchange.onAbort(state); // its abort method: no closure per request (Exchange.onAbort)
  res.on('finish', resOnFinish);

  if (options.timeoutMs !== undefined && options.timeoutMs > 0) armTimeout(options.timeoutMs, req, res, exchange, options, state);
  try {
    const result = listener(req, res) as { then?: unknown } | undefined;
    if (result && typeof result.then === 'function') {
      (result as Promise<unknown>).then(undefined, (err: unknown) => onHandlerError(toError(err), req, res, exchange, options, state));
    }
  } catch (err) {
    onHandlerError(toError(err), req, res, exchange, options, state);
  }
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

/**
 * respondPlain: replace whatever the app prepared with a plain-text response. The reason phrase is
 * given too: writeHead keeps an app-set statusMessage otherwise, and one with CR/LF (the cause of
 * the failure being answered, maybe) made this throw in turn: out of a timer an uncaught exception,
 * out of a rejected handler's promise a request never ended. If it still throws (an app that
 * replaced res.writeHead or res.end), the response is destroyed: the request ends failed (see
 * socketOnClose) and the error is reported.
 */
function respondPlain(res: ServerResponse, status: number, body: string): void {
  try {
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.writeHead(status, STATUS_CODES[status], { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  } catch (err) {
    if ((res as unknown as Partial<WithState>)[kState] !== undefined) resOnError.call(res, toError(err));
    res.destroy();
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(`non-error thrown: ${String(err)}`);
}

/**
 * onHandlerError: a listener threw or its promise rejected. Before the head is sent: a 500 (the
 * stack only in debug mode). After: the response cannot be repaired, so it is broken off (endFailed).
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
