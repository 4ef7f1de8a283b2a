import { posix } from 'node:path';
import { encodePairs } from '../protocol';
import type { ParamsFraming } from './framing';
import { type HeaderPair, buildCgiParams, percentDecode, toByteString } from './params';

/** ProfileName: the web servers `dualcgi request --profile` can imitate. */
export type ProfileName = 'nginx' | 'fcgid' | 'proxy-fcgi' | 'lighttpd';

export const PROFILE_NAMES: readonly ProfileName[] = ['nginx', 'fcgid', 'proxy-fcgi', 'lighttpd'];

/** ProfileRequest: the HTTP request a profile turns into params, as a browser sent it. */
export interface ProfileRequest {
  method: string;
  /** target: path and query below the mount point. */
  target: string;
  headers: readonly HeaderPair[];
  /** bodyLength: bytes of body, null for none. */
  bodyLength: number | null;
  mountPoint: string;
  documentRoot?: string;
  scriptFilename?: string;
  scriptName?: string;
}

/** Refusal: what the imitated server answers instead of passing the request on. */
export interface Refusal {
  status: number;
  why: string;
}

/** RequestProfile: how one web server frames a FastCGI request. Sources are cited per field. */
export interface RequestProfile {
  name: ProfileName;
  description: string;
  /** requestId: every one of these servers uses id 1 (one request per connection at a time). */
  requestId: number;
  keepConn: boolean;
  framing: ParamsFraming;
  /** bufferBody: the whole body is read before BEGIN_REQUEST goes out (FIELD-NOTES "Requests"). */
  bufferBody: boolean;
  /** maxBody: a body above this is refused with `maxBodyStatus`. */
  maxBody: number | null;
  maxBodyStatus: number;
  /** maxHeaderLine / maxHeaders: header limits in bytes and the status for breaking them. */
  maxHeaderLine: number | null;
  maxHeaders: number | null;
  headerStatus: number;
  params(req: ProfileRequest): Array<[string, string]>;
}

const KiB = 1024;

/** profiles: the measured facts are FIELD-NOTES'; the rest is each server's documented default. */
const profiles: Record<ProfileName, RequestProfile> = {
  nginx: {
    name: 'nginx',
    description: 'nginx 1.22 fastcgi_pass with Debian fastcgi.conf + SCRIPT_NAME "" and PATH_INFO $uri, fastcgi_keep_conn off',
    requestId: 1, keepConn: false, framing: { kind: 'one-record' }, bufferBody: true,
    maxBody: 1024 * KiB, maxBodyStatus: 413, maxHeaderLine: 8 * KiB, maxHeaders: null, headerStatus: 400,
    params: nginxParams,
  },
  fcgid: {
    name: 'fcgid',
    description: 'Apache 2.4 + mod_fcgid, the classic .htaccess rewrite to dispatch.fcgi, no CGIPassAuth',
    requestId: 1, keepConn: false, framing: { kind: 'one-record' }, bufferBody: true,
    maxBody: 131072, maxBodyStatus: 500, maxHeaderLine: 8190, maxHeaders: null, headerStatus: 400,
    params: (req) => apacheParams(req, true),
  },
  'proxy-fcgi': {
    name: 'proxy-fcgi',
    description: 'Apache 2.4 + mod_proxy_fcgi: params over several records on pair boundaries, KEEP_CONN, streamed body',
    // mod_proxy_fcgi always sets FCGI_KEEP_CONN and writes its environment in 8 KiB blocks
    // (AP_IOBUFSIZE); the body is streamed as it arrives.
    requestId: 1, keepConn: true, framing: { kind: 'pair-boundaries', maxContent: 8 * KiB }, bufferBody: false,
    maxBody: null, maxBodyStatus: 413, maxHeaderLine: 8190, maxHeaders: null, headerStatus: 400,
    params: (req) => apacheParams(req, false),
  },
  lighttpd: {
    name: 'lighttpd',
    description: 'lighttpd 1.4 mod_fastcgi at "/" with fix-root-scriptname',
    requestId: 1, keepConn: false, framing: { kind: 'one-record' }, bufferBody: true,
    maxBody: null, maxBodyStatus: 413, maxHeaderLine: null, maxHeaders: 8 * KiB, headerStatus: 431,
    params: lighttpdParams,
  },
};

/** profileByName: the profile, or undefined for an unknown name. */
export function profileByName(name: string): RequestProfile | undefined {
  return (PROFILE_NAMES as readonly string[]).includes(name) ? profiles[name as ProfileName] : undefined;
}

