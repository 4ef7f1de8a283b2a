import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { readCapture } from '../../src/capture/read';
import { extractRequests } from '../../src/capture/requests';
import { isClientError } from '../../src/client/errors';
import { FastCGIClientConnection, fastcgiRequest } from '../../src/client/fastcgi-client';
import { buildCgiParams } from '../../src/client/params';
import type { FcgiRequest } from '../../src/fastcgi/request';
import { parseAddress } from '../../src/net/address';
import {
  FCGI_KEEP_CONN, RecordDecoder, RecordType, Role, encodeBeginRequest, encodeParams, encodeRecord,
} from '../../src/protocol';
import { TapServer } from '../../src/tap/proxy';
import { isRawLine, subscribe } from '../../src/trace/channel';
import { isNote } from '../../src/trace/notes';
import type { TraceEvent } from '../../src/trace/events';
import { pseudoRandom } from '../../src/lint/checks';
import { waitUntil } from '../client/cli-io';
import { type RunningServer, readBody, respond, startServer, tempDir } from '../client/fixtures';

/** The upstream app: echoes PATH_INFO and a hash of the body; /slow answers after 50 ms; /die drops the connection. */
function app(request: FcgiRequest, conn: { socket: Socket }): void {
  const path = request.params.get('PATH_INFO') ?? '';
  if (path === '/die') {
    conn.socket.destroy();
    return;
  }
  readBody(request, (body) => {
    const answer = (): void => respond(request, 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n',
      `${path} ${createHash('sha256').update(body).digest('hex').slice(0, 16)}`);
    if (path === '/slow') setTimeout(answer, 50);
    else answer();
  });
}

function get(path: string, body?: Buffer): { params: Array<[string, string]>; body?: Buffer } {
  return { params: buildCgiParams({ target: path, bodyLength: body?.length ?? 0 }), ...(body ? { body } : {}) };
}

