import type { ServerResponse } from 'node:http';
import type { RequestHead } from '../cgi/request-head';
import type { Exchange } from '../handlers/exchange';
import { isTracing, publish } from './channel';
import { Level } from './events';
import { redactHeaders, redactParams } from './redact';

/** RequestTrace: the per-request tracing state, made only while someone listens. */
export interface RequestTrace {
  rid: string;
  started: bigint;
  finish(res: ServerResponse | null, status: number): void;
  fail(err: Error, phase: string): void;
}

/** headOfResponse: the CGI head node:http built, as header pairs (for the request.end event). */
function headOfResponse(res: ServerResponse | null): Array<[string, string]> {
  const head = (res as unknown as { _header?: string | null } | null)?._header;
  if (typeof head !== 'string') return [];
  const out: Array<[string, string]> = [];
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) out.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return out;
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
  publish({
    ev: 'request.start', mode: exchange.mode, rid, requestId: exchange.requestId, method: head.method, uri,
    url: head.url, mountPoint: head.mountPoint, role: exchange.role, params: redactParams(exchange.params),
    msg: `${head.method} ${uri}`,
  });
  let ended = false;
  const trace: RequestTrace = {
    rid,
    started,
    finish(res, status) {
      if (ended || !isTracing()) return;
      ended = true;
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      publish({
        ev: 'request.end', mode: exchange.mode, rid, requestId: exchange.requestId, method: head.method, uri, status,
        level: status >= 500 ? Level.error : status >= 400 ? Level.warn : Level.info,
        headers: redactHeaders(headOfResponse(res)), bytesIn: exchange.bytesIn, bytesOut: exchange.bytesOut,
        durationMs: Math.round(durationMs * 1000) / 1000, appStatus: 0, aborted: exchange.aborted,
        msg: `${head.method} ${uri} ${exchange.aborted ? 'aborted' : status} ${durationMs.toFixed(1)}ms`,
      });
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
