import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import express from 'express';
import { FastCGIClientConnection } from '../../src/client/fastcgi-client';
import { buildCgiParams } from '../../src/client/params';
import { parseCgiResponse } from '../../src/client/cgi-response';
import type { DualcgiRequest } from '../../src/handlers/node';
import { RecordType } from '../../src/protocol';
import { header, headerAll, serveListener } from './fixture';
import { subscribe } from '../../src/trace/channel';
import { isNote } from '../../src/trace/notes';

describe('Node adapter: Express unchanged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dualcgi-express-'));
  writeFileSync(join(dir, 'file.txt'), 'from sendFile\n');
  const app = express();
  app.use(express.json());
  app.use(express.urlencoded({ extended: false }));
  app.get('/foo/:name', (req, res) => {
    res.json({ name: req.params.name, query: req.query, url: req.url, originalUrl: req.originalUrl, ip: req.ip,
      protocol: req.protocol, mount: (req as unknown as DualcgiRequest).dualcgi.mountPoint, host: req.hostname });
  });
  app.post('/json', (req, res) => { res.json({ got: req.body }); });
  app.post('/form', (req, res) => { res.json({ got: req.body }); });
  app.get('/redirect', (_req, res) => { res.redirect('/foo/there'); });
  app.get('/file', (_req, res) => { res.sendFile(join(dir, 'file.txt')); });
  app.get('/cookies', (_req, res) => { res.cookie('a', '1'); res.cookie('b', '2'); res.send('ok'); });
  app.get('/crash', () => { throw new Error('express route crashed'); });
  const served = await serveListener(app);
  after(() => served.close());

  it('routes on the path without the mount point and keeps originalUrl', async () => {
    const r = await served.get('/foo/bar?x=1', { mountPoint: '/app', remoteAddr: '192.0.2.7', headers: [['Host', 'example.test']] });
    assert.equal(r.status, 200);
    const body = JSON.parse(r.body.toString());
    assert.deepEqual(body, { name: 'bar', query: { x: '1' }, url: '/foo/bar?x=1', originalUrl: '/app/foo/bar?x=1',
      ip: '192.0.2.7', protocol: 'http', mount: '/app', host: 'example.test' });
  });

  it('sees https from HTTPS=on', async () => {
    const r = await served.get('/foo/s', { https: true });
    assert.equal(JSON.parse(r.body.toString()).protocol, 'https');
  });

  it('parses JSON and urlencoded bodies (body-parser)', async () => {
    const json = await served.get('/json', { method: 'POST', headers: [['Content-Type', 'application/json']], body: Buffer.from('{"a":[1,2]}') });
    assert.deepEqual(JSON.parse(json.body.toString()), { got: { a: [1, 2] } });
    const form = await served.get('/form', { method: 'POST', headers: [['Content-Type', 'application/x-www-form-urlencoded']], body: Buffer.from('k=v&n=2') });
    assert.deepEqual(JSON.parse(form.body.toString()), { got: { k: 'v', n: '2' } });
  });

  it('redirects, sends files, and keeps two Set-Cookie headers', async () => {
    const redirect = await served.get('/redirect');
    assert.equal(redirect.status, 302);
    assert.equal(header(redirect, 'Location'), '/foo/there');
    const file = await served.get('/file');
    assert.equal(file.body.toString(), 'from sendFile\n');
    assert.equal(header(file, 'Content-Length'), '14');
    const cookies = await served.get('/cookies');
    assert.deepEqual(headerAll(cookies, 'Set-Cookie'), ['a=1; Path=/', 'b=2; Path=/']);
  });

  it('never emits Transfer-Encoding, Connection or an HTTP status line', async () => {
    const r = await served.get('/foo/x');
    const raw = r.headers.map(([n]) => n.toLowerCase());
    assert.ok(!raw.includes('transfer-encoding') && !raw.includes('connection') && !raw.includes('date'));
  });

  it('turns a route exception into Express\'s 500', async () => {
    const r = await served.get('/crash');
    assert.equal(r.status, 500);
  });
});

