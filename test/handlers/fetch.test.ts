import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { FastCGIClientConnection } from '../../src/client/fastcgi-client';
import { buildCgiParams } from '../../src/client/params';
import type { CgiError } from '../../src/cgi/errors';
import { isRawLine, subscribe, type TraceMessage } from '../../src/trace/channel';
import { serialize } from '../../src/trace/sink';
import type { FetchEnv } from '../../src/handlers/fetch';
import { appFromValue } from '../../src/launch/load-app';
import {
  RecordDecoder, RecordType, decodeEndRequestBody, encodeBeginRequest, encodeParams, encodeRecord,
} from '../../src/protocol';
import { serveApp } from './app-fixture';
import { header, headerAll } from './fixture';

type Handler = (request: Request, env: FetchEnv) => Response | Promise<Response>;

/** Events a test waits for: the app tells the test what it saw. */
const seen = new Map<string, (value: unknown) => void>();
function waitFor(name: string): Promise<unknown> {
  return new Promise((resolve) => seen.set(name, resolve));
}
function tell(name: string, value: unknown): void {
  seen.get(name)?.(value);
}

const routes: Record<string, Handler> = {
  '/echo-url': (req, env) => Response.json({
    url: req.url, method: req.method, originalUrl: env.dualcgi.originalUrl, mountPoint: env.dualcgi.mountPoint,
    mode: env.dualcgi.mode, role: env.dualcgi.role, remote: env.dualcgi.params.get('REMOTE_ADDR'),
    remotePort: env.dualcgi.params.get('REMOTE_PORT'), headers: [...req.headers],
  }),
  '/upload': async (req) => {
    const hash = createHash('sha256');
    let n = 0;
    for await (const chunk of req.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      n += chunk.length;
    }
    return new Response(`${n} ${hash.digest('hex')}`);
  },
  '/first-chunk': async (req) => {
    // Answers after the first chunk, while the client still holds back the rest of the body.
    const reader = req.body!.getReader();
    const first = await reader.read();
    tell('first-chunk', first.value?.length);
    return new Response(`first ${first.value?.length}`);
  },
  '/cookies': () => {
    const headers = new Headers([['Content-Type', 'text/plain'], ['Connection', 'keep-alive'], ['Transfer-Encoding', 'chunked']]);
    headers.append('Set-Cookie', 'a=1; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT');
    headers.append('Set-Cookie', 'b=2; Path=/');
    headers.append('X-Sendfile', '/srv/files/big.iso');
    headers.append('X-Accel-Redirect', '/protected/big.iso');
    return new Response('cookies', { status: 299, statusText: 'Custom Reason', headers });
  },
  '/head': () => new Response('hello', { headers: { 'Content-Length': '5' } }),
  '/local-redirect': () => new Response(null, { status: 200, headers: { Location: '/static/hello.txt' } }),
  '/throw': () => { throw new Error('fetch threw on purpose'); },
  '/reject': () => Promise.reject(new Error('fetch rejected on purpose')),
  '/not-a-response': () => ({ hello: 'world' }) as unknown as Response,
  '/injection': () => ({ status: 200, statusText: 'OK\r\nX-Evil: 1', headers: new Headers(), body: null }) as unknown as Response,
  // A Response-like object (a polyfill): its statusText is checked by nobody; latin1 made U+010D U+010A a CR LF.
  '/injection-wide': () => ({ status: 200, statusText: 'OK\u010d\u010aX-Evil: 1', headers: new Headers(), body: null }) as unknown as Response,
  '/late-error': () => {
    let pulls = 0;
    return new Response(new ReadableStream({
      pull(c) {
        if (pulls++ === 0) c.enqueue(new TextEncoder().encode('partial'));
        else c.error(new Error('stream failed after head'));
      },
    }));
  },
  '/early-error': () => new Response(new ReadableStream({
    pull(c) { c.error(new Error('stream failed before any byte')); },
  })),
  '/hang': (req) => new Promise((resolve) => {
    req.signal.addEventListener('abort', () => {
      tell('aborted', String((req.signal.reason as Error)?.message));
      resolve(new Response('too late'));
    });
  }),
  '/slow-stream': () => {
    let open = true;
    return new Response(new ReadableStream({
      pull: (c) => new Promise((resolve) => setTimeout(() => { if (open) c.enqueue(new Uint8Array(1024)); resolve(); }, 5)),
      cancel: (reason) => { open = false; tell('cancelled', String((reason as Error)?.message ?? reason)); },
    }));
  },
  '/big': (req) => {
    const total = Number(new URL(req.url).searchParams.get('mb')) * 1024 * 1024;
    let sent = 0;
    produced = 0;
    return new Response(new ReadableStream({
      pull(c) {
        if (sent >= total) { c.close(); return; }
        c.enqueue(new Uint8Array(65536).fill(sent / 65536 & 0xff)); // a fresh chunk: buffering would show in rss
        sent += 65536;
        produced = sent;
      },
    }, { highWaterMark: 0 }));
  },
  '/log': (_req, env) => {
    env.log.info({ n: 1 }, 'fetch app log line');
    return new Response('logged');
  },
  '/expect': (req) => new Response(`expect=${req.headers.get('expect')} body=${req.headers.get('content-length')}`),
};

