import { CgiError } from './errors';
import type { ParamLookup } from './params';

/** RequestHead: an HTTP request as the app sees it, built from CGI meta-variables. */
export interface RequestHead {
  method: string;
  /** url: route path + query: what routers match (the mount point removed, see FIELD-NOTES). */
  url: string;
  /** originalUrl: REQUEST_URI as the browser sent it (or rebuilt when the server sends none). */
  originalUrl: string;
  /** mountPoint: what precedes the route path in the browser's URL ('' at the docroot). */
  mountPoint: string;
  /** rawHeaders: [name, value, name, value, ...] with lower-case names, like node:http's headers keys. */
  rawHeaders: string[];
  /** contentLength: the body size, or undefined when the server gives none (read to the end). */
  contentLength: number | undefined;
  https: boolean;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** httpVersion: from SERVER_PROTOCOL, "1.1" when absent or not HTTP/x.y. */
  httpVersion: string;
}

/** RequestHeadOptions: how params map to a request. */
export interface RequestHeadOptions {
  /** stripMountPoint: route on PATH_INFO (true, default) or on REQUEST_URI's whole path (false). */
  stripMountPoint?: boolean;
  /**
   * scriptFile: the entry script's own path. A request for the script itself (REQUEST_URI's path is
   * SCRIPT_NAME, no PATH_INFO) routes to '/' only when SCRIPT_NAME names this file: nginx's stock
   * params also send SCRIPT_NAME = the whole path, and that must route on the path.
   */
  scriptFile?: string;
}

/**
 * createRequestHead: params -> request head, shared by CGI and FastCGI (one mapping for both modes).
 * Throws CgiError (400) for CGI variables that cannot describe a request.
 */
export function createRequestHead(params: ParamLookup, options: RequestHeadOptions = {}): RequestHead {
  const method = params.get('REQUEST_METHOD');
  if (!method) throw new CgiError('CGI_ERR_NO_METHOD', 'REQUEST_METHOD is missing', 400);
  const contentLength = parseContentLength(params.get('CONTENT_LENGTH'));
  const target = resolveTarget(params, options.stripMountPoint !== false, options.scriptFile);
  return {
    method,
    url: target.url,
    originalUrl: target.originalUrl,
    mountPoint: target.mountPoint,
    rawHeaders: headersFromParams(params, contentLength),
    contentLength,
    https: isHttps(params),
    remoteAddress: params.get('REMOTE_ADDR') ?? '',
    remotePort: parsePort(params.get('REMOTE_PORT')),
    localAddress: params.get('SERVER_ADDR') ?? '',
    localPort: parsePort(params.get('SERVER_PORT')),
    httpVersion: parseHttpVersion(params.get('SERVER_PROTOCOL')),
  };
}

/** parseContentLength: '' and absent mean no length (nginx sends CONTENT_LENGTH="" on a GET). */
export function parseContentLength(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[0-9]{1,15}$/.test(value)) {
    throw new CgiError('CGI_ERR_BAD_CONTENT_LENGTH', `CONTENT_LENGTH ${JSON.stringify(value.slice(0, 40))} is not a length`, 400);
  }
  return Number(value);
}

export interface Target {
  url: string;
  originalUrl: string;
  mountPoint: string;
}

/**
 * resolveTarget: the mount point fix. The route path is PATH_INFO when REQUEST_URI's path ends with
 * it, else REQUEST_URI's path; the mount point is what precedes it. PATH_INFO is decoded and
 * REQUEST_URI is not, so the comparison is made on decoded bytes and the route keeps its encoding.
 */
export function resolveTarget(params: ParamLookup, strip: boolean, scriptFile: string | undefined): Target {
  const requestUri = params.get('REQUEST_URI');
  const pathInfo = params.get('PATH_INFO') ?? '';
  const scriptName = params.get('SCRIPT_NAME') ?? '';
  if (requestUri === undefined || requestUri === '') {
    // RFC 3875 alone: no REQUEST_URI, the script name is the mount point.
    const query = params.get('QUERY_STRING') ?? '';
    const route = encodePath(pathInfo || '/');
    const originalUrl = encodePath(scriptName) + encodePath(pathInfo) + (query ? `?${query}` : '');
    return strip
      ? { url: route + (query ? `?${query}` : ''), originalUrl, mountPoint: scriptName }
      : { url: originalUrl || '/', originalUrl, mountPoint: '' };
  }
  const q = requestUri.indexOf('?');
  const uriPath = q === -1 ? requestUri : requestUri.slice(0, q);
  const queryParam = params.get('QUERY_STRING');
  const query = queryParam !== undefined ? queryParam : q === -1 ? '' : requestUri.slice(q + 1);
  const search = query ? `?${query}` : '';
  if (!strip) return { url: (uriPath || '/') + search, originalUrl: requestUri, mountPoint: '' };
  let split = -1;
  if (pathInfo !== '') split = suffixStart(uriPath, pathInfo);
  else if (scriptFile !== undefined && uriPath === scriptName && namesScript(scriptName, scriptFile)) split = uriPath.length;
  if (split === -1) return { url: (uriPath || '/') + search, originalUrl: requestUri, mountPoint: '' };
  const route = uriPath.slice(split) || '/';
  return { url: route + search, originalUrl: requestUri, mountPoint: uriPath.slice(0, split) };
}

