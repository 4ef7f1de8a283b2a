import type { ServerResponse } from 'node:http';
import type { RequestHead } from '../cgi/request-head';
import type { Exchange } from '../handlers/exchange';
import { isTracing, publish, publishLine } from './channel';
import { Level } from './events';
import { lineHead, pairsJson, q } from './json-line';
import { isSecretHeader, isSecretParam, REDACTED } from './redact';

const REDACTED_JSON = q(REDACTED);

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
 * nobody listens (the caller then does no tracing work at all).
 */
export function traceRequest(exchange: Exchange & { rid: string; bytesIn: number; bytesOut: number },
  head: RequestHead): RequestTrace | null {
  if (!isTracing()) return null;
  const rid = exchange.rid;
  const started = process.hrtime.bigint();
  const uri = head.originalUrl;
  const mode = exchange.mode;
  // Hand-written lines (json-line.ts says what this buys), joined flat at once like record lines
  // (record-event.ts recordLine says why); the params go out here only, not in the PARAMS record
  // events too.
  publishLine([lineHead(Level.info, 'request.start', mode), ',"msg":', q(`${head.method} ${uri}`), ',"rid":', q(rid),
    ',"requestId":', exchange.requestId, ',"method":', q(head.method), ',"uri":', q(uri), ',"url":', q(head.url),
    ',"mountPoint":', q(head.mountPoint), ',"role":', q(exchange.role), ',"params":',
    pairsJson(exchange.params, isSecretParam, REDACTED_JSON), '}\n'].join(''));
  let ended = false;
  const trace: RequestTrace = {
    rid,
    started,
    finish(res, status) {
      if (ended || !isTracing()) return;
      ended = true;
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const level = status >= 500 ? Level.error : status >= 400 ? Level.warn : Level.info;
      const aborted = exchange.aborted;
      publishLine([lineHead(level, 'request.end', mode), ',"msg":', q(`${head.method} ${uri} ${aborted ? 'aborted' : status} ${durationMs.toFixed(1)}ms`),
        ',"rid":', q(rid), ',"requestId":', exchange.requestId, ',"method":', q(head.method), ',"uri":', q(uri), ',"status":', status,
        ',"headers":', headersJson(res), ',"bytesIn":', exchange.bytesIn, ',"bytesOut":', exchange.bytesOut,
        ',"durationMs":', Math.round(durationMs * 1000) / 1000, ',"appStatus":0,"aborted":', aborted, '}\n'].join(''));
    },
    fail(err, phase) {
      if (!isTracing()) return;
      const code = (err as { code?: unknown }).code;
      publish({
        ev: 'error', level: Level.error, mode: exchange.mode, rid, requestId: exchange.requestId, phase,
        msg: err.message, stack: err.stack, ...(typeof code === 'string' ? { code } : {}),
      });
    },
  };
  exchange.onAbort(() => trace.finish(null, 499));
  return trace;
}