describe('tap: a transparent FastCGI proxy', { timeout: 60_000 }, () => {
  let upstream: RunningServer;
  let tap: TapServer;
  let dir: { dir: string; cleanup(): void };
  let events: TraceEvent[] = [];
  let unsubscribe: () => void;
  let address = '';

  before(async () => {
    dir = tempDir();
    upstream = await startServer(app);
    tap = new TapServer({ listen: { kind: 'unix', path: join(dir.dir, 'tap.sock') }, upstream: parseAddress(upstream.address), captureDir: dir.dir });
    await tap.listen();
    address = tap.addressString();
    unsubscribe = subscribe((m) => { if (!isRawLine(m) && !isNote(m)) events.push(m); });
  });
  after(async () => {
    unsubscribe();
    await tap.close();
    await upstream.stop();
    dir.cleanup();
  });

  it('multiplexed ids and KEEP_CONN reuse on one connection: answers match, every request traced both ways', async () => {
    events = [];
    const conn = await FastCGIClientConnection.connect(address);
    const first = await Promise.all(['/slow', '/a', '/b'].map((p) => conn.request({ ...get(p, Buffer.from(p)), keepConn: true })));
    const second = [await conn.request({ ...get('/c'), keepConn: true }), await conn.request({ ...get('/d'), keepConn: true })];
    await conn.close();
    assert.deepEqual([...first, ...second].map((r) => r.stdout.toString().split('\r\n\r\n')[1]!.split(' ')[0]), ['/slow', '/a', '/b', '/c', '/d']);
    assert.deepEqual(first.map((r) => r.requestId), [1, 2, 3], 'three ids in flight at once');
    await waitUntil(() => events.some((e) => e.ev === 'conn.close'), 'conn.close');
    const tapEvents = events.filter((e) => e.mode === 'tap');
    const starts = tapEvents.filter((e) => e.ev === 'request.start');
    const ends = tapEvents.filter((e) => e.ev === 'request.end');
    assert.equal(starts.length, 5);
    assert.equal(new Set(starts.map((e) => (e as { rid: string }).rid)).size, 5);
    assert.deepEqual(ends.map((e) => (e as { status: number }).status), [200, 200, 200, 200, 200]);
    const records = tapEvents.filter((e) => e.ev === 'record') as Array<TraceEvent & { dir: string; type: string; rid?: string }>;
    assert.ok(records.some((r) => r.dir === 'in' && r.type === 'BEGIN_REQUEST'));
    assert.ok(records.some((r) => r.dir === 'out' && r.type === 'END_REQUEST'));
    assert.ok(records.filter((r) => r.type !== 'GET_VALUES').every((r) => r.rid !== undefined));
    assert.equal(tapEvents.filter((e) => e.ev === 'conn.open').length, 1);
  });

  it('many connections at once', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => fastcgiRequest(address, get(`/n${i}`))));
    assert.deepEqual(answers.map((r) => r.stdout.toString().split('\r\n\r\n')[1]!.split(' ')[0]), Array.from({ length: 20 }, (_, i) => `/n${i}`));
    await waitUntil(() => tap.connectionCount === 0, 'connections to close');
  });

  it('captures each connection: the requests come back out of the file', async () => {
    const body = pseudoRandom(200_000, 3);
    const r = await fastcgiRequest(address, get('/captured', body));
    assert.match(r.stdout.toString(), /\/captured /);
    let file = '';
    const isIt = (p: string): boolean => readFileSync(p, 'utf8').includes('"end":true') &&
      extractRequests(readCapture(p)).some((q) => q.params.some(([n, v]) => n === 'REQUEST_URI' && v === '/captured'));
    await waitUntil(() => {
      file = readdirSync(dir.dir).filter((n) => n.endsWith('.fcgicap')).map((n) => join(dir.dir, n)).find(isIt) ?? '';
      return file !== '';
    }, 'the capture file');
    const [req] = extractRequests(readCapture(file));
    assert.deepEqual(req!.stdin, body);
    assert.equal(readCapture(file).header.meta['mode'], 'tap');
    assert.match(req!.response.stdout.toString(), /^Status: 200 OK/);
  });

  it('an upstream that drops the connection: the web server sees a close, the trace says why', async () => {
    events = [];
    const err = await fastcgiRequest(address, get('/die')).catch((e: unknown) => e);
    assert.ok(isClientError(err, 'CLIENT_ERR_CLOSED'), String(err));
    await waitUntil(() => events.some((e) => e.ev === 'conn.close'), 'conn.close');
    const end = events.find((e) => e.ev === 'request.end') as TraceEvent & { status: number; aborted: boolean };
    assert.equal(end.status, 502);
    assert.equal(end.aborted, true);
    const close = events.find((e) => e.ev === 'conn.close')!;
    assert.match(close.msg, /the upstream closed it with request 1 in flight \(the web server answers 502\)/);
    assert.equal(close.level, 40, 'a warning, not an ordinary close');
  });
});