/**
 * profileRefusal: what the imitated server would answer instead of passing the request on: a body or
 * a header over its limits, or params over one record's 65535 bytes (FIELD-NOTES: "fastcgi request
 * record is too big" -> 500). Null when it would pass the request on.
 */
export function profileRefusal(profile: RequestProfile, req: ProfileRequest, params: Array<[string, string]>): Refusal | null {
  if (profile.maxBody !== null && (req.bodyLength ?? 0) > profile.maxBody) {
    return { status: profile.maxBodyStatus, why: `a body of ${req.bodyLength} bytes is over ${profile.name}'s limit of ${profile.maxBody}` };
  }
  let total = 0;
  for (const [name, value] of req.headers) {
    const line = name.length + 2 + Buffer.byteLength(value);
    total += line + 2;
    if (profile.maxHeaderLine !== null && line > profile.maxHeaderLine) {
      return { status: profile.headerStatus, why: `the ${name} header line (${line} bytes) is over ${profile.maxHeaderLine}` };
    }
  }
  if (profile.maxHeaders !== null && total > profile.maxHeaders) {
    return { status: profile.headerStatus, why: `${total} bytes of headers are over ${profile.maxHeaders}` };
  }
  if (profile.framing.kind === 'one-record') {
    const size = encodePairs(params).length;
    if (size > 0xffff) return { status: 500, why: `${size} bytes of params do not fit one PARAMS record (fastcgi request record is too big)` };
  }
  return null;
}

/** withClientHeaders: the headers an HTTP client adds itself: Host, and Content-Length for a body. */
function withClientHeaders(req: ProfileRequest): HeaderPair[] {
  const headers = [...req.headers];
  const has = (name: string): boolean => headers.some(([n]) => n.toLowerCase() === name);
  if (!has('host')) headers.unshift(['Host', 'localhost']);
  if (req.bodyLength !== null && !has('content-length')) headers.push(['Content-Length', String(req.bodyLength)]);
  return headers;
}

function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  return q === -1 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

/** normalisedUri: nginx's and lighttpd's $uri: percent-decoded, dot segments and double slashes resolved. */
function normalisedUri(path: string): string {
  return posix.normalize(percentDecode(path));
}

function hostOf(headers: readonly HeaderPair[]): string {
  const host = headers.find(([n]) => n.toLowerCase() === 'host')?.[1] ?? 'localhost';
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
}

function headerValue(headers: readonly HeaderPair[], name: string): string | undefined {
  return headers.find(([n]) => n.toLowerCase() === name)?.[1];
}

/** httpParams: headers as HTTP_* pairs, one per header line (duplicates are sent as they came). */
function httpParams(headers: readonly HeaderPair[], keep: (name: string) => boolean): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, value] of headers) {
    if (!keep(name)) continue;
    out.push([`HTTP_${name.toUpperCase().replace(/-/g, '_')}`, toByteString(value)]);
  }
  return out;
}

/**
 * apacheParams: mod_fcgid's (and mod_proxy_fcgi's) variables, from the same Apache model as the
 * default client. Apache drops Authorization without CGIPassAuth and Proxy (httpoxy); mod_fcgid sends
 * `Connection: close` and CONTENT_LENGTH=0 on a GET (FIELD-NOTES "Requests").
 */
function apacheParams(req: ProfileRequest, fcgid: boolean): Array<[string, string]> {
  const headers = withClientHeaders(req).filter(([n]) => !['authorization', 'proxy'].includes(n.toLowerCase()));
  if (fcgid && headerValue(headers, 'connection') === undefined) headers.push(['Connection', 'close']);
  const pairs = buildCgiParams({
    method: req.method, target: req.target, headers, mode: 'fcgi', mountPoint: req.mountPoint,
    bodyLength: req.bodyLength ?? 0,
    ...(req.documentRoot !== undefined ? { documentRoot: req.documentRoot } : {}),
    ...(req.scriptFilename !== undefined ? { scriptFilename: req.scriptFilename } : {}),
    ...(req.scriptName !== undefined ? { scriptName: req.scriptName } : {}),
  });
  return pairs.map(([n, v]) => [n, n === 'SERVER_SOFTWARE' ? 'Apache/2.4' : v]);
}

