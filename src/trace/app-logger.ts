import type { Logger } from 'pino';
import type { Exchange } from '../handlers/exchange';
import { isTracing, publishRaw } from './channel';

/**
 * Where req.log lines go. 'auto': to the trace channel while someone listens, else to the web
 * server's error log (FCGI_STDERR, or stderr in CGI): never lost, never on stdout (CGI's response).
 */
export type AppLogRoute = 'auto' | 'trace' | 'stderr' | 'both';

export const appLogOptions: { route: AppLogRoute; level: string } = { route: 'auto', level: 'info' };

let root: Logger | null = null;
/** Requests whose logger is in use, by rid: stderr lines go to their own exchange. */
const active = new Map<string, Exchange>();
const RID = /"rid":"([^"]+)"/;

function writeLine(line: string): void {
  const route = appLogOptions.route;
  const tracing = isTracing();
  if (tracing && route !== 'stderr') publishRaw(line);
  if (route === 'stderr' || route === 'both' || (route === 'auto' && !tracing)) {
    const rid = RID.exec(line)?.[1];
    const exchange = rid === undefined ? undefined : active.get(rid);
    if (exchange && !exchange.aborted) exchange.writeStderr(line);
  }
}

/** rootLogger: pino, loaded on first use so a CGI hit that never logs never loads it. */
function rootLogger(): Logger {
  if (root) return root;
  const pino = require('pino') as typeof import('pino');
  root = pino.default({ level: appLogOptions.level, base: { pid: process.pid } }, { write: writeLine });
  return root;
}

/**
 * requestLogger: `req.log`, a pino child bound to the request (rid, FastCGI id, mode). Its lines are
 * pino NDJSON with ev 'app.log', so the dashboard shows them under the request.
 */
export function requestLogger(exchange: Exchange): Logger {
  active.set(exchange.rid, exchange);
  const bindings = { ev: 'app.log', stream: 'log', rid: exchange.rid, requestId: exchange.requestId, mode: exchange.mode };
  // A CGI hit serves one request: pino's load time would be a third of it; the light logger
  // writes the same lines and loads pino only for what it does not do itself.
  if (exchange.mode === 'cgi' && root === null) {
    const { createLightLogger } = require('./light-logger') as typeof import('./light-logger');
    return createLightLogger(bindings, { level: appLogOptions.level, write: writeLine, heavy: () => rootLogger().child(bindings) });
  }
  return rootLogger().child(bindings);
}

/** releaseLogger: the request is over; late lines still reach the trace channel. */
export function releaseLogger(rid: string): void {
  active.delete(rid);
}
