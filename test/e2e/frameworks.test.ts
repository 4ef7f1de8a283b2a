// The framework matrix: Express, Koa, Fastify, Connect and Hono, each served unchanged through
// CGI (Apache mod_cgid), FastCGI on fd 0 (Apache mod_fcgid) and FastCGI on a socket (nginx ->
// `dualcgi serve`), must answer every probe as the same app answers on node:http directly
// (a fetch app: its own fetch()). Compared: status, body, headers but those the server owns
// (Date, Server, Connection, Keep-Alive, Transfer-Encoding); Content-Length where both have one.

import { describe, before, after, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { httpRequest, makeWorld, processesOf, removeWorld } from './harness/util';
import {
  FRAMEWORKS, headerLines, responseLines, startMatrix, type Framework, type MatrixWorld, type Observed, type TargetName,
} from './fixtures/frameworks/matrix';
import { loadApp, type LoadedApp } from '../../src/launch/load-app';

const TARGETS: TargetName[] = ['apache-cgid', 'apache-fcgid', 'nginx-serve'];
const HOST = 'matrix.test';

interface Probe {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  only?: Framework[];
  /**
   * browserUrl: frameworks whose answer names req.originalUrl, the URL the browser asked for
   * (finalhandler's "Cannot GET /app/missing"): through a server it carries the mount point.
   */
  browserUrl?: Framework[];
}

/** uploadBody: a multipart/form-data body with a text field and a 5 MB file. */
function uploadBody(): { body: Buffer; type: string } {
  const boundary = '----dualcgi-matrix-boundary';
  const file = Buffer.alloc(5 * 1000 * 1000);
  for (let i = 0; i < file.length; i++) file[i] = (i * 7 + (i >> 10)) & 0xff;
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello multer\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="blob.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  return { body: Buffer.concat([Buffer.from(head), file, Buffer.from(`\r\n--${boundary}--\r\n`)]), type: `multipart/form-data; boundary=${boundary}` };
}

const upload = uploadBody();
const PROBES: Probe[] = [
  { path: '/info?x=1&y=two%20words' },
  { method: 'HEAD', path: '/info?x=1' },
  { method: 'POST', path: '/json', headers: { 'Content-Type': 'application/json' }, body: Buffer.from('{"a":[1,2],"b":"c"}') },
  { method: 'POST', path: '/form', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: Buffer.from('k=v&n=2&s=a+b') },
  { path: '/redirect' },
  { path: '/cookies' },
  { path: '/missing', browserUrl: ['express', 'connect'] },
  { path: '/error' },
  { path: '/file', only: ['express'] },
  // res.sendFile (send): a Range request, HEAD, and a conditional GET (If-None-Match: * is fresh).
  { path: '/file', headers: { Range: 'bytes=2-5' }, only: ['express'] },
  { method: 'HEAD', path: '/file', only: ['express'] },
  { path: '/file', headers: { 'If-None-Match': '*' }, only: ['express'] },
  // express.json()'s limit (100 kB): 413 before the body is read; the body must still be drained.
  { method: 'POST', path: '/json', headers: { 'Content-Type': 'application/json' }, body: Buffer.from(`{"a":"${'x'.repeat(200 * 1024)}"}`), only: ['express'] },
  { method: 'POST', path: '/upload', headers: { 'Content-Type': upload.type }, body: upload.body, only: ['express'] },
];

/** ExpectReply: an answer to a POST sent with `Expect: 100-continue`, the body held back until a 100. */
interface ExpectReply {
  status: number;
  body: string;
  /** interim: the server sent "100 Continue" before the body was sent. */
  interim: boolean;
}

/** postExpecting: the body goes out on "100 Continue", or after 2 s without one (what curl does after 1 s). */
function postExpecting(port: number, urlPath: string, body: Buffer): Promise<ExpectReply> {
  return new Promise((resolve, reject) => {
    let interim = false;
    const req = http.request({
      host: '127.0.0.1', port, path: urlPath, method: 'POST', agent: false,
      headers: { Host: HOST, Expect: '100-continue', 'Content-Type': 'application/octet-stream', 'Content-Length': body.length },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), interim }));
    });
    const fallback = setTimeout(() => req.end(body), 2000);
    req.on('continue', () => {
      interim = true;
      clearTimeout(fallback);
      req.end(body);
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

/** firstBytes: when the first body bytes and the end arrived (ms after the request), and the body. */
function firstBytes(port: number, urlPath: string): Promise<{ first: number; end: number; body: string }> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    let first = -1;
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, headers: { Host: HOST } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        if (first < 0) first = Date.now() - start;
        chunks.push(c);
      });
      res.on('end', () => resolve({ first, end: Date.now() - start, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
  });
}

/** getWithPort: a GET that also reports the client's own port (what REMOTE_PORT must be). */
function getWithPort(port: number, urlPath: string): Promise<{ body: string; localPort: number }> {
  return new Promise((resolve, reject) => {
    let localPort = 0;
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, headers: { Host: HOST } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ body: Buffer.concat(chunks).toString(), localPort }));
    });
    req.on('socket', (socket) => socket.on('connect', () => { localPort = socket.localPort ?? 0; }));
    req.on('error', reject);
  });
}

