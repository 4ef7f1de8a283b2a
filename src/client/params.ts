import { posix } from 'node:path';

/** HeaderPair: one request header as a client sends it. */
export type HeaderPair = readonly [name: string, value: string];

/** CgiParamsOptions: the HTTP request and the server setup the CGI params describe. */
export interface CgiParamsOptions {
  /** method: the request method. Default GET. */
  method?: string;
  /** target: path and query as a browser sends them, below the mount point (`/foo/bar?x=1`). */
  target: string;
  /** headers: request headers in order; a Host header is added when absent (HTTP/1.1 requires one). */
  headers?: readonly HeaderPair[];
  /**
   * bodyLength: bytes of request body. A number gives CONTENT_LENGTH; `null` means a chunked upload
   * (Apache sends no CONTENT_LENGTH then). Default: CONTENT_LENGTH=0 in FastCGI mode (mod_fcgid sends
   * it on every GET), absent in CGI mode. A Content-Length header wins over this.
   */
  bodyLength?: number | null;
  /** mode: picks the default script name and CONTENT_LENGTH behaviour. Default 'fcgi'. */
  mode?: 'cgi' | 'fcgi';
  /** scriptName: the script's URL path without the mount point. Default /dispatch.fcgi or /dispatch.cgi. */
  scriptName?: string;
  /** mountPoint: the folder of the `.htaccess` in URL space (`/app`); default '' (the docroot). */
  mountPoint?: string;
  /** documentRoot: default /var/www/html. */
  documentRoot?: string;
  /** scriptFilename: default documentRoot + mountPoint + scriptName. */
  scriptFilename?: string;
  /** serverName: default the Host header's name, else localhost. */
  serverName?: string;
  /** serverPort: default 443 with https, else 80. */
  serverPort?: number;
  serverAddr?: string;
  remoteAddr?: string;
  remotePort?: number;
  https?: boolean;
}

/** Header names Apache passes on: letters, digits and '-' only (it drops the rest, e.g. `X_Forwarded`). */
const PASSABLE_HEADER = /^[A-Za-z0-9-]+$/;

/**
 * buildCgiParams: the CGI meta-variables (RFC 3875 4.1) Apache + mod_fcgid (or mod_cgi) sends for an
 * HTTP request under the classic rewrite `.htaccess` (`RewriteRule ^(.*)$ dispatch.fcgi/$1`), in
 * Apache's order. Measured values: FIELD-NOTES "What the app sees". PATH_INFO is percent-decoded (the
 * rewrite works on the decoded path); REQUEST_URI stays raw. Values are latin-1 strings of UTF-8
 * bytes, which the FastCGI pair codec writes byte for byte. Authorization and Proxy headers are
 * passed on (as with `CGIPassAuth On`), so an app's handling of them can be tested.
 */
export function buildCgiParams(opts: CgiParamsOptions): Array<[string, string]> {
  const req = normalise(opts);
  const out: Array<[string, string]> = [];
  for (const [name, value] of [...req.headers, ...serverVars(opts, req), ...requestVars(opts, req)]) {
    out.push([name, toByteString(value)]);
  }
  if (req.pathInfo !== '') {
    // Already bytes (percent-decoded): not converted again.
    out.push(['PATH_INFO', req.pathInfo]);
    out.push(['PATH_TRANSLATED', toByteString(req.documentRoot) + req.pathInfo]);
  }
  return out;
}

/** Request: the options normalised once, with the derived values every group of variables reads. */
interface Request {
  https: boolean;
  headers: Map<string, string>;
  path: string;
  query: string;
  mount: string;
  scriptName: string;
  documentRoot: string;
  scriptInUrl: boolean;
  /** pathInfo: a latin-1 string of the decoded bytes, '' when there is none. */
  pathInfo: string;
}

function normalise(opts: CgiParamsOptions): Request {
  const mode = opts.mode ?? 'fcgi';
  const headers = headerParams(opts.headers ?? []);
  if (!headers.has('HTTP_HOST')) headers.set('HTTP_HOST', opts.serverName ?? 'localhost');
  if (!headers.has('CONTENT_LENGTH')) {
    const length = opts.bodyLength === undefined ? (mode === 'fcgi' ? 0 : null) : opts.bodyLength;
    if (length !== null) headers.set('CONTENT_LENGTH', String(length));
  }
  const { path, query } = splitTarget(opts.target);
  const scriptName = opts.scriptName ?? (mode === 'cgi' ? '/dispatch.cgi' : '/dispatch.fcgi');
  const scriptInUrl = isScriptInUrl(path, scriptName);
  return {
    https: opts.https === true,
    headers,
    path,
    query,
    mount: trimSlash(opts.mountPoint ?? ''),
    scriptName,
    documentRoot: trimSlash(opts.documentRoot ?? '/var/www/html'),
    scriptInUrl,
    pathInfo: percentDecode(scriptInUrl ? path.slice(scriptName.length) : path),
  };
}