describe('tap: byte-exact, and upstream failures', { timeout: 30_000 }, () => {
  it('forwards any bytes unchanged both ways, even bytes that are not FastCGI (and the trace says so)', async () => {
    const { dir, cleanup } = tempDir();
    const received: Buffer[] = [];
    const reply = pseudoRandom(300_000, 9);
    const raw = createServer((s) => {
      s.on('data', (c: Buffer) => received.push(c));
      s.on('end', () => s.end(reply));
    });
    await new Promise<void>((r) => raw.listen(join(dir, 'raw.sock'), r));
    const tap = new TapServer({ listen: { kind: 'unix', path: join(dir, 'tap.sock') }, upstream: { kind: 'unix', path: join(dir, 'raw.sock') } });
    await tap.listen();
    const events: TraceEvent[] = [];
    const unsubscribe = subscribe((m) => { if (!isRawLine(m) && !isNote(m)) events.push(m); });
    try {
      const sent = pseudoRandom(500_000, 5);
      const client = connect(join(dir, 'tap.sock'));
      const got: Buffer[] = [];
      client.on('data', (c: Buffer) => got.push(c));
      client.end(sent);
      await new Promise((r) => client.once('close', r));
      assert.deepEqual(Buffer.concat(received), sent);
      assert.deepEqual(Buffer.concat(got), reply);
      const decode = events.filter((e) => e.ev === 'error' && (e as { phase: string }).phase === 'decode');
      assert.equal(decode.length, 2, 'one line per direction');
      assert.match(decode[0]!.msg, /not FastCGI records \(forwarded anyway\)/);
    } finally {
      unsubscribe();
      await tap.close();
      raw.close();
      cleanup();
    }
  });

  it('bytes sent after the upstream closed are not lost silently: both sides close, the trace says why', async () => {
    const { dir, cleanup } = tempDir();
    const closer = createServer((s) => s.end());
    await new Promise<void>((r) => closer.listen(join(dir, 'closer.sock'), r));
    const tap = new TapServer({ listen: { kind: 'unix', path: join(dir, 'tap.sock') }, upstream: { kind: 'unix', path: join(dir, 'closer.sock') } });
    await tap.listen();
    const events: TraceEvent[] = [];
    const unsubscribe = subscribe((m) => { if (!isRawLine(m) && !isNote(m)) events.push(m); });
    try {
      const client = connect({ path: join(dir, 'tap.sock'), allowHalfOpen: true });
      client.on('error', () => {});
      client.resume();
      await new Promise((r) => client.once('end', r));
      client.write(Buffer.alloc(16));
      await waitUntil(() => events.some((e) => e.ev === 'error'), 'the error event');
      client.end();
      await new Promise((r) => client.once('close', r));
      assert.match(events.find((e) => e.ev === 'error')!.msg, /the web server sent 16 bytes after the upstream .* had closed the connection/);
    } finally {
      unsubscribe();
      await tap.close();
      closer.close();
      cleanup();
    }
  });

  it('a connection open before anyone listened is traced from its next record once someone does (kept-alive nginx connections)', async () => {
    const { dir, cleanup } = tempDir();
    const running = await startServer(app);
    const tap = new TapServer({ listen: { kind: 'unix', path: join(dir, 'tap.sock') }, upstream: parseAddress(running.address) });
    await tap.listen();
    const events: TraceEvent[] = [];
    let unsubscribe = (): void => {};
    try {
      const client = connect(join(dir, 'tap.sock'));
      const ended: number[] = [];
      const decoder = new RecordDecoder((r) => { if (r.type === RecordType.EndRequest) ended.push(r.requestId); });
      client.on('data', (c: Buffer) => decoder.push(c));
      await new Promise((r) => client.once('connect', r));
      const request = (id: number, path: string, body: Buffer): Buffer => Buffer.concat([
        encodeBeginRequest(id, Role.Responder, FCGI_KEEP_CONN),
        ...encodeParams(id, buildCgiParams({ target: path, method: 'POST', bodyLength: body.length })),
        encodeRecord(RecordType.Stdin, id, body, 3), encodeRecord(RecordType.Stdin, id)]);
      // Nobody listens: request 1 goes out up to the middle of its STDIN record.
      const first = request(1, '/first', Buffer.alloc(1000, 0x61));
      const cut = first.length - 8 - 500;
      client.write(first.subarray(0, cut));
      await new Promise((r) => setTimeout(r, 100));
      unsubscribe = subscribe((m) => { if (!isRawLine(m) && !isNote(m)) events.push(m); });
      client.write(first.subarray(cut));
      await waitUntil(() => ended.length === 1, 'the first answer');
      client.write(request(1, '/second', Buffer.from('hello')));
      await waitUntil(() => ended.length === 2, 'the second answer');
      await waitUntil(() => events.some((e) => e.ev === 'request.end'), 'request.end');
      client.end();
      await waitUntil(() => events.some((e) => e.ev === 'conn.close'), 'conn.close');
      assert.deepEqual(events.filter((e) => e.ev === 'error').map((e) => e.msg), [], 'no decode error: decoding began at a record');
      assert.match(events.find((e) => e.ev === 'conn.open')!.msg, /open before tracing began/);
      const starts = events.filter((e) => e.ev === 'request.start') as Array<TraceEvent & { uri: string }>;
      assert.deepEqual(starts.map((e) => e.uri), ['/second']);
      const end = events.find((e) => e.ev === 'request.end') as TraceEvent & { status: number; bytesIn: number };
      assert.equal(end.status, 200);
      assert.equal(end.bytesIn, 5);
      const records = events.filter((e) => e.ev === 'record') as Array<TraceEvent & { dir: string; type: string; requestId: number }>;
      assert.deepEqual(records.filter((r) => r.dir === 'out').map((r) => r.type),
        ['STDOUT', 'STDOUT', 'END_REQUEST', 'STDOUT', 'STDOUT', 'END_REQUEST'], 'the first answer is traced too');
    } finally {
      unsubscribe();
      await tap.close();
      await running.stop();
      cleanup();
    }
  });

  it('a reset is passed on as a reset, both ways (over TCP): the web server logs what it would without the tap', async () => {
    let upstreamSaw = '';
    const upstream = createServer((s) => {
      s.once('data', (c: Buffer) => {
        if (c.toString() === 'reset me') {
          s.resetAndDestroy();
          return;
        }
        s.on('error', (err: NodeJS.ErrnoException) => { upstreamSaw ||= err.code ?? err.message; });
        s.on('close', () => { upstreamSaw ||= 'a plain close'; });
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as { port: number }).port;
    const tap = new TapServer({ listen: { kind: 'tcp', host: '127.0.0.1', port: 0 }, upstream: { kind: 'tcp', host: '127.0.0.1', port } });
    await tap.listen();
    const tapPort = Number(tap.addressString().split(':').pop());
    try {
      const client = connect(tapPort, '127.0.0.1');
      const clientSaw = new Promise<string>((done) => {
        client.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
        client.on('close', () => done('a plain close'));
      });
      client.write('reset me');
      assert.equal(await clientSaw, 'ECONNRESET', 'the upstream reset reaches the web server');
      const other = connect(tapPort, '127.0.0.1');
      other.on('error', () => {});
      await new Promise((r) => other.once('connect', r));
      other.write('hello');
      await new Promise((r) => setTimeout(r, 200));
      other.resetAndDestroy();
      await waitUntil(() => upstreamSaw !== '', 'the upstream saw the end');
      assert.equal(upstreamSaw, 'ECONNRESET', 'the web server reset reaches the upstream');
    } finally {
      await tap.close();
      upstream.close();
    }
  });

  it('an upstream that is not there: the connection is closed at once and the error names it', async () => {
    const { dir, cleanup } = tempDir();
    const tap = new TapServer({ listen: { kind: 'unix', path: join(dir, 'tap.sock') }, upstream: { kind: 'unix', path: join(dir, 'missing.sock') } });
    await tap.listen();
    const events: TraceEvent[] = [];
    const unsubscribe = subscribe((m) => { if (!isRawLine(m) && !isNote(m)) events.push(m); });
    try {
      const err = await fastcgiRequest(tap.addressString(), get('/')).catch((e: unknown) => e);
      assert.ok(isClientError(err, 'CLIENT_ERR_CLOSED'), String(err));
      await waitUntil(() => events.some((e) => e.ev === 'conn.close'), 'conn.close');
      const error = events.find((e) => e.ev === 'error')!;
      assert.equal((error as { code?: string }).code, 'ENOENT');
      assert.match(error.msg, /cannot reach upstream unix:.*missing\.sock: ENOENT \(no socket file: is the app running.*it answers 502/);
    } finally {
      unsubscribe();
      await tap.close();
      cleanup();
    }
  });
});