/** describeProbe: names a probe, and keys its direct answer: probes of one path differ in headers or body. */
function describeProbe(p: Probe): string {
  const extra = p.headers && !p.body ? ` ${JSON.stringify(p.headers)}` : p.body ? ` (${p.body.length} bytes)` : '';
  return `${p.method ?? 'GET'} ${p.path}${extra}`;
}

/** observe: an HTTP answer reduced for comparison. */
async function observeHttp(port: number, urlPath: string, probe: Probe): Promise<Observed & { length?: string }> {
  const r = await httpRequest(port, urlPath, { method: probe.method ?? 'GET', headers: { Host: HOST, ...probe.headers }, body: probe.body, timeoutMs: 30000 });
  const length = r.headers['content-length'];
  return { status: r.status, headers: headerLines(r.headers), body: r.body, ...(length !== undefined ? { length } : {}) };
}

/** Direct: the same app without dualcgi: node:http for listeners, fetch() itself for fetch apps. */
interface Direct {
  observe(probe: Probe): Promise<Observed & { length?: string }>;
  close(): Promise<void>;
}

async function startDirect(loaded: LoadedApp): Promise<Direct> {
  if (loaded.kind === 'fetch') {
    return {
      async observe(probe) {
        const init: RequestInit & { duplex?: 'half' } = { method: probe.method ?? 'GET', headers: { Host: HOST, ...probe.headers } };
        if (probe.body) init.body = probe.body;
        const res = await loaded.app.fetch(new Request(`http://${HOST}${probe.path}`, init));
        const body = Buffer.from(await res.arrayBuffer());
        const length = res.headers.get('content-length');
        return { status: res.status, headers: responseLines(res.headers), body, ...(length !== null ? { length } : {}) };
      },
      close: async () => undefined,
    };
  }
  const server = http.createServer(loaded.listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    observe: (probe) => observeHttp(port, probe.path, probe),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** withBrowserUrl: the direct answer as it reads when the browser's URL carries the mount point. */
function withBrowserUrl(o: Observed & { length?: string }, urlPath: string, prefix: string): Observed & { length?: string } {
  const body = Buffer.from(o.body.toString().replace(urlPath, prefix + urlPath));
  return { ...o, body, ...(o.length !== undefined ? { length: String(body.length) } : {}) };
}

/** sha: bodies are compared by hash so a failing 5 MB comparison prints a line, not megabytes. */
function summary(o: Observed & { length?: string }): { status: number; headers: string[]; body: string } {
  const text = o.body.length <= 400 ? o.body.toString('utf8') : `${o.body.length} bytes sha256 ${createHash('sha256').update(o.body).digest('hex')}`;
  return { status: o.status, headers: o.headers, body: text };
}

describe('e2e: framework matrix (Express, Koa, Fastify, Connect, Hono) x (CGI, FastCGI fd 0, FastCGI socket)', () => {
  let world = '';
  let m: MatrixWorld | undefined;
  const directs = new Map<Framework, Direct>();
  const expected = new Map<string, Observed & { length?: string }>();

  before(async () => {
    world = await makeWorld('e2e-matrix');
    m = await startMatrix(world);
    for (const fw of FRAMEWORKS) directs.set(fw, await startDirect(await loadApp(path.join(m.appsDir, fw, 'app.js'))));
  });

  after(async () => {
    for (const d of directs.values()) await d.close();
    await m?.stop();
    const left = processesOf(undefined, [world]);
    assert.deepEqual(left.map((p) => `${p.pid} ${p.cmdline}`), [], 'processes left behind');
    await removeWorld(world);
  });

  async function direct(fw: Framework, probe: Probe): Promise<Observed & { length?: string }> {
    const key = `${fw} ${describeProbe(probe)}`;
    let o = expected.get(key);
    if (!o) expected.set(key, (o = await directs.get(fw)!.observe(probe)));
    return o;
  }

  for (const fw of FRAMEWORKS) {
    for (const target of TARGETS) {
      it(`${fw} via ${target}: every probe answers as on node:http`, async () => {
        const { port, prefix } = m!.where(target, fw);
        for (const probe of PROBES.filter((p) => !p.only || p.only.includes(fw))) {
          let want = await direct(fw, probe);
          if (probe.browserUrl?.includes(fw)) want = withBrowserUrl(want, probe.path, prefix);
          const got = await observeHttp(port, prefix + probe.path, probe);
          const what = `${fw} via ${target}: ${describeProbe(probe)}`;
          if (got.status >= 500 && want.status < 500) assert.fail(`${what}: ${got.status}\n${got.body.toString().slice(0, 500)}\n${await m!.logs()}`);
          assert.deepEqual(summary(got), summary(want), what);
          if (got.length !== undefined && want.length !== undefined) assert.equal(got.length, want.length, `${what}: Content-Length`);
        }
      });
    }
  }

  for (const target of TARGETS) {
    it(`the mount point fix via ${target}: the app routes below its folder and knows the folder`, async () => {
      for (const fw of FRAMEWORKS) {
        const { port, prefix } = m!.where(target, fw);
        const r = await httpRequest(port, `${prefix}/where?q=1`, { headers: { Host: HOST } });
        assert.equal(r.status, 200, `${fw} via ${target}: ${r.body.toString()}`);
        const where = JSON.parse(r.body.toString()) as { url: string; originalUrl: string; mountPoint: string; mode: string };
        assert.equal(where.mountPoint, prefix, `${fw} via ${target}`);
        assert.equal(where.mode, target === 'apache-cgid' ? 'cgi' : 'fcgi');
        assert.equal(where.originalUrl, `${prefix}/where?q=1`);
        assert.match(where.url, /\/where\?q=1$/);
      }
    });
  }

  for (const target of TARGETS) {
    const apache = target !== 'nginx-serve';
    it(`HTTP details via ${target}: Expect: 100-continue, remote address and port, an app-set Transfer-Encoding`, async () => {
      const { port, prefix } = m!.where(target, 'connect');
      const body = Buffer.alloc(300 * 1024, 1);
      const expect = await postExpecting(port, `${prefix}/expect`, body);
      assert.equal(expect.status, 200, expect.body);
      // The web server answers the 100 itself; the app only sees the header.
      assert.equal(expect.interim, true, 'no 100 Continue from the web server');
      assert.deepEqual(JSON.parse(expect.body), { expect: '100-continue', received: body.length });
      const remote = await getWithPort(port, `${prefix}/remote`);
      assert.deepEqual(JSON.parse(remote.body), { address: '127.0.0.1', port: remote.localPort, https: false });
      const te = await httpRequest(port, `${prefix}/te`, { headers: { Host: HOST } });
      assert.equal(te.status, 200);
      assert.equal(te.body.toString(), 'framed by the server');
    });

    it(`HTTP details via ${target}: a response written over time ${target === 'apache-fcgid' ? 'arrives whole (mod_fcgid buffers it)' : 'reaches the client before its end'}`, async () => {
      // The app writes its head and 4 bytes, and the rest 600 ms later (Connect: res.write; Hono:
      // a ReadableStream body, its head and first chunk in one write). mod_cgid passes each write
      // on. nginx (fastcgi_keep_conn on) held a short first write that shared the head's record
      // until the next one (fastcgi/connection.ts #padOpenRecord); X-Accel-Buffering: no is the
      // app's way to turn nginx's buffering off. mod_fcgid buffers up to FcgidOutputBufferSize
      // (64 KiB) whatever the app says (README "Streaming").
      const probes: Array<[Framework, string]> = [['connect', '/stream'], ['hono', '/stream']];
      if (target === 'nginx-serve') probes.push(['connect', '/stream?nobuf=1']);
      for (const [fw, p] of probes) {
        const { port, prefix } = m!.where(target, fw);
        const r = await firstBytes(port, `${prefix}${p}`);
        assert.equal(r.body, 'one\ntwo\n');
        if (target === 'apache-fcgid') assert.ok(r.first >= 500, `${fw} ${p}: mod_fcgid sent the first bytes after ${r.first} ms`);
        else assert.ok(r.end - r.first >= 400, `${fw} ${p}: first bytes after ${r.first} ms, the end after ${r.end} ms`);
      }
    });

    it(`HTTP details via ${target}: ${apache ? 'Status 200 + Location: /path is an internal redirect' : 'a Location path with Status 200 reaches the client (no CGI local redirect in nginx)'}`, async () => {
      const { port, prefix } = m!.where(target, 'connect');
      const r = await httpRequest(port, `${prefix}/local-redirect`, { headers: { Host: HOST } });
      assert.equal(r.status, 200);
      if (apache) {
        assert.deepEqual(r.body, m!.staticContent, 'Apache served /static/hello.txt in place of the empty answer');
        assert.equal(r.headers.location, undefined);
      } else {
        assert.equal(r.headers.location, '/static/hello.txt');
        assert.equal(r.body.length, 0);
      }
    });

    it(`HTTP details via ${target}: X-Sendfile and X-Accel-Redirect are passed on untouched`, async () => {
      const { port, prefix } = m!.where(target, 'connect');
      const r = await httpRequest(port, `${prefix}/accel`, { headers: { Host: HOST } });
      assert.equal(r.status, 200);
      if (apache) {
        // No mod_xsendfile: Apache hands both headers and the app's body to the client as they are.
        assert.equal(r.headers['x-sendfile'], '/srv/files/hello.txt');
        assert.equal(r.headers['x-accel-redirect'], '/static/hello.txt');
        assert.equal(r.body.toString(), 'the app body\n');
      } else {
        // nginx acts on X-Accel-Redirect: it serves the named location instead of the app's body.
        assert.deepEqual(r.body, m!.staticContent);
        assert.equal(r.headers['x-accel-redirect'], undefined);
      }
    });
  }
});