/** produced: bytes the /big stream has handed out so far (what the adapter pulled). */
let produced = 0;

const fetchApp = {
  fetch(request: Request, env: FetchEnv): Response | Promise<Response> {
    const route = routes[new URL(request.url).pathname];
    return route ? route(request, env) : new Response('nope', { status: 404 });
  },
};

/**
 * rawGet: a request whose STDOUT bytes are counted and dropped, so only the server side holds
 * memory. With `stallMs`, the client stops reading after its first chunk for that long (a web
 * server whose client is slow) and reports what the app had produced meanwhile.
 */
function rawGet(address: string, target: string, stallMs = 0): Promise<{ bytes: number; appStatus: number; producedWhileStalled: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect(address.slice('unix:'.length));
    let bytes = 0;
    let producedWhileStalled = -1;
    const decoder = new RecordDecoder((record) => {
      if (record.type === RecordType.Stdout) bytes += record.content.length;
      if (record.type === RecordType.EndRequest) {
        resolve({ bytes, appStatus: decodeEndRequestBody(record.content).appStatus, producedWhileStalled });
        socket.destroy();
      }
    });
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      if (stallMs > 0 && producedWhileStalled === -1) {
        socket.pause();
        producedWhileStalled = 0;
        setTimeout(() => { producedWhileStalled = produced; socket.resume(); }, stallMs);
      }
    });
    socket.on('error', reject);
    socket.write(Buffer.concat([encodeBeginRequest(1, 1, 0), ...encodeParams(1, buildCgiParams({ target })), encodeRecord(RecordType.Stdin, 1)]));
  });
}