/** serverVars: the server, the client and the script's file, in Apache's order. */
function serverVars(opts: CgiParamsOptions, req: Request): Array<[string, string]> {
  const vars: Array<[string, string]> = [
    ['SERVER_SOFTWARE', 'dualcgi'],
    ['SERVER_NAME', opts.serverName ?? hostName(req.headers.get('HTTP_HOST')!)],
    ['SERVER_ADDR', opts.serverAddr ?? '127.0.0.1'],
    ['SERVER_PORT', String(opts.serverPort ?? (req.https ? 443 : 80))],
    ['REMOTE_ADDR', opts.remoteAddr ?? '127.0.0.1'],
    ['DOCUMENT_ROOT', req.documentRoot],
    ['REQUEST_SCHEME', req.https ? 'https' : 'http'],
  ];
  if (req.https) vars.push(['HTTPS', 'on']);
  vars.push(['SCRIPT_FILENAME', opts.scriptFilename ?? req.documentRoot + req.mount + req.scriptName]);
  vars.push(['REMOTE_PORT', String(opts.remotePort ?? 54321)]);
  return vars;
}

/** requestVars: the request line as CGI/1.1 describes it. */
function requestVars(opts: CgiParamsOptions, req: Request): Array<[string, string]> {
  const vars: Array<[string, string]> = [];
  if (!req.scriptInUrl) {
    // The rewrite is an internal redirect; Apache keeps the original path in REDIRECT_URL.
    vars.push(['REDIRECT_URL', req.mount + req.path], ['REDIRECT_STATUS', '200']);
  }
  vars.push(
    ['GATEWAY_INTERFACE', 'CGI/1.1'],
    ['SERVER_PROTOCOL', 'HTTP/1.1'],
    ['REQUEST_METHOD', opts.method ?? 'GET'],
    ['QUERY_STRING', req.query],
    ['REQUEST_URI', req.mount + opts.target],
    ['SCRIPT_NAME', req.mount + req.scriptName],
  );
  return vars;
}

/**
 * headerParams: request headers to HTTP_* variables (RFC 3875 4.1.18). Content-Type and
 * Content-Length become CONTENT_TYPE and CONTENT_LENGTH; repeated headers are joined as Apache's
 * header table merges them (`, `; cookies with `; `).
 */
function headerParams(headers: readonly HeaderPair[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of headers) {
    if (!PASSABLE_HEADER.test(name)) continue;
    const upper = name.toUpperCase().replace(/-/g, '_');
    const key = upper === 'CONTENT_TYPE' || upper === 'CONTENT_LENGTH' ? upper : `HTTP_${upper}`;
    const previous = out.get(key);
    const separator = key === 'HTTP_COOKIE' ? '; ' : ', ';
    out.set(key, previous === undefined ? value : previous + separator + value);
  }
  return out;
}

function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  return q === -1 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

/** isScriptInUrl: `/dispatch.fcgi/foo` names the script itself, so no rewrite happens (FIELD-NOTES row 3). */
function isScriptInUrl(path: string, scriptName: string): boolean {
  return path === scriptName || path.startsWith(`${scriptName}/`);
}

function trimSlash(path: string): string {
  return path.endsWith('/') ? path.slice(0, -1) : path;
}

function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/** toByteString: a JS string as the latin-1 string of its UTF-8 bytes (what goes on the wire). */
export function toByteString(value: string): string {
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) > 0x7f) return Buffer.from(value, 'utf8').toString('latin1');
  }
  return value;
}

/**
 * percentDecode: `%XX` escapes to bytes, as a latin-1 string of UTF-8 bytes. Characters that are
 * not escaped are UTF-8 encoded first; a `%` not followed by two hex digits stays literal.
 */
export function percentDecode(raw: string): string {
  const bytes = Buffer.from(raw, 'utf8');
  const out = Buffer.allocUnsafe(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x25 && i + 2 < bytes.length && isHex(bytes[i + 1]!) && isHex(bytes[i + 2]!)) {
      out[n++] = parseInt(bytes.toString('latin1', i + 1, i + 3), 16);
      i += 2;
    } else {
      out[n++] = b;
    }
  }
  return out.toString('latin1', 0, n);
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** scriptUrlName: `/` + the script's base name, the SCRIPT_NAME a script at the docroot gets. */
export function scriptUrlName(scriptPath: string): string {
  return `/${posix.basename(scriptPath)}`;
}

/** withParams: `params` with each override set: a name already there is dropped, the override goes last (the last of a name wins). */
export function withParams(params: Array<[string, string]>, overrides: ReadonlyArray<readonly [string, string]>): Array<[string, string]> {
  let out = params;
  for (const [name, value] of overrides) out = [...out.filter(([n]) => n !== name), [name, value]];
  return out;
}