/** namesScript: the URL path's last segment is the script file's name. */
function namesScript(scriptName: string, scriptFile: string): boolean {
  const base = scriptFile.slice(scriptFile.lastIndexOf('/') + 1);
  return base !== '' && scriptName.endsWith(`/${base}`);
}

/**
 * suffixStart: the index in the raw (percent-encoded) `uriPath` where a suffix starts whose decoded
 * bytes equal `decoded` (a latin-1 string of bytes), or -1.
 */
export function suffixStart(uriPath: string, decoded: string): number {
  // No escapes: the raw path is its own decoding, and each char starts where it is. A plain
  // suffix test then, without the per-char string and index list built below for every request.
  if (uriPath.indexOf('%') === -1) return uriPath.endsWith(decoded) ? uriPath.length - decoded.length : -1;
  // Decode uriPath to byte-chars, remembering where each decoded char started in the raw string.
  const starts: number[] = [];
  let bytes = '';
  for (let i = 0; i < uriPath.length;) {
    starts.push(i);
    const c = uriPath.charCodeAt(i);
    if (c === 0x25 && i + 2 < uriPath.length && isHex(uriPath.charCodeAt(i + 1)) && isHex(uriPath.charCodeAt(i + 2))) {
      bytes += String.fromCharCode(parseInt(uriPath.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      bytes += uriPath[i];
      i += 1;
    }
  }
  if (!bytes.endsWith(decoded)) return -1;
  const index = bytes.length - decoded.length;
  return index === bytes.length ? uriPath.length : starts[index]!;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** encodePath: percent-encode the bytes of a decoded path that may not appear raw in a URL path. */
function encodePath(path: string): string {
  return path.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@/]/g,
    (ch) => '%' + ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

/**
 * headersFromParams: HTTP_* variables back to header names (HTTP_X_FOO -> x-foo), plus
 * content-type and content-length. A known CONTENT_LENGTH means the body is already de-chunked
 * (nginx sends both): transfer-encoding is then dropped, as node:http would never show both.
 */
function headersFromParams(params: ParamLookup, contentLength: number | undefined): string[] {
  const raw: string[] = [];
  // forEach, not for-of: no [name, value] entry array per param (a hello request has ~30).
  params.forEach((value, name) => {
    const header = headerName(name);
    if (header === undefined) return;
    if (header === 'content-length' || header === 'content-type') return;
    if (header === 'transfer-encoding' && contentLength !== undefined) return;
    raw.push(header, value);
  });
  const contentType = params.get('CONTENT_TYPE');
  if (contentType) raw.push('content-type', contentType);
  if (contentLength !== undefined) raw.push('content-length', String(contentLength));
  return raw;
}

/**
 * HEADER_NAMES: HTTP_* variable -> header name, remembered: the same dozen names arrive on every
 * request, and slicing, lower-casing and replacing them each time was a tenth of the bytes a hello
 * request allocated (bench/ nginx suite). Bounded, so odd names sent by a client cannot grow it.
 */
const HEADER_NAMES = new Map<string, string>();
const HEADER_NAMES_MAX = 512;

/** headerName: HTTP_X_FOO -> x-foo; undefined for variables that are not HTTP_*. */
function headerName(variable: string): string | undefined {
  // Most params are not HTTP_* (19 of nginx's 24 for a hello): a char test before the map lookup.
  if (variable.charCodeAt(0) !== 72 /* H */ || !variable.startsWith('HTTP_')) return undefined;
  const known = HEADER_NAMES.get(variable);
  if (known !== undefined) return known;
  const header = variable.slice(5).toLowerCase().replace(/_/g, '-');
  if (HEADER_NAMES.size < HEADER_NAMES_MAX) HEADER_NAMES.set(variable, header);
  return header;
}

function isHttps(params: ParamLookup): boolean {
  const https = params.get('HTTPS');
  if (https !== undefined && https !== '' && https.toLowerCase() !== 'off' && https !== '0') return true;
  return params.get('REQUEST_SCHEME')?.toLowerCase() === 'https';
}

/** parsePort: REMOTE_PORT or SERVER_PORT as a port number (0 when it is not one). */
export function parsePort(value: string | undefined): number {
  // Plain digits (every web server's REMOTE_PORT and SERVER_PORT) read by hand: Number() of a
  // fresh string was 0.7% of micro.js fcgi; alone, two calls 60-80 -> 40-50 ns. Anything else
  // ('', ' 80', '0x50') keeps Number()'s reading.
  if (value !== undefined && value.length > 0 && value.length <= 5) {
    let n = 0;
    for (let i = 0; i < value.length; i++) {
      const digit = value.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) return portOf(Number(value));
      n = n * 10 + digit;
    }
    return portOf(n);
  }
  return portOf(Number(value));
}

function portOf(n: number): number {
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : 0;
}

function parseHttpVersion(protocol: string | undefined): string {
  if (protocol === 'HTTP/1.1') return '1.1'; // nearly every request: no regex (1% of a hello request)
  const m = protocol ? /^HTTP\/(\d)\.(\d)$/i.exec(protocol) : null;
  return m ? `${m[1]}.${m[2]}` : '1.1';
}
