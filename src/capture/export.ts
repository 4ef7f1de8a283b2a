/**
 * Exports of one request, for the dashboard's "export" keys and for `dualcgi replay`: a curl
 * command, a replay file, an env file for dispatch.cgi. Pure functions: strings in, strings out; the
 * caller writes files.
 */
import { FCGI_KEEP_CONN, RecordType, Role, encodeBeginRequest, encodeParams, encodeRecord, encodeStream } from '../protocol';
import type { CapturedRequest } from './requests';
import { CAPTURE_FORMAT, type CaptureHeader, type CaptureMeta } from './writer';

/** ExportableRequest: what an export needs. Param values are latin-1 strings of the wire bytes. */
export interface ExportableRequest {
  params: ReadonlyArray<readonly [string, string]>;
  /** body: the STDIN bytes; null when unknown (redacted or cut short in a trace). */
  body: Buffer | null;
  role?: number;
  keepConn?: boolean;
  requestId?: number;
  /** records: the original records (from a capture), kept as they were framed. */
  records?: readonly Buffer[];
}

/** TracedRecordLike: the fields of a trace record event (or the dashboard's RecordEntry) read here. */
export interface TracedRecordLike {
  dir: string;
  type: string;
  contentLength: number;
  preview?: string;
  redacted?: boolean;
  keepConn?: boolean;
}

/** TracedRequestLike: a request as traced (the dashboard's RequestEntry fits). */
export interface TracedRequestLike {
  params: ReadonlyArray<readonly [string, string]>;
  records?: readonly TracedRecordLike[];
  recordsOmitted?: number;
}

/** fromCapturedRequest: a request from a capture file: everything is known, framing included. */
export function fromCapturedRequest(r: CapturedRequest): ExportableRequest {
  return { params: r.params, body: r.stdin, role: r.role, keepConn: (r.flags & FCGI_KEEP_CONN) !== 0, requestId: r.requestId, records: r.records };
}

/**
 * fromTracedRequest: a request from trace events. The body is rebuilt from the STDIN previews only
 * when every one is whole and unredacted (traces redact bodies unless DUALCGI_SHOW_SECRETS=1);
 * otherwise it is null, and exports say so. A GET with no STDIN bytes has an empty body.
 */
export function fromTracedRequest(entry: TracedRequestLike): ExportableRequest {
  const stdin = (entry.records ?? []).filter((r) => r.dir === 'in' && r.type === 'STDIN' && r.contentLength > 0);
  const begin = (entry.records ?? []).find((r) => r.dir === 'in' && r.type === 'BEGIN_REQUEST');
  const length = Number(entry.params.find(([n]) => n === 'CONTENT_LENGTH')?.[1] ?? '0') || 0;
  let body: Buffer | null = Buffer.alloc(0);
  if ((entry.recordsOmitted ?? 0) > 0 && length > 0) body = null;
  else if (stdin.some((r) => r.redacted || r.preview === undefined || r.preview.endsWith('…'))) body = null;
  else if (stdin.length > 0) body = Buffer.concat(stdin.map((r) => unescapePreview(r.preview!)));
  return { params: entry.params, body, ...(begin?.keepConn !== undefined ? { keepConn: begin.keepConn } : {}) };
}

/** unescapePreview: the inverse of trace/redact preview() for a whole (not cut) preview. */
export function unescapePreview(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      bytes.push(text.charCodeAt(i) & 0xff);
      continue;
    }
    const next = text[++i];
    if (next === 'n') bytes.push(0x0a);
    else if (next === 'r') bytes.push(0x0d);
    else if (next === 'x') {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(0x5c);
  }
  return Buffer.from(bytes);
}

function param(req: ExportableRequest, name: string): string | undefined {
  let value: string | undefined;
  for (const [n, v] of req.params) if (n === name) value = v; // the last one wins, as in dispatch
  return value === undefined ? undefined : Buffer.from(value, 'latin1').toString('utf8');
}

/** shellQuote: one POSIX shell word. */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * requestUrl: the URL the browser asked for: scheme, HTTP_HOST (or SERVER_NAME) with SERVER_PORT
 * unless it is the scheme's own, REQUEST_URI. nginx's stock params send HTTP_HOST without the port
 * (FIELD-NOTES), so a host without one gets SERVER_PORT: else the command goes to port 80.
 */
export function requestUrl(req: ExportableRequest): string {
  const https = (param(req, 'HTTPS') ?? '').toLowerCase() === 'on' || param(req, 'REQUEST_SCHEME') === 'https';
  const port = param(req, 'SERVER_PORT');
  const defaultPort = https ? '443' : '80';
  const name = param(req, 'HTTP_HOST') || param(req, 'SERVER_NAME') || 'localhost';
  const hasPort = /(^[^:]*|\]):\d+$/.test(name);
  const host = `${name}${!hasPort && port && /^\d+$/.test(port) && port !== defaultPort ? `:${port}` : ''}`;
  const query = param(req, 'QUERY_STRING');
  const uri = param(req, 'REQUEST_URI') ?? `${param(req, 'SCRIPT_NAME') ?? ''}${param(req, 'PATH_INFO') ?? ''}${query ? `?${query}` : ''}`;
  return `${https ? 'https' : 'http'}://${host}${uri || '/'}`;
}

/** NOT_RESENT: params that are not headers to resend: curl adds them, or the web server made them up. */
const NOT_RESENT = new Set(['HTTP_HOST', 'HTTP_CONTENT_LENGTH', 'HTTP_CONTENT_TYPE', 'HTTP_CONNECTION', 'HTTP_TRANSFER_ENCODING']);