describe('fetch adapter', async () => {
  const served = await serveApp({ kind: 'fetch', app: fetchApp });
  after(() => served.close());

  it('builds the URL from HTTP_HOST and the route, with the mount point in env.dualcgi', async () => {
    const r = await served.request('/echo-url?x=1', { mountPoint: '/app', headers: [['Host', 'example.test:8080']] });
    const body = JSON.parse(r.body.toString());
    assert.equal(body.url, 'http://example.test:8080/echo-url?x=1');
    assert.equal(body.originalUrl, '/app/echo-url?x=1');
    assert.equal(body.mountPoint, '/app');
    assert.deepEqual([body.mode, body.role, body.method], ['fcgi', 'RESPONDER', 'GET']);
  });

  it('takes the scheme from HTTPS=on or REQUEST_SCHEME, never from X-Forwarded-Proto', async () => {
    const on = await served.request('/echo-url', { https: true, headers: [['Host', 'h']] });
    assert.equal(JSON.parse(on.body.toString()).url, 'https://h/echo-url');
    const scheme = await served.request('/echo-url', { headers: [['Host', 'h']], extra: [['REQUEST_SCHEME', 'https']] });
    assert.equal(JSON.parse(scheme.body.toString()).url, 'https://h/echo-url');
    const forwarded = await served.request('/echo-url', { headers: [['Host', 'h'], ['X-Forwarded-Proto', 'https']] });
    assert.equal(JSON.parse(forwarded.body.toString()).url, 'http://h/echo-url');
  });

  it('falls back to SERVER_NAME:SERVER_PORT without a Host header', async () => {
    const r = await served.request('/echo-url', { serverName: 'srv.test', serverPort: 8443, https: true, drop: ['HTTP_HOST'] });
    assert.equal(JSON.parse(r.body.toString()).url, 'https://srv.test:8443/echo-url');
  });

  it('passes request headers, the remote address and port, and Expect: 100-continue through', async () => {
    const r = await served.request('/echo-url', { remoteAddr: '192.0.2.9', remotePort: 40123, headers: [['Host', 'h'], ['Cookie', 'a=1'], ['Cookie', 'b=2'], ['Expect', '100-continue']] });
    const body = JSON.parse(r.body.toString());
    assert.equal(body.remote, '192.0.2.9');
    assert.equal(body.remotePort, '40123');
    assert.deepEqual(body.headers.find(([n]: [string]) => n === 'cookie'), ['cookie', 'a=1; b=2']);
    assert.deepEqual(body.headers.find(([n]: [string]) => n === 'expect'), ['expect', '100-continue']);
    const post = await served.request('/expect', { method: 'POST', headers: [['Expect', '100-continue']], body: Buffer.from('abc') });
    assert.equal(post.body.toString(), 'expect=100-continue body=3');
  });

  it('streams a 5 MiB request body to request.body', async () => {
    const data = randomBytes(5 * 1024 * 1024);
    const r = await served.request('/upload', { method: 'POST', bodyLength: data.length, body: Readable.from([data.subarray(0, 3e6), data.subarray(3e6)]) });
    assert.equal(r.body.toString(), `${data.length} ${createHash('sha256').update(data).digest('hex')}`);
  });

  it('calls fetch before the body has arrived (the body is a stream, not a buffer)', async () => {
    const first = Buffer.alloc(1000, 1);
    const gotFirst = waitFor('first-chunk');
    const body = new Readable({ read() {} });
    body.push(first);
    void gotFirst.then(() => { body.push(Buffer.alloc(1000, 2)); body.push(null); });
    const r = await served.request('/first-chunk', { method: 'POST', bodyLength: 2000, body });
    assert.equal(r.body.toString(), 'first 1000');
  });

  it('keeps every Set-Cookie, the status text, X-Sendfile and X-Accel-Redirect; drops Connection and Transfer-Encoding', async () => {
    const r = await served.request('/cookies');
    assert.equal(r.status, 299);
    assert.equal(r.statusText, 'Custom Reason');
    assert.deepEqual(headerAll(r, 'Set-Cookie'), ['a=1; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT', 'b=2; Path=/']);
    assert.equal(header(r, 'X-Sendfile'), '/srv/files/big.iso');
    assert.equal(header(r, 'X-Accel-Redirect'), '/protected/big.iso');
    assert.equal(header(r, 'Connection'), undefined);
    assert.equal(header(r, 'Transfer-Encoding'), undefined);
    assert.equal(r.body.toString(), 'cookies');
  });

  it('sends no body for HEAD but keeps Content-Length', async () => {
    const r = await served.request('/head', { method: 'HEAD' });
    assert.equal(r.body.length, 0);
    assert.equal(header(r, 'Content-Length'), '5');
  });

  it('passes Status 200 + a Location path on (a local redirect for the web server)', async () => {
    const r = await served.request('/local-redirect');
    assert.equal(r.kind, 'local-redirect');
    assert.match(r.raw.stdout.toString('latin1'), /^Status: 200 OK\r\n/);
  });

  for (const [path, phase] of [['/throw', 'handler'], ['/reject', 'handler'], ['/not-a-response', 'handler']] as const) {
    it(`answers ${path} with a 500 and logs to FCGI_STDERR`, async () => {
      const before = served.errors.length;
      const r = await served.request(path);
      assert.equal(r.status, 500);
      assert.equal(r.body.toString(), 'Internal Server Error\n');
      assert.match(r.stderr, new RegExp(`GET ${path} failed`));
      assert.equal(served.errors[before]?.phase, phase);
    });
  }

  it('answers a header injection with a 500 (CGI_ERR_HEADER_INJECTION)', async () => {
    for (const path of ['/injection', '/injection-wide']) {
      const before = served.errors.length;
      const r = await served.request(path);
      assert.equal(r.status, 500, path);
      assert.equal(header(r, 'X-Evil'), undefined, path);
      assert.equal((served.errors[before]?.err as CgiError).code, 'CGI_ERR_HEADER_INJECTION', path);
    }
  });

  it('breaks a response whose body fails after the head: what was written, then the connection closes without END_REQUEST', async () => {
    const r = await served.request('/late-error');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'partial');
    assert.equal(r.broken, true, 'no END_REQUEST: the web server cuts the client instead of ending its response cleanly');
  });

  it('answers a body that fails before its first byte with a 500', async () => {
    const r = await served.request('/early-error');
    assert.equal(r.status, 500);
    assert.match(r.stderr, /stream failed before any byte/);
  });

  it('aborts request.signal on FCGI_ABORT_REQUEST', async () => {
    const conn = await FastCGIClientConnection.connect(served.address);
    const aborted = waitFor('aborted');
    const pending = conn.request({ params: buildCgiParams({ target: '/hang' }), keepConn: true, requestId: 5 });
    await new Promise((r) => setTimeout(r, 30));
    conn.abort(5);
    assert.equal((await pending).protocolStatus, 0);
    assert.match(String(await aborted), /web server sent ABORT_REQUEST/);
    await conn.close();
  });

  it('cancels the response stream when the web server drops the connection', async () => {
    const conn = await FastCGIClientConnection.connect(served.address);
    const cancelled = waitFor('cancelled');
    const pending = conn.request({ params: buildCgiParams({ target: '/slow-stream' }), requestId: 1 }).catch(() => 'closed');
    await new Promise((r) => setTimeout(r, 50));
    conn.destroy();
    assert.equal(await pending, 'closed');
    assert.match(String(await cancelled), /web server closed the connection/);
  });

  it('streams a 256 MiB ReadableStream body with bounded memory', async (t) => {
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
    const r = await rawGet(served.address, '/big?mb=256');
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    assert.equal(r.bytes - r.bytes % 65536, 256 * 1024 * 1024, 'body bytes');
    assert.equal(r.appStatus, 0);
    const growth = (peak - before) / 1024 / 1024;
    t.diagnostic(`rss grew by ${growth.toFixed(1)} MiB while streaming 256 MiB`);
    assert.ok(growth < 96, `rss grew by ${growth.toFixed(1)} MiB while streaming 256 MiB`);
  });

  it('stops pulling the Response body while the web server does not read', async (t) => {
    const r = await rawGet(served.address, '/big?mb=64', 300);
    t.diagnostic(`produced ${r.producedWhileStalled} bytes while the reader stalled`);
    assert.equal(r.bytes - r.bytes % 65536, 64 * 1024 * 1024, 'body bytes (the head is below 64 KiB)');
    // Socket buffers hold a few hundred KiB; without backpressure the app would have produced all 64 MiB.
    assert.ok(r.producedWhileStalled < 8 * 1024 * 1024, `the app produced ${r.producedWhileStalled} bytes while nothing was read`);
  });

  it('gives the app a per-request logger as env.log (to FCGI_STDERR when nobody traces)', async () => {
    const r = await served.request('/log');
    assert.equal(r.body.toString(), 'logged');
    const line = JSON.parse(r.stderr.trim().split('\n').pop()!);
    assert.equal(line.msg, 'fetch app log line');
    assert.equal(line.ev, 'app.log');
    assert.equal(line.n, 1);
  });

  it('is traced like a Node app: request.start, errors with their phase, request.end with the head', async () => {
    const events: TraceMessage[] = [];
    const off = subscribe((e) => events.push(e));
    try {
      await served.request('/cookies');
      await served.request('/throw');
      await served.request('/log');
    } finally {
      off();
    }
    // request.start / request.end arrive as notes (trace/notes), app logs as raw lines: each as the line a file target writes.
    const parsed = events.map((e): Record<string, unknown> => {
      try {
        return JSON.parse(serialize(e)) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
    const byEv = (ev: string): Array<Record<string, unknown>> => parsed.filter((e) => e['ev'] === ev);
    assert.deepEqual(byEv('request.start').map((e) => e['uri']), ['/cookies', '/throw', '/log']);
    const ends = byEv('request.end');
    assert.deepEqual(ends.map((e) => e['status']), [299, 500, 200]);
    assert.ok(JSON.stringify(ends[0]!['headers']).includes('x-sendfile'), JSON.stringify(ends[0]));
    assert.equal(byEv('error')[0]?.['phase'], 'handler');
    assert.ok(events.some((e) => isRawLine(e) && e.raw.includes('fetch app log line')), 'env.log lines reach the trace channel');
  });

  it('answers a method a Request cannot carry (TRACE) with a 400', async () => {
    const r = await served.request('/echo-url', { method: 'TRACE' });
    assert.equal(r.status, 400);
    assert.equal(served.errors.at(-1)?.phase, 'request', 'a request that cannot be built is not the handler failing');
  });
});

describe('fetch adapter: apps as users write them', () => {
  it('serves a Hono app unchanged, env reaching c.env', async () => {
    const app = new Hono<{ Bindings: FetchEnv }>();
    app.get('/hello/:name', (c) => c.json({ name: c.req.param('name'), mount: c.env.dualcgi.mountPoint, q: c.req.query('q') }));
    app.post('/json', async (c) => c.json({ got: await c.req.json() }));
    const served = await serveApp(await appFromValue(app));
    try {
      const r = await served.request('/hello/ann?q=1', { mountPoint: '/sub' });
      assert.deepEqual(JSON.parse(r.body.toString()), { name: 'ann', mount: '/sub', q: '1' });
      assert.match(header(r, 'Content-Type') ?? '', /application\/json/);
      const post = await served.request('/json', { method: 'POST', headers: [['Content-Type', 'application/json']], body: Buffer.from('{"a":1}') });
      assert.deepEqual(JSON.parse(post.body.toString()), { got: { a: 1 } });
      const missing = await served.request('/nope');
      assert.equal(missing.status, 404);
    } finally {
      await served.close();
    }
  });

  it('answers an app that never responds with a 504 after timeoutMs, aborting request.signal; one whose head is out ends failed', async () => {
    let signalReason = '';
    const app = {
      fetch(request: Request): Response | Promise<Response> {
        const path = new URL(request.url).pathname;
        if (path === '/never') {
          return new Promise(() => {
            request.signal.addEventListener('abort', () => { signalReason = String((request.signal.reason as Error).message); });
          });
        }
        if (path === '/stalls') {
          // The head and a first chunk, then nothing (a stream that never ends).
          return new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode('partial')); } }));
        }
        return new Response('quick');
      },
    };
    const served = await serveApp({ kind: 'fetch', app }, { timeoutMs: 100 });
    try {
      const never = await served.request('/never');
      assert.equal(never.status, 504);
      assert.match(signalReason, /did not respond within 100 ms/);
      assert.ok(served.errors.some(({ err, phase }) => (err as Error & { code?: string }).code === 'DUALCGI_ERR_HANDLER_TIMEOUT' && phase === 'handler'));
      const stalls = await served.request('/stalls');
      assert.equal(stalls.body.toString(), 'partial');
      assert.equal(stalls.broken, true, 'its head was out: the response is broken off');
      assert.equal((await served.request('/')).body.toString(), 'quick');
    } finally {
      await served.close();
    }
  });

  it('answers a body over maxBodyBytes that the app lets through with a 413, as the Node adapter does', async () => {
    const app = { async fetch(request: Request): Promise<Response> { return new Response(`got ${(await request.text()).length}`); } };
    const served = await serveApp({ kind: 'fetch', app }, {}, { maxBodyBytes: 1000 });
    try {
      const r = await served.request('/upload', { method: 'POST', body: Buffer.alloc(5000, 65) });
      assert.equal(r.status, 413);
      assert.equal(r.body.toString(), '413 FCGI_ERR_BODY_TOO_LARGE\n');
      assert.equal((await served.request('/upload', { method: 'POST', body: Buffer.alloc(10, 65) })).body.toString(), 'got 10');
    } finally {
      await served.close();
    }
  });

  it('serves a factory that returns a fetch app', async () => {
    const loaded = await appFromValue(async () => ({ fetch: () => new Response('from factory') }));
    assert.equal(loaded.kind, 'fetch');
    const served = await serveApp(loaded);
    try {
      assert.equal((await served.request('/')).body.toString(), 'from factory');
    } finally {
      await served.close();
    }
  });
});
