/** Shared fixtures of the client tests: temp dirs, a real FastCGIServer, tiny scripts. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Connection } from '../../src/fastcgi/connection';
import type { FcgiRequest } from '../../src/fastcgi/request';
import { FastCGIServer, type FastCGIServerOptions } from '../../src/fastcgi/server';

/** tempDir: a fresh folder; `cleanup` removes it. */
export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'dualcgi-client-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** RunningServer: a FastCGIServer on a Unix socket in its own temp dir. */
export interface RunningServer {
  server: FastCGIServer;
  address: string;
  dir: string;
  stop(): Promise<void>;
}

/** startServer: our own responder on `unix:<tmp>/fcgi.sock` with the given handler. */
export async function startServer(onRequest: (request: FcgiRequest, conn: Connection) => void,
  options: Partial<FastCGIServerOptions> = {}): Promise<RunningServer> {
  const { dir, cleanup } = tempDir();
  const server = new FastCGIServer({ ...options, onRequest });
  const path = join(dir, 'fcgi.sock');
  await server.listen({ kind: 'unix', path });
  return {
    server,
    address: `unix:${path}`,
    dir,
    stop: async () => {
      await server.close(100);
      cleanup();
    },
  };
}

/** respond: write a whole CGI response (head + body) and end the request. */
export function respond(request: FcgiRequest, head: string, body: Buffer | string = ''): void {
  const buf = Buffer.concat([Buffer.from(head, 'latin1'), typeof body === 'string' ? Buffer.from(body) : body]);
  request.write(buf, () => request.end());
}

/** readBody: collect the request body, then call `done`. */
export function readBody(request: FcgiRequest, done: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  request.startBody({
    data: (chunk) => { chunks.push(chunk); return true; },
    end: () => done(Buffer.concat(chunks)),
    error: () => {},
  });
}

/** writeScript: an executable file in `dir`. */
export function writeScript(dir: string, name: string, text: string, mode = 0o755): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

/** nodeFastcgiModule: node-fastcgi by absolute path (a launched script has no node_modules nearby). */
export const nodeFastcgiModule = resolve(__dirname, '../../../node_modules/node-fastcgi');

/**
 * fastcgiScript: a tiny FastCGI app as a web server would launch it: the shebang is this node, and
 * node-fastcgi's listen() with no arguments serves on the listening socket at fd 0.
 */
export function fastcgiScript(dir: string, name = 'dispatch.fcgi'): string {
  return writeScript(dir, name, `#!${process.execPath}
const fcgi = require(${JSON.stringify(nodeFastcgiModule)});
let hits = 0;
fcgi.createServer((req, res) => {
  hits++;
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url.startsWith('/crash')) process.exit(3);
    const body = JSON.stringify({ pid: process.pid, hits, url: req.url, method: req.method,
      body: Buffer.concat(chunks).toString(), cwd: process.cwd(), env: Object.keys(process.env).sort() });
    console.error('served ' + req.url);
    const status = req.url.startsWith('/missing') ? 404 : 200;
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(body);
  });
}).listen();
`);
}

/** cgiScript: a `#!/bin/sh` CGI script that prints its environment, arguments and body. */
export function cgiScript(dir: string, name = 'dispatch.cgi'): string {
  return writeScript(dir, name, `#!/bin/sh
echo "Content-Type: text/plain"
echo "X-Argc: $#"
echo ""
echo "args=$*"
echo "cwd=$(pwd)"
echo "body=$(cat)"
env | sort
echo "cgi says hello" >&2
`);
}
