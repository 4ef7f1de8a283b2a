import type { ServerResponse } from 'node:http';
import { CgiError } from '../cgi/errors';
import type { RequestHead, RequestHeadOptions } from '../cgi/request-head';
import { encodeErrorResponse } from '../cgi/response-head';
import type { FetchApp, LoadedApp } from '../launch/load-app';
import type { Exchange } from './exchange';
import { requestHeadOf } from './head-memo';
import type { FetchServeOptions } from './fetch';
import { type NodeServeOptions, serveNode } from './node';

import { isTracing } from '../trace/channel';
import type { RequestTrace } from '../trace/request-events';
import { setWireTargetOptions } from '../trace/wire-target';

/**
 * traceRequestOf: trace/request-events (and its json-line) loaded on the first traced request: a
 * CGI hit with tracing off never needs them (~1.4 M instructions of a hello hit, callgrind;
 * bench/README.md, cgi section, seventh session). Kept once loaded, like runInRequestOf.
 */
let traceRequestFn: typeof import('../trace/request-events').traceRequest | undefined;
function traceRequestOf(): typeof import('../trace/request-events').traceRequest {
  return (traceRequestFn ??= (require('../trace/request-events') as typeof import('../trace/request-events')).traceRequest);
}

/** runInRequestOf: loaded only while tracing (trace/request-context.ts says what it costs). */
let runInRequest: typeof import('../trace/console-capture').runInRequest | undefined;
function runInRequestOf(): typeof import('../trace/console-capture').runInRequest {
  // Kept once loaded: require() per traced request cost 0.5-3.8 us (trace helper's profile).
  return (runInRequest ??= (require('../trace/console-capture') as typeof import('../trace/console-capture')).runInRequest);
}

/** loadRoles: roles.ts on first use (a CGI hit of a responder never needs it). */
function loadRoles(): typeof import('./roles') {
  return require('./roles') as typeof import('./roles');
}

/** AllOf: every field of T present (maybe undefined): an options object copied field by field. */
type AllOf<T> = { [K in keyof Required<T>]: T[K] };

/** ExchangeHandlerOptions: the request mapping and failure display, normalised once. */
export interface ExchangeHandlerOptions extends RequestHeadOptions, NodeServeOptions {}

/**
 * createExchangeHandler: the middle both modes share: params -> request head -> app -> response.
 * A request the params cannot describe gets a 400 without reaching the app.
 */
export function createExchangeHandler(app: LoadedApp, options: ExchangeHandlerOptions = {}): (exchange: Exchange) => void {
  const headOptions: RequestHeadOptions = { stripMountPoint: options.stripMountPoint !== false, scriptFile: options.scriptFile };
  // Readers of the wire mirror map params to a URL as this handler does (trace/wire-decode.ts).
  setWireTargetOptions({ stripMountPoint: headOptions.stripMountPoint !== false, scriptFile: headOptions.scriptFile });
  return (exchange) => {
    let head;
    try {
      head = requestHeadOf(exchange.paramLookup ?? exchange.params, headOptions);
    } catch (err) {
      if (!(err instanceof CgiError)) throw err;
      exchange.writeStderr(`dualcgi: ${err.code}: ${err.message}\n`);
      exchange.write(encodeErrorResponse(err.status, `${err.status} ${err.code}`), () => {});
      exchange.end(undefined, 1);
      return;
    }
    const trace = isTracing() ? traceRequestOf()(exchange, head) : null;
    // Only a transport that can end a request itself has onForcedEnd (CGI); `?.` skips the closure otherwise.
    if (trace !== null) exchange.onForcedEnd?.((status) => trace.finish(null, status));
    if (app.kind === 'fetch') {
      serveFetchApp(app.app, exchange, head, options, trace);
      return;
    }
    // Only a Filter request needs roles.ts (its FCGI_DATA stream); others skip loading it.
    const listener = exchange.role === 'FILTER' ? loadRoles().withRoleInfo(app.listener, exchange) : app.listener;
    if (trace === null) {
      serveNode(listener, exchange, head, options);
      return;
    }
    // Field by field rather than `...options`: with the spread a traced hello request cost ~5 µs
    // more of the serving process's CPU (mock FastCGI client, discarding listener, 4 interleaved
    // runs each way, in both orders: medians 38.2 -> 32.9 and 39.5 -> 34.2 µs). `satisfies
    // AllOf`: a field added to NodeServeOptions fails to compile here instead of being dropped.
    const traced = {
      debug: options.debug,
      timeoutMs: options.timeoutMs,
      onError(err, phase) {
        options.onError?.(err, phase);
        trace.fail(err, phase);
      },
      onFinish(res: ServerResponse) {
        options.onFinish?.(res);
        trace.finish(res, res.statusCode);
      },
    } satisfies AllOf<NodeServeOptions>;
    // Console output of this request's code is attributed to it (trace/console-capture).
    runInRequestOf()(trace.rid, () => serveNode(listener, exchange, head, traced));
  };
}

/**
 * serveFetchApp: a fetch app, traced like a Node app: request.start, errors with their phase,
 * request.end with the response head.
 */
function serveFetchApp(app: FetchApp, exchange: Exchange, head: RequestHead, options: ExchangeHandlerOptions,
  trace: RequestTrace | null): void {
  const fetchOptions: FetchServeOptions = {
    debug: options.debug,
    timeoutMs: options.timeoutMs,
    onError(err, phase) {
      options.onError?.(err, phase);
      trace?.fail(err, phase);
    },
  };
  const { serveFetch } = require('./fetch') as typeof import('./fetch'); // loaded for fetch apps only
  if (trace === null) {
    serveFetch(app, exchange, head, fetchOptions);
    return;
  }
  fetchOptions.onFinish = (status, cgiHead) => trace.finish(headCarrier(cgiHead), status);
  runInRequestOf()(trace.rid, () => serveFetch(app, exchange, head, fetchOptions));
}

/**
 * headCarrier: request.end events read the head a ServerResponse built (its `_header`); a fetch
 * response's CGI head is handed over the same way, so the dashboard shows its headers too.
 */
function headCarrier(cgiHead: string): ServerResponse {
  return { _header: cgiHead } as unknown as ServerResponse;
}