/**
 * nginxParams: Debian's /etc/nginx/fastcgi.conf in its order, then the two lines dualcgi's docs add
 * (so SCRIPT_NAME goes twice: the URI, then ""), then every header as HTTP_*. Measured (FIELD-NOTES):
 * HTTP_HOST without the port, CONTENT_LENGTH and CONTENT_TYPE empty on a GET, Proxy passed on as
 * HTTP_PROXY, Authorization passed on. Header names with '_' are dropped (underscores_in_headers off).
 */
function nginxParams(req: ProfileRequest): Array<[string, string]> {
  const headers = withClientHeaders(req);
  const { path, query } = splitTarget(req.target);
  const uri = normalisedUri(req.mountPoint + path);
  const docroot = req.documentRoot ?? '/var/www/html';
  const pairs: Array<[string, string]> = [
    ['SCRIPT_FILENAME', toByteString(docroot) + uri], ['QUERY_STRING', query], ['REQUEST_METHOD', req.method],
    ['CONTENT_TYPE', toByteString(headerValue(headers, 'content-type') ?? '')],
    ['CONTENT_LENGTH', headerValue(headers, 'content-length') ?? ''],
    ['SCRIPT_NAME', uri], ['REQUEST_URI', req.mountPoint + req.target], ['DOCUMENT_URI', uri],
    ['DOCUMENT_ROOT', toByteString(docroot)], ['SERVER_PROTOCOL', 'HTTP/1.1'], ['REQUEST_SCHEME', 'http'],
    ['GATEWAY_INTERFACE', 'CGI/1.1'], ['SERVER_SOFTWARE', 'nginx/1.22.1'],
    ['REMOTE_ADDR', '127.0.0.1'], ['REMOTE_PORT', '54321'], ['SERVER_ADDR', '127.0.0.1'], ['SERVER_PORT', '80'],
    ['SERVER_NAME', 'localhost'], ['REDIRECT_STATUS', '200'],
    ['SCRIPT_NAME', ''], ['PATH_INFO', uri],
  ];
  const host = hostOf(headers);
  const http = httpParams(headers, (name) => /^[A-Za-z0-9-]+$/.test(name));
  return [...pairs, ...http.map(([n, v]): [string, string] => [n, n === 'HTTP_HOST' ? host : v])];
}

/**
 * lighttpdParams: lighttpd's CGI environment for a FastCGI app at "/" with fix-root-scriptname
 * (FIELD-NOTES: SCRIPT_NAME "", PATH_INFO the path). Proxy is dropped; Content-Type and
 * Content-Length only as CONTENT_TYPE / CONTENT_LENGTH.
 */
function lighttpdParams(req: ProfileRequest): Array<[string, string]> {
  const headers = withClientHeaders(req);
  const { query } = splitTarget(req.target);
  const pathInfo = normalisedUri(splitTarget(req.target).path);
  const docroot = toByteString(req.documentRoot ?? '/var/www/html');
  const pairs: Array<[string, string]> = [
    ['SERVER_SOFTWARE', 'lighttpd/1.4.69'], ['SERVER_NAME', hostOf(headers)], ['GATEWAY_INTERFACE', 'CGI/1.1'],
    ['REQUEST_SCHEME', 'http'], ['SERVER_PORT', '80'], ['SERVER_ADDR', '127.0.0.1'],
    ['SCRIPT_NAME', toByteString(req.mountPoint)], ['PATH_INFO', pathInfo], ['PATH_TRANSLATED', docroot + pathInfo],
    ['SCRIPT_FILENAME', req.scriptFilename !== undefined ? toByteString(req.scriptFilename) : docroot + pathInfo], ['DOCUMENT_ROOT', docroot],
    ['REQUEST_URI', req.mountPoint + req.target], ['QUERY_STRING', query], ['REQUEST_METHOD', req.method],
    ['REDIRECT_STATUS', '200'], ['SERVER_PROTOCOL', 'HTTP/1.1'], ['REMOTE_ADDR', '127.0.0.1'], ['REMOTE_PORT', '54321'],
  ];
  const length = headerValue(headers, 'content-length');
  if (length !== undefined) pairs.push(['CONTENT_LENGTH', length]);
  const type = headerValue(headers, 'content-type');
  if (type !== undefined) pairs.push(['CONTENT_TYPE', toByteString(type)]);
  const skip = new Set(['proxy', 'content-type', 'content-length']);
  return [...pairs, ...httpParams(headers, (name) => !skip.has(name.toLowerCase()) && /^[A-Za-z0-9_-]+$/.test(name))];
}
