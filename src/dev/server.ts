import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { parseCgiResponse } from '../client/cgi-response';
import { buildCgiParams, type HeaderPair, percentDecode } from '../client/params';
import { CgiBackend, type DevBackend, FcgiBackend } from './backend';
import { classicRules, type FrontRules, parseRules, route } from './rewrite';

/** DevOptions: the command line, normalised. */
export interface DevOptions {
  docroot: string;
  port: number;
  host: string;
  /** mode: how the script runs; default from its name (.cgi: CGI, else FastCGI). */
  mode?: 'cgi' | 'fcgi';
  /** env: added to the script's environment (DUALCGI_TRACE, DUALCGI_WATCH), as FcgidInitialEnv / SetEnv would. */
  env: Record<string, string>;
  log(line: string): void;
}

/** RunningDev: the listening front. */
export interface RunningDev {
  server: Server;
  port: number;
  rules: FrontRules;
  script: string;
  backend: DevBackend;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.htm': 'text/html; charset=utf-8', '.txt': 'text/plain; charset=utf-8',
  '.css': 'text/css', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif',
  '.ico': 'image/x-icon', '.webp': 'image/webp', '.woff2': 'font/woff2', '.pdf': 'application/pdf', '.map': 'application/json',
};
/** MAX_BODY: mod_fcgid reads the whole body first; dev does the same, up to this. */
const MAX_BODY = 100 * 1024 * 1024;
/** MAX_REDIRECTS: Apache's LimitInternalRecursion. */
const MAX_REDIRECTS = 10;

/** loadRules: the .htaccess rewrite rules of DOCROOT, else the classic ones. */
export function loadRules(docroot: string): FrontRules {
  try {
    return parseRules(readFileSync(join(docroot, '.htaccess'), 'utf8')) ?? classicRules(defaultScript(docroot));
  } catch {
    return classicRules(defaultScript(docroot));
  }
}

function defaultScript(docroot: string): string {
  return existsSync(join(docroot, 'dispatch.fcgi')) || !existsSync(join(docroot, 'dispatch.cgi')) ? 'dispatch.fcgi' : 'dispatch.cgi';
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** serveFile: what Apache does for a static file: 200 with Last-Modified, 403 for .ht* and folders, 404. */
function serveFile(req: IncomingMessage, res: ServerResponse, docroot: string, urlPath: string): number {
  const file = join(docroot, urlPath);
  if (!file.startsWith(`${docroot}/`) && file !== docroot) return plainStatus(res, 403, 'Forbidden');
  if (urlPath.split('/').some((p) => p.startsWith('.ht'))) return plainStatus(res, 403, 'Forbidden');
  let st;
  try {
    st = statSync(file);
  } catch {
    return plainStatus(res, 404, 'Not Found');
  }
  if (!st.isFile()) return plainStatus(res, 403, 'Forbidden');
  res.writeHead(200, {
    'Content-Type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': st.size,
    'Last-Modified': st.mtime.toUTCString(),
  });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
  return 200;
}

function plainStatus(res: ServerResponse, status: number, text: string): number {
  plain(res, status, `${status} ${text}\n`);
  return status;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy(new Error(`request body over ${MAX_BODY} bytes`));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** requestHeaders: as Apache passes them on: Proxy dropped (httpoxy), Authorization kept (CGIPassAuth On). */
function requestHeaders(req: IncomingMessage): HeaderPair[] {
  const out: HeaderPair[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() !== 'proxy') out.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
  }
  return out;
}

/**
 * DevFront: the request handler. Static files as Apache serves them; everything the rules send to
 * the script gets the CGI variables mod_fcgid / mod_cgi would set (client/params), and the
 * script's CGI answer becomes the HTTP response (a local redirect is followed, as Apache does).
 */
class DevFront {
  readonly #o: DevOptions;
  readonly rules: FrontRules;
  readonly script: string;
  readonly backend: DevBackend;
  port = 0;

  constructor(o: DevOptions) {
    this.#o = o;
    this.rules = loadRules(o.docroot);
    this.script = join(o.docroot, this.rules.script);
    const mode = o.mode ?? (this.rules.script.endsWith('.cgi') ? 'cgi' : 'fcgi');
    this.backend = mode === 'cgi' ? new CgiBackend(this.script, o.env, o.log) : new FcgiBackend(this.script, o.env, o.log);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const target = req.url ?? '/';
    let status: number;
    let via = '';
    try {
      const path = target.split('?')[0]!;
      const routed = route(this.rules, Buffer.from(percentDecode(path), 'latin1').toString('utf8'));
      if (routed.kind === 'file') status = serveFile(req, res, this.#o.docroot, routed.path);
      else {
        const body = await readBody(req);
        [status, via] = await this.#script(req, res, target, body, 0);
      }
    } catch (err) {
      this.#o.log(`error: ${(err as Error).message}`);
      status = res.headersSent ? 0 : plainStatus(res, 500, 'Internal Server Error');
      if (status === 0) res.destroy();
    }
    this.#o.log(`${req.method} ${target} ${status} ${Date.now() - started} ms${via}`);
  }

  async #script(req: IncomingMessage, res: ServerResponse, target: string, body: Buffer, depth: number): Promise<[number, string]> {
    const mode = this.backend.mode;
    const chunked = /chunked/i.test(String(req.headers['transfer-encoding'] ?? ''));
    const socket = req.socket;
    const params = buildCgiParams({
      method: depth === 0 ? req.method ?? 'GET' : 'GET',
      target,
      headers: requestHeaders(req),
      // Apache CGI: no CONTENT_LENGTH for a chunked upload; mod_fcgid reads the body first and counts it.
      ...(body.length > 0 ? { bodyLength: mode === 'cgi' && chunked ? null : body.length } : {}),
      mode,
      scriptName: `/${this.rules.script}`,
      documentRoot: this.#o.docroot,
      scriptFilename: this.script,
      serverPort: this.port,
      serverAddr: socket.localAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
      remoteAddr: socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
      remotePort: socket.remotePort ?? 0,
    });
    const answer = await this.backend.answer(params, depth === 0 ? body : Buffer.alloc(0));
    let parsed;
    try {
      parsed = parseCgiResponse(answer.stdout);
    } catch (err) {
      // Apache: 500 "malformed header from script" / "End of script output before headers".
      this.#o.log(`${this.rules.script}: ${(err as Error).message}`);
      return [plainStatus(res, 500, 'Internal Server Error'), ''];
    }
    const via = ` (${mode}${answer.pid ? ` pid ${answer.pid}` : ''})`;
    if (parsed.kind === 'local-redirect' && depth < MAX_REDIRECTS) {
      const location = parsed.headers.find(([n]) => n.toLowerCase() === 'location')![1];
      return this.#script(req, res, location, body, depth + 1);
    }
    const headers: string[] = [];
    for (const [name, value] of parsed.headers) {
      if (name.toLowerCase() !== 'transfer-encoding') headers.push(name, value);
    }
    res.writeHead(parsed.status, parsed.statusText, headers);
    res.end(req.method === 'HEAD' ? undefined : parsed.body);
    return [parsed.status, via];
  }
}

/** startDev: listen on host:port (0: any free port) and serve DOCROOT. */
export async function startDev(o: DevOptions): Promise<RunningDev> {
  const front = new DevFront(o);
  const server = createServer((req, res) => void front.handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  front.port = (server.address() as AddressInfo).port;
  return {
    server, port: front.port, rules: front.rules, script: front.script, backend: front.backend,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await front.backend.close();
    },
  };
}
