import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { BodySink, Exchange } from './exchange';
import type { DualcgiRequest, NodeListener, RequestInfo } from './node';
import { createNodeSinkReadable, type SinkSource } from './sink-streams';

/**
 * FastCGI roles (spec 6) as an app sees them. The role is `req.dualcgi.role` (Node apps) or
 * `env.dualcgi.role` (fetch apps): 'RESPONDER' (every CGI request, and FastCGI role 1),
 * 'AUTHORIZER' (role 2) or 'FILTER' (role 3).
 *
 * AUTHORIZER: the app answers like a responder, and the status is the decision (spec 6.3):
 * 200 allows the request, and each `Variable-NAME: value` header of that 200 becomes the variable
 * NAME of the request (Apache: an environment variable later handlers, CGI scripts, SSI and
 * mod_headers `%{NAME}e` see). Any other status denies; what the client then gets depends on the
 * server (see the README's "Authorizer" section: mod_fcgid answers its own 401). mod_fcgid sends
 * `FCGI_APACHE_ROLE` (AUTHENTICATOR, AUTHORIZER or ACCESS_CHECKER) in the params, so one app can
 * serve each phase; no body arrives (CONTENT_LENGTH, PATH_INFO and SCRIPT_NAME are not sent).
 * `allow`/`deny` (Node) and `allowResponse`/`denyResponse` (fetch) write such answers.
 *
 * FILTER: the app also reads the filtered file, FCGI_DATA, as `req.dualcgi.data` (a Readable) or
 * `env.dualcgi.data` (a ReadableStream); its size and mtime are the params FCGI_DATA_LENGTH and
 * FCGI_DATA_LAST_MOD (seconds since the epoch). The web server sends the data after the request
 * body: read (or drain) the body first when there is one.
 */

/** DataSource: a transport that carries a Filter's FCGI_DATA stream (a FastCGI request). */
export interface DataSource {
  startData(sink: BodySink): void;
  resumeData(): void;
}

/** dataSourceOf: the exchange's FCGI_DATA stream, or null when its role has none. */
export function dataSourceOf(exchange: Exchange): SinkSource | null {
  if (exchange.role !== 'FILTER') return null;
  const source = exchange as Exchange & Partial<DataSource>;
  if (typeof source.startData !== 'function' || typeof source.resumeData !== 'function') return null;
  return { start: (sink) => source.startData!(sink), resume: () => source.resumeData!() };
}

/** FilterRequestInfo: `req.dualcgi` of a Filter request: the file's bytes as a Readable. */
export interface FilterRequestInfo extends RequestInfo {
  data: Readable;
}

/**
 * withRoleInfo: the listener a Node app is called through. Responders and authorizers get the app
 * itself (no extra work per request); a Filter request gets `req.dualcgi.data` first.
 */
export function withRoleInfo(listener: NodeListener, exchange: Exchange): NodeListener {
  const source = dataSourceOf(exchange);
  if (source === null) return listener;
  return (req, res) => {
    const info = (req as DualcgiRequest).dualcgi as FilterRequestInfo;
    info.data = createNodeSinkReadable(source);
    exchange.onAbort((reason) => info.data.destroy(reason));
    return listener(req, res);
  };
}

/** AuthorizerVariables: the names and values an allowing authorizer passes on. */
export type AuthorizerVariables = Record<string, string>;

/** Variable names become environment variable names: letters, digits and '_' keep every server happy. */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** variableHeaders: `{ ROLE: 'admin' }` -> `[['Variable-ROLE', 'admin']]`; throws TypeError on a bad name. */
export function variableHeaders(variables: AuthorizerVariables): Array<[string, string]> {
  return Object.entries(variables).map(([name, value]) => {
    if (!VARIABLE_NAME.test(name)) throw new TypeError(`authorizer variable name ${JSON.stringify(name)}: use letters, digits and _`);
    return [`Variable-${name}`, String(value)];
  });
}

/** allow: an Authorizer's "yes" (status 200), passing `variables` on to the request. */
export function allow(res: ServerResponse, variables: AuthorizerVariables = {}): void {
  const headers = variableHeaders(variables);
  res.writeHead(200, [...headers.flat(), 'Content-Length', '0']);
  res.end();
}

/** deny: an Authorizer's "no": any status but 200 (default 403), with a body for the client. */
export function deny(res: ServerResponse, status = 403, body = `${STATUS_CODES[status] ?? 'Denied'}\n`,
  headers: Record<string, string> = {}): void {
  if (status === 200) throw new RangeError('deny(): status 200 means allow');
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** allowResponse: `allow` for fetch apps. */
export function allowResponse(variables: AuthorizerVariables = {}): Response {
  return new Response(null, { status: 200, headers: variableHeaders(variables) });
}

/** denyResponse: `deny` for fetch apps. */
export function denyResponse(status = 403, body = `${STATUS_CODES[status] ?? 'Denied'}\n`,
  headers: Record<string, string> = {}): Response {
  if (status === 200) throw new RangeError('denyResponse(): status 200 means allow');
  return new Response(body, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', ...headers } });
}
