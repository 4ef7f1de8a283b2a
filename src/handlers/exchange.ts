import type { ParamLookup, Params } from '../cgi/params';

/** Mode: how this process was reached. */
export type Mode = 'cgi' | 'fcgi';

/** RoleName: the FastCGI role of a request; CGI requests are always responders. */
export type RoleName = 'RESPONDER' | 'AUTHORIZER' | 'FILTER';

/** BodySink: where a transport delivers request body bytes. `data` returns false to ask for a pause. */
export interface BodySink {
  data(chunk: Buffer): boolean;
  end(): void;
  error(err: Error): void;
}

/** AbortTarget: an object told of an abort through its own method (see Exchange.onAbort). */
export interface AbortTarget {
  abort(reason: Error): void;
}

/** AbortListener: what Exchange.onAbort takes. */
export type AbortListener = ((reason: Error) => void) | AbortTarget;

/** callAbortListener: tell one listener of an abort. */
export function callAbortListener(listener: AbortListener, reason: Error): void {
  if (typeof listener === 'function') listener(reason);
  else listener.abort(reason);
}

/**
 * endFailed: a response that failed after its head went out (a handler that threw after writing,
 * a body stream that broke, a socket the app destroyed) ends so that the client can tell: the
 * transport's breakResponse where it has one, else END marked failed (appStatus 1; a CGI hit
 * exits 1: mod_cgi has no way to tell the client).
 */
export function endFailed(exchange: Exchange): void {
  if (exchange.breakResponse !== undefined) exchange.breakResponse();
  else exchange.end(undefined, 1);
}

/**
 * Exchange: the one core contract between a transport (CGI process or FastCGI request) and an app
 * adapter: CGI params and a body in, raw CGI response bytes (a `Status:` head, then the body) out.
 * Both transports implement it; src/handlers adapt it to (req, res) and fetch apps.
 */
export interface Exchange {
  readonly mode: Mode;
  readonly role: RoleName;
  /** requestId: the FastCGI request id; 0 in CGI mode. */
  readonly requestId: number;
  readonly params: Params;
  /**
   * paramLookup: optional: the same params for reading (get, forEach), which a transport may give
   * without building the Map (FastCGI does: fastcgi/param-list.ts). The request mapping uses it.
   */
  readonly paramLookup?: ParamLookup;
  /**
   * startBody: deliver the request body to `sink`; after `data` returned false, wait for resumeBody.
   * `length`: the size the request head declares (RequestHead.contentLength), or undefined for none.
   * A transport gives at most that many bytes and fails the body when its input ends short (CGI
   * reads CONTENT_LENGTH itself, FastCGI takes it from here).
   */
  startBody(sink: BodySink, length?: number): void;
  resumeBody(): void;
  /** write: raw response bytes; `cb` runs once more may be written (backpressure). */
  write(chunk: Buffer, cb: (err?: Error | null) => void): void;
  /**
   * writeText: optional: the same as write(Buffer.from(text, encoding), cb), for transports that
   * can encode a string straight into their output (FastCGI does: no Buffer per response head).
   */
  writeText?(text: string, encoding: 'latin1' | 'utf8', cb: (err?: Error | null) => void): void;
  /**
   * end: the response is complete; `cb` runs when every byte has been handed to the transport.
   * A non-zero appStatus marks a failed request whose response is still whole (an error page of
   * dualcgi's own); a response broken after its head goes through endFailed. Calling end twice is
   * harmless: the first call wins.
   */
  end(cb?: (err?: Error | null) => void, appStatus?: number): void;
  /**
   * breakResponse: optional: the response failed after its head went out and cannot be completed;
   * the transport makes the web server cut the client's response, as node:http drops the connection
   * (FastCGI: fastcgi/connection.ts breakRequest). Use endFailed, which falls back to end(,1).
   */
  breakResponse?(): void;
  /** writeStderr: diagnostics for the web server's error log (FCGI_STDERR, or stderr in CGI). */
  writeStderr(chunk: string | Buffer): void;
  /**
   * onAbort: `fn` runs once if the web server aborts the request or drops the connection. An
   * AbortTarget is told through its `abort` method: the Node adapter passes its per-request state,
   * no closure per request (bench/README.md, nginx, "Seventh session, second round").
   */
  onAbort(fn: AbortListener): void;
  readonly aborted: boolean;
  /** rid: the request's key in trace events, unique across processes. */
  readonly rid: string;
  /**
   * wire: optional: the transport sends this request's traffic to the trace socket itself
   * (trace/wire-mirror.ts), from which readers make its request.start and request.end: tracing
   * then publishes neither.
   */
  readonly wire?: boolean;
  /**
   * onForcedEnd: optional: `fn` hears the status the web server got when the transport ends the
   * request outside the adapters' reach (a CGI hit: an exception no handler caught, an app that
   * never answered; launch/dispatch), so tracing can publish its request.end.
   */
  onForcedEnd?(fn: (status: number) => void): void;
  /** bytesIn/bytesOut: body bytes received and response bytes sent so far. */
  readonly bytesIn: number;
  readonly bytesOut: number;
}
