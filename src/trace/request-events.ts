import type { ServerResponse } from 'node:http';
import type { RequestHead } from '../cgi/request-head';
import type { Exchange } from '../handlers/exchange';
import { isTracing, publish, publishNote } from './channel';
import { Level } from './events';
import { lineHead, ParamsJson, q } from './json-line';
import type { EndNote, StartNote } from './notes';
import { isSecretHeader, isSecretParam, REDACTED, traceOptions } from './redact';

const REDACTED_JSON = q(REDACTED);

/** paramsJson: request.start's params as JSON, each request's built from the last one's (json-line.ts ParamsJson). */
const paramsJson = new ParamsJson(isSecretParam, REDACTED_JSON);

/** RequestTrace: the per-request tracing state, made only while someone listens. */
export interface RequestTrace {
  rid: string;
  started: bigint;
  finish(res: ServerResponse | null, status: number): void;
  fail(err: Error, phase: string): void;
}

/**
 * headersJson: the CGI head node:http built (its `_header`), as the JSON of header pairs with
 * secrets redacted (request.end's `headers`), scanned in place rather than split into arrays.
 */
export function headersJson(res: ServerResponse | null): string {
  const head = (res as unknown as { _header?: string | null } | null)?._header;
  if (typeof head !== 'string') return '[]';
  // The same head as the last response (the same headers, within the same second of Date) has the
  // same JSON: one string comparison instead of scanning and quoting it again: 9.5 -> 8.2 µs per
  // traced hello request of the serving side's trace work (three interleaved pairs of runs of a
  // microbenchmark: seven records through the observer, traceRequest and finish, into the socket
  // sink to a draining process).
  if (head === lastHead && traceOptions.showSecrets === lastShowSecrets) return lastJson;
  const json = scanHeaders(head);
  lastHead = head;
  lastJson = json;
  lastShowSecrets = traceOptions.showSecrets;
  return json;
}

let lastHead = '';
let lastJson = '[]';
let lastShowSecrets = false;

function scanHeaders(head: string): string {
  let out = '[';
  let start = head.indexOf('\r\n');
  if (start === -1) return '[]';
  start += 2;
  while (start < head.length) {
    let end = head.indexOf('\r\n', start);
    if (end === -1) end = head.length;
    const colon = head.indexOf(':', start);
    if (colon > start && colon < end) {
      const name = head.slice(start, colon);
      out += `${out.length > 1 ? ',' : ''}[${q(name)},${isSecretHeader(name) ? REDACTED_JSON : q(head.slice(colon + 1, end).trim())}]`;
    }
    start = end + 2;
  }
  return `${out}]`;
}

/**
 * traceRequest: publish request.start and return the hooks for request.end and errors; null when
 * nobody listens (the caller then does no tracing work at all). Both go out as notes (notes.ts);
 * the params JSON is built here, once, redacted (json-line.ts ParamsJson), and never again; read
 * through `paramLookup` where the transport has one, so tracing does not build the params Map.
 */
export function traceRequest(exchange: Exchange & { rid: string; bytesIn: number; bytesOut: number },
  head: RequestHead): RequestTrace | null {
  if (!isTracing()) return null;
  if (exchange.wire === true) return new WireTrace(exchange);
  const rid = exchange.rid;
  const started = process.hrtime.bigint();
  const uri = head.originalUrl;
  const mode = exchange.mode;
  publishNote({
    note: 'start', time: Date.now(), pid: process.pid, mode, rid, requestId: exchange.requestId, method: head.method, uri,
    url: head.url, mountPoint: head.mountPoint, role: exchange.role, paramsJson: paramsJson.build(exchange.paramLookup ?? exchange.params),
    paramsBase: paramsJson.base, paramsDelta: paramsJson.delta,
  });
  let ended = false;
  const trace: RequestTrace = {
    rid,
    started,
    finish(res, status) {
      if (ended || !isTracing()) return;
      ended = true;
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const aborted = exchange.aborted;
      publishNote({
        note: 'end', time: Date.now(), pid: process.pid, mode, rid, requestId: exchange.requestId,
        level: status >= 500 ? Level.error : status >= 400 ? Level.warn : Level.info,
        msg: `${head.method} ${uri} ${aborted ? 'aborted' : status} ${durationMs.toFixed(1)}ms`, method: head.method, uri, status,
        headersJson: headersJson(res), bytesIn: exchange.bytesIn, bytesOut: exchange.bytesOut,
        durationMs: Math.round(durationMs * 1000) / 1000, aborted,
      });
    },
    fail(err, phase) {
      publishFailure(exchange, rid, err, phase);
    },
  };
  exchange.onAbort(() => trace.finish(null, 499));
  return trace;
}

/**
 * WireTrace: the tracing of a request whose transport sends its traffic to the trace socket as
 * bytes (fastcgi/connection.ts, wire-mirror.ts): the reader makes its request.start and
 * request.end from them, so only errors are published here. One object, no closures.
 */
class WireTrace implements RequestTrace {
  readonly rid: string;
  readonly started = 0n;
  #exchange: Exchange;

  constructor(exchange: Exchange) {
    this.#exchange = exchange;
    this.rid = exchange.rid;
  }

  finish(): void {}

  fail(err: Error, phase: string): void {
    publishFailure(this.#exchange, this.rid, err, phase);
  }
}

/** publishFailure: a request's error event (a handler that threw, a response that failed). */
function publishFailure(exchange: Exchange, rid: string, err: Error, phase: string): void {
  if (!isTracing()) return;
  const code = (err as { code?: unknown }).code;
  publish({
    ev: 'error', level: Level.error, mode: exchange.mode, rid, requestId: exchange.requestId, phase,
    msg: err.message, stack: err.stack, ...(typeof code === 'string' ? { code } : {}),
  });
}

/** startLine: request.start as its own line, without the newline (file and stderr targets; `tail --json` expanding a group). */
export function startLine(n: StartNote): string {
  return `${lineHead(Level.info, n.time, n.pid, 'request.start', n.mode)},"msg":${q(`${n.method} ${n.uri}`)},"rid":${q(n.rid)},"requestId":${
    n.requestId},"method":${q(n.method)},"uri":${q(n.uri)},"url":${q(n.url)},"mountPoint":${q(n.mountPoint)},"role":${q(n.role)},"params":${
    n.paramsJson}}`;
}

/** endLine: request.end as its own line, without the newline. */
export function endLine(n: EndNote): string {
  return `${lineHead(n.level, n.time, n.pid, 'request.end', n.mode)},"msg":${q(n.msg)},"rid":${q(n.rid)},"requestId":${n.requestId},"method":${
    q(n.method)},"uri":${q(n.uri)},"status":${n.status},"headers":${n.headersJson},"bytesIn":${n.bytesIn},"bytesOut":${n.bytesOut},"durationMs":${
    n.durationMs},"appStatus":0,"aborted":${n.aborted}}`;
}