/** headerName: HTTP_X_FORWARDED_FOR -> X-Forwarded-For. */
function headerName(param: string): string {
  return param.slice(5).toLowerCase().split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('-');
}

/** CurlOptions: where the command points and where a body too big to inline lives. */
export interface CurlOptions {
  /** baseUrl: replaces scheme://host (e.g. http://127.0.0.1:8080 for `dualcgi dev`). */
  baseUrl?: string;
  /** bodyFile: read the body from this file (`--data-binary @FILE`). Default: inline when short text. */
  bodyFile?: string;
}

/**
 * toCurl: a curl command that sends the same HTTP request to the web server: method, URL
 * (--path-as-is: no dot-segment cleanup), the headers the params carry, and the body. Secrets a trace
 * redacted stay "[redacted]"; a body that is unknown is said so in a comment line above the command.
 */
export function toCurl(req: ExportableRequest, options: CurlOptions = {}): string {
  let url = requestUrl(req);
  if (options.baseUrl) url = options.baseUrl.replace(/\/$/, '') + url.slice(url.indexOf('/', url.indexOf('//') + 2));
  const method = param(req, 'REQUEST_METHOD') ?? 'GET';
  const words = ['curl', '--path-as-is', '-g'];
  const hasBody = req.body !== null && req.body.length > 0;
  if (method !== 'GET' && !(method === 'POST' && hasBody)) words.push('-X', shellQuote(method));
  const contentType = param(req, 'CONTENT_TYPE');
  if (contentType) words.push('-H', shellQuote(`Content-Type: ${contentType}`));
  for (const [name] of req.params) {
    if (!name.startsWith('HTTP_') || NOT_RESENT.has(name)) continue;
    words.push('-H', shellQuote(`${headerName(name)}: ${param(req, name) ?? ''}`));
  }
  const notes: string[] = [];
  if (hasBody) {
    const body = req.body!;
    if (options.bodyFile === undefined && isShortText(body)) words.push('--data-binary', shellQuote(body.toString('utf8')));
    else {
      words.push('--data-binary', shellQuote(`@${options.bodyFile ?? 'request.body'}`));
      if (options.bodyFile === undefined) notes.push(`# the ${body.length}-byte body goes in request.body`);
    }
  } else if (req.body === null) {
    notes.push('# the body was not traced (bodies are redacted unless DUALCGI_SHOW_SECRETS=1; --capture keeps it)');
  }
  words.push(shellQuote(url));
  return [...notes, words.join(' ')].join('\n') + '\n';
}

function isShortText(body: Buffer): boolean {
  if (body.length > 4096) return false;
  const text = body.toString('utf8');
  // eslint-disable-next-line no-control-regex
  return !text.includes('\uFFFD') && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text);
}

/** EnvFileOptions: the names the run line uses: the entry script, this file, the body's file. */
export interface EnvFileOptions {
  script?: string;
  /** envFile: where this file will be (default ./request.env: `replay --export env > request.env`). */
  envFile?: string;
  bodyFile?: string;
}

/**
 * toEnvFile: the params as a POSIX shell file for running dispatch.cgi by hand, one CGI hit with the
 * very environment of the captured request (`set -a; . ./request.env`). Names a shell cannot hold are
 * listed as comments. The first lines say how to run it and where the body goes.
 */
export function toEnvFile(req: ExportableRequest, options: EnvFileOptions = {}): string {
  const script = options.script ?? './dispatch.cgi';
  const envFile = options.envFile ?? './request.env';
  const bodyFile = options.bodyFile ?? 'request.body';
  const input = req.body === null ? ' < /dev/null  # the body was not traced' : req.body.length > 0 ? ` < ${shellQuote(bodyFile)}` : ' < /dev/null';
  const lines = [
    `# ${param(req, 'REQUEST_METHOD') ?? 'GET'} ${param(req, 'REQUEST_URI') ?? ''} as a CGI environment (exported by dualcgi)`,
    `# run: env -i PATH="$PATH" sh -c ${shellQuote(`set -a; . ${shellQuote(envFile)}; exec ${script}`)}${input}`,
  ];
  for (const [name] of req.params) {
    const value = param(req, name) ?? '';
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) lines.push(`${name}='${value.replace(/'/g, `'\\''`)}'`);
    else lines.push(`# not a shell name: ${JSON.stringify(name)}=${JSON.stringify(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * toReplayFile: a capture file (the format `dualcgi replay` reads) holding this one request as the
 * web server sent it: the original records when known, else BEGIN_REQUEST, PARAMS and STDIN encoded
 * afresh. An unknown body is sent empty, and the header's meta says so.
 */
export function toReplayFile(req: ExportableRequest, meta: CaptureMeta = {}, now = Date.now()): string {
  const id = req.requestId ?? 1;
  const records = req.records ? [...req.records] : [
    encodeBeginRequest(id, req.role ?? Role.Responder, req.keepConn ? FCGI_KEEP_CONN : 0),
    ...encodeParams(id, req.params),
    ...encodeStream(RecordType.Stdin, id, req.body ?? Buffer.alloc(0)),
    encodeRecord(RecordType.Stdin, id),
  ];
  const header: CaptureHeader = {
    capture: CAPTURE_FORMAT, version: 1, id: `export-${now}`, start: now, pid: process.pid,
    meta: { source: 'export', bodyKnown: req.body !== null, ...meta },
  };
  const data = Buffer.concat(records);
  return `${JSON.stringify(header)}\n${JSON.stringify({ t: 0, dir: 'in', data: data.toString('base64') })}\n` +
    `${JSON.stringify({ t: 0, end: true, reason: 'exported', bytesIn: data.length, bytesOut: 0 })}\n`;
}