describe('Node adapter: plain listeners', async () => {
  let lastClose: Promise<string> = Promise.resolve('');
  const served = await serveListener((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    if (url === '/throw') throw new Error('sync failure');
    if (url === '/reject') return Promise.reject(new Error('async failure'));
    if (url === '/late-throw') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('partial');
      throw new Error('failed after headers');
    }
    if (url === '/head') { res.setHeader('Content-Length', '5'); res.end('hello'); return undefined; }
    if (url === '/te') { res.setHeader('Transfer-Encoding', 'chunked'); res.write('a'); res.end('b'); return undefined; }
    if (url === '/status') { res.statusCode = 204; res.end(); return undefined; }
    if (url === '/hang') {
      lastClose = new Promise((resolve) => {
        let aborted = false;
        req.on('aborted', () => { aborted = true; });
        res.on('close', () => resolve(`close aborted=${aborted} ended=${res.writableEnded}`));
      });
      return undefined;
    }
    if (url === '/stream') {
      // 8 MiB with backpressure: write until false, continue on 'drain'.
      let left = 128;
      const chunk = Buffer.alloc(65536, 7);
      const pump = (): void => {
        while (left > 0) {
          left--;
          if (!res.write(chunk)) { res.once('drain', pump); return; }
        }
        res.end();
      };
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      pump();
      return undefined;
    }
    if (url === '/upload') {
      const hash = createHash('sha256');
      let n = 0;
      req.on('data', (c: Buffer) => { hash.update(c); n += c.length; });
      req.on('end', () => res.end(`${n} ${hash.digest('hex')}`));
      return undefined;
    }
    res.end('default');
    return undefined;
  });
  after(() => served.close());

  it('answers a synchronous throw with a 500 and logs to FCGI_STDERR', async () => {
    const r = await served.get('/throw');
    assert.equal(r.status, 500);
    assert.equal(r.body.toString(), 'Internal Server Error\n');
    assert.match(r.stderr, /sync failure/);
    assert.equal((await served.get('/')).body.toString(), 'default', 'the next request is fine');
  });

  it('answers a rejected promise with a 500', async () => {
    const r = await served.get('/reject');
    assert.equal(r.status, 500);
    assert.match(r.stderr, /async failure/);
  });

  it('breaks a response that failed after its head: what was written goes out, then the connection closes without END_REQUEST', async () => {
    const r = await served.get('/late-throw');
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'partial');
    assert.equal(r.broken, true, 'no END_REQUEST: the web server cuts the client instead of ending its response cleanly');
  });

  it('sends no body for HEAD, and none for 204', async () => {
    const head = await served.get('/head', { method: 'HEAD' });
    assert.equal(head.body.length, 0);
    assert.equal(header(head, 'Content-Length'), '5');
    const s = await served.get('/status');
    assert.equal(s.status, 204);
    assert.equal(s.body.length, 0);
  });

  it('drops an app-set Transfer-Encoding and never frames chunks', async () => {
    const r = await served.get('/te');
    assert.equal(header(r, 'Transfer-Encoding'), undefined);
    assert.equal(r.body.toString(), 'ab');
  });

  it('streams a response with write/drain backpressure', async () => {
    const r = await served.get('/stream');
    assert.equal(r.body.length, 128 * 65536);
    assert.ok(r.body.every((b) => b === 7));
  });

  it('streams a request body (20 MiB, from a Readable) to req', async () => {
    const data = randomBytes(20 * 1024 * 1024);
    const r = await served.get('/upload', { method: 'POST', bodyLength: data.length, body: Readable.from([data.subarray(0, 7e6), data.subarray(7e6)]) });
    assert.equal(r.body.toString(), `${data.length} ${createHash('sha256').update(data).digest('hex')}`);
  });

  it('emits req aborted and res close when the web server aborts', async () => {
    const conn = await FastCGIClientConnection.connect(served.address);
    const params = buildCgiParams({ target: '/hang' });
    const pending = conn.request({ params, keepConn: true, requestId: 3 });
    await new Promise((r) => setTimeout(r, 50));
    conn.sendRaw(Buffer.from([1, RecordType.AbortRequest, 0, 3, 0, 0, 0, 0]));
    const resp = await pending;
    assert.equal(resp.protocolStatus, 0);
    assert.equal(await lastClose, 'close aborted=true ended=false');
    conn.close();
  });

  it('survives an app that writes after end (node:http would emit an unhandled error)', async () => {
    const sloppy = await serveListener((_req: IncomingMessage, res: ServerResponse) => {
      res.end('first');
      res.write('after end');
    });
    const r = await sloppy.get('/');
    assert.equal(r.body.toString(), 'first');
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(sloppy.errors.some((e) => (e as Error & { code?: string }).code === 'ERR_STREAM_WRITE_AFTER_END'));
    assert.equal((await sloppy.get('/')).body.toString(), 'first', 'still serving');
    await sloppy.close();
  });

  it('answers a handler that never responds with a 504 after timeoutMs, and goes on', async () => {
    const slow = await serveListener((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/never') return;
      res.end('quick');
    }, { timeoutMs: 100 });
    const r = await slow.get('/never');
    assert.equal(r.status, 504);
    assert.ok(slow.errors.some((e) => (e as Error & { code?: string }).code === 'DUALCGI_ERR_HANDLER_TIMEOUT'));
    assert.equal((await slow.get('/')).body.toString(), 'quick');
    await slow.close();
  });

  it('answers a failure with its 500 or 504 even when the app set a statusMessage with CR/LF (sync, async, timeout)', async () => {
    // The error page's writeHead kept the app's statusMessage and threw again: the sync throw
    // closed the connection, the rejection left the request unended, the timeout threw from a timer.
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => { uncaught.push(err); };
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    const bad = await serveListener(async (req: IncomingMessage, res: ServerResponse) => {
      res.statusMessage = 'Fine\r\nX-Injected: 1';
      if (req.url === '/sync') res.end('x');
      else if (req.url === '/async') {
        await null;
        res.end('x');
      }
    }, { timeoutMs: 200 });
    try {
      for (const [path, status] of [['/sync', 500], ['/async', 500], ['/never', 504]] as const) {
        const r = await bad.get(path);
        assert.equal(r.status, status, path);
        assert.ok(!r.headers.some(([n]) => n === 'X-Injected'));
      }
      assert.deepEqual(uncaught, []);
      assert.ok(bad.errors.some((e) => (e as Error & { code?: string }).code === 'ERR_INVALID_CHAR'));
    } finally {
      process.off('uncaughtException', onUncaught);
      process.off('unhandledRejection', onUncaught);
      await bad.close();
    }
  });

  it('breaks the request off when the error page itself cannot be written (an app that replaced res.writeHead)', async () => {
    const patched = await serveListener((req: IncomingMessage, res: ServerResponse) => {
      if (req.url !== '/patched') return void res.end('fine');
      res.writeHead = () => { throw new Error('patched writeHead failed'); };
      throw new Error('handler failed');
    });
    try {
      const r = await patched.get('/patched');
      assert.equal(r.broken, true, 'as node:http drops the connection: the web server answers 502');
      assert.equal(r.body.length + r.headers.length, 0);
      assert.match(r.stderr, /patched writeHead failed/);
      assert.equal((await patched.get('/')).body.toString(), 'fine', 'the server goes on');
      assert.ok(patched.errors.some((e) => e.message === 'patched writeHead failed'));
    } finally {
      await patched.close();
    }
  });

  it('res.setTimeout / req.setTimeout fire as with node:http (they were no-ops: the request hung)', async () => {
    const timed = await serveListener((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/res') res.setTimeout(100, () => res.end('answered by the timeout callback'));
      else if (req.url === '/unheard') req.setTimeout(100); // no listener: node:http drops the connection
      else if (req.url === '/busy') {
        // Writes more often than the timeout: it never fires.
        res.setTimeout(100, () => res.end('timed out'));
        let n = 0;
        const t = setInterval(() => { res.write('.'); if (++n === 5) { clearInterval(t); res.end('done'); } }, 40);
      } else res.end('plain');
    });
    try {
      const conn = await FastCGIClientConnection.connect(timed.address);
      const get = (target: string) => Promise.race([
        conn.request({ params: buildCgiParams({ target }), keepConn: true }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${target}: no answer in 3 s`)), 3000).unref()),
      ]);
      const answered = await get('/res');
      assert.equal(answered.stdout.toString().split('\r\n\r\n')[1], 'answered by the timeout callback');
      conn.close();
      const unheard = await timed.get('/unheard');
      assert.equal(unheard.broken, true, 'broken off, as node:http drops the connection');
      const again = await FastCGIClientConnection.connect(timed.address);
      const getAgain = (target: string) => again.request({ params: buildCgiParams({ target }), keepConn: true });
      assert.equal((await getAgain('/busy')).stdout.toString().split('\r\n\r\n')[1], '.....done');
      assert.equal((await getAgain('/')).stdout.toString().split('\r\n\r\n')[1], 'plain', 'the connection goes on');
      again.close();
    } finally {
      await timed.close();
    }
  });

  it('debug mode shows the stack on the 500 page', async () => {
    const dbg = await serveListener(() => { throw new Error('visible in debug'); }, { debug: true });
    const r = await dbg.get('/');
    assert.match(r.body.toString(), /visible in debug\n\s+at /);
    await dbg.close();
  });

  it('keeps timeoutMs, debug and onError while traced (the traced options are built field by field)', async () => {
    const notes: string[] = [];
    const off = subscribe((m) => { if (isNote(m) && m.note === 'end') notes.push(String(m.status)); });
    try {
      const app = await serveListener((req: IncomingMessage) => {
        if (req.url === '/never') return;
        throw new Error('visible in debug');
      }, { timeoutMs: 100, debug: true });
      assert.equal((await app.get('/never')).status, 504);
      const r = await app.get('/');
      assert.match(r.body.toString(), /visible in debug\n\s+at /);
      assert.ok(app.errors.some((e) => (e as Error & { code?: string }).code === 'DUALCGI_ERR_HANDLER_TIMEOUT'));
      await app.close();
    } finally {
      off();
    }
    assert.deepEqual(notes, ['504', '500'], 'both requests were traced');
  });

  it('a listener that writes a CGI-significant header value cannot split the head', async () => {
    const bad = await serveListener((_req: IncomingMessage, res: ServerResponse) => { res.setHeader('X-Evil', 'a\r\nStatus: 302'); res.end(); });
    const r = await bad.get('/');
    assert.equal(r.status, 500);
    assert.equal(header(r, 'X-Evil'), undefined);
    assert.ok(parseCgiResponse(Buffer.from('Status: 500 x\r\n\r\n')).status === 500);
    await bad.close();
  });
});

describe('Node adapter: the socket between requests (as node:http keeps one per connection)', async () => {
  type Seen = { socket: unknown; remotePort: number; closeAfterFinish: boolean; socketAtFinish: unknown };
  const seen: Seen[] = [];
  let keepWatching = false;
  const served = await serveListener((req, res) => {
    const entry: Seen = { socket: req.socket, remotePort: req.socket.remotePort ?? -1, closeAfterFinish: false, socketAtFinish: undefined };
    seen.push(entry);
    if (keepWatching) req.socket.on('close', () => {}); // an app that still listens keeps the socket to itself
    let finished = false;
    res.on('finish', () => {
      finished = true;
      entry.socketAtFinish = res.socket;
    });
    res.on('close', () => {
      entry.closeAfterFinish = finished;
    });
    res.end('ok');
  });
  after(() => served.close());

  it('reuses one socket for requests in turn, with each request\'s own addresses', async () => {
    seen.length = 0;
    await served.get('/a', { remoteAddr: '192.0.2.1', remotePort: 1111 });
    await served.get('/b', { remoteAddr: '192.0.2.2', remotePort: 2222 });
    assert.equal(seen.length, 2);
    assert.ok(seen[0]!.socket === seen[1]!.socket, 'the second request got the first one\'s socket back');
    assert.deepEqual(seen.map((s) => s.remotePort), [1111, 2222]);
  });

  it('emits res close after finish, with res.socket let go at finish (node:http order)', async () => {
    seen.length = 0;
    await served.get('/c');
    await new Promise((r) => setImmediate(r));
    assert.equal(seen[0]!.closeAfterFinish, true);
    assert.equal(seen[0]!.socketAtFinish, null);
  });

  it('adds and removes no socket listener per request (its own \'close\' listener stands in for assignSocket\'s)', async () => {
    seen.length = 0;
    await served.get('/f');
    const socket = seen[0]!.socket as EventEmitter;
    let calls = 0;
    for (const name of ['on', 'addListener', 'once', 'removeListener', 'off'] as const) {
      const original = socket[name];
      (socket as unknown as Record<string, unknown>)[name] = function (this: EventEmitter, ...args: unknown[]) {
        calls++;
        return (original as (...a: unknown[]) => unknown).apply(this, args);
      };
    }
    try {
      await served.get('/g');
      assert.ok(seen[1]!.socket === socket, 'the same socket served the next request');
      assert.equal(calls, 0);
    } finally {
      for (const name of ['on', 'addListener', 'once', 'removeListener', 'off']) delete (socket as unknown as Record<string, unknown>)[name];
    }
  });

  it('emits res close when the app destroys req.socket mid-response, and the socket is not used again', async () => {
    let closed: Promise<boolean> = Promise.resolve(false);
    const sockets: unknown[] = [];
    const app = await serveListener((req, res) => {
      sockets.push(req.socket);
      if (req.url === '/destroy') {
        closed = new Promise((resolve) => res.on('close', () => resolve(res.writableEnded)));
        res.write('partial');
        req.socket.destroy();
        return;
      }
      res.end('ok');
    });
    try {
      // The request is broken off at once with what was written (the web server does not wait
      // for the connection to go, and cuts its client).
      const r = await app.get('/destroy');
      assert.equal(r.body.toString(), 'partial');
      assert.equal(r.broken, true);
      assert.equal(await closed, false, 'res closed before it ended');
      assert.equal((await app.get('/next')).body.toString(), 'ok');
      assert.ok(sockets[1] !== sockets[0]);
    } finally {
      await app.close();
    }
  });

  it('res.destroy(err) mid-response: the request ends failed, the error is reported, the process goes on', async () => {
    let reqClosed: Promise<boolean> = Promise.resolve(false);
    const app = await serveListener((req, res) => {
      if (req.url === '/give-up') {
        reqClosed = new Promise((resolve) => req.on('close', () => resolve(true)));
        res.write('partial');
        setTimeout(() => res.destroy(new Error('app gave up')), 5);
        return;
      }
      res.end('ok');
    });
    try {
      const r = await app.get('/give-up');
      assert.equal(r.body.toString(), 'partial');
      assert.equal(r.broken, true);
      assert.match(r.stderr, /GET \/give-up: app gave up/);
      assert.ok(app.errors.some((e) => e.message === 'app gave up'), 'onError was told');
      assert.equal(await reqClosed, true, 'req closed');
      assert.equal((await app.get('/next')).body.toString(), 'ok', 'still serving');
    } finally {
      await app.close();
    }
  });

  it('does not hand a socket the app still listens on to the next request', async () => {
    seen.length = 0;
    keepWatching = true;
    await served.get('/d');
    keepWatching = false;
    await served.get('/e');
    assert.ok(seen[0]!.socket !== seen[1]!.socket);
  });
});

describe('Node adapter: string bodies in every encoding reach the wire as node:http would send them', async () => {
  const text = 'héllo ✓ — ünïcode 𝄞';
  const served = await serveListener((req, res) => {
    if (req.url === '/utf8') res.end(text);
    else if (req.url === '/latin1') {
      res.write('caf\u00e9 ', 'latin1');
      res.end('\u00ff', 'binary');
    } else if (req.url === '/hex') res.end('68656c6c6f', 'hex');
    else if (req.url === '/big') res.end('ü'.repeat(40000)); // 80,000 bytes: more than one record
    else if (req.url === '/many') {
      // 20,000 small writes in one turn: more records than one output slab holds.
      for (let i = 0; i < 20000; i++) res.write(`${String(i).padStart(6, '0')}\n`);
      res.end();
    }
    else res.end(Buffer.from(text).toString('base64'), 'base64');
  });
  after(() => served.close());

  it('utf8 (the default): the bytes and the Content-Length node computes', async () => {
    const r = await served.get('/utf8');
    assert.equal(r.body.toString('utf8'), text);
    assert.equal(header(r, 'Content-Length'), String(Buffer.byteLength(text)));
  });

  it('latin1 / binary, hex and base64', async () => {
    assert.deepEqual([...(await served.get('/latin1')).body], [0x63, 0x61, 0x66, 0xe9, 0x20, 0xff]);
    assert.equal((await served.get('/hex')).body.toString(), 'hello');
    assert.equal((await served.get('/b64')).body.toString('utf8'), text);
  });

  it('many small writes in one turn, past the end of an output slab, keep their order', async () => {
    const r = await served.get('/many');
    const lines = r.body.toString('latin1').split('\n').slice(0, -1);
    assert.equal(lines.length, 20000);
    assert.ok(lines.every((l, i) => Number(l) === i));
  });

  it('a string longer than one record', async () => {
    const r = await served.get('/big');
    assert.equal(r.body.length, 80000);
    assert.equal(r.body.toString('utf8'), 'ü'.repeat(40000));
  });
});
