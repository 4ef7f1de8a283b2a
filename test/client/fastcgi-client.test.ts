import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isClientError } from '../../src/client/errors';
import { FastCGIClientConnection, fastcgiRequest } from '../../src/client/fastcgi-client';
import { buildCgiParams } from '../../src/client/params';
import type { FcgiRequest } from '../../src/fastcgi/request';
import { FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS, ProtocolStatus, RecordType, decodeUnknownTypeBody, encodeRecord } from '../../src/protocol';
import type { FastCGIRecord } from '../../src/protocol';
import { type RunningServer, readBody, respond, startServer, tempDir } from './fixtures';

const MiB = 1024 * 1024;
const OK_HEAD = 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n';

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** pseudoRandom: deterministic, incompressible-looking bytes (the same for the same seed). */
function pseudoRandom(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  return out;
}

/** The test app: routes on PATH_INFO. */
function app(request: FcgiRequest): void {
  const path = request.params.get('PATH_INFO') ?? '';
  if (path === '/echo') {
    readBody(request, (body) => {
      request.writeStderr('echo was here\n');
      const info = { params: Object.fromEntries(request.params), body: body.toString('latin1'), id: request.requestId };
      respond(request, OK_HEAD, JSON.stringify(info));
    });
  } else if (path === '/big') {
    readBody(request, () => writeBig(request, 10 * MiB));
  } else if (path === '/hash') {
    hashBody(request);
  } else if (path === '/hangup') {
    request.startBody({ data: () => true, end: () => {}, error: () => {} });
  } else {
    readBody(request, () => respond(request, OK_HEAD, path));
  }
}

/** writeBig: a 10 MiB response in 64 KiB writes, each waiting for the previous (backpressure). */
function writeBig(request: FcgiRequest, size: number): void {
  const data = pseudoRandom(size, 7);
  request.write(Buffer.from(`${OK_HEAD}`), () => {});
  let offset = 0;
  const next = (): void => {
    if (offset >= size) {
      request.end();
      return;
    }
    const chunk = data.subarray(offset, offset + 64 * 1024);
    offset += chunk.length;
    request.write(chunk, next);
  };
  next();
}

/** Body bytes the /hash handler has received so far (to measure how far the client runs ahead). */
let hashReceived = 0;

/** hashBody: a slow reader: every chunk asks for a pause and resumes on the next turn of the loop. */
function hashBody(request: FcgiRequest): void {
  const hash = createHash('sha256');
  let length = 0;
  hashReceived = 0;
  request.startBody({
    data: (chunk) => {
      hash.update(chunk);
      length += chunk.length;
      hashReceived = length;
      setImmediate(() => request.resumeBody());
      return false;
    },
    end: () => respond(request, OK_HEAD, JSON.stringify({ length, sha256: hash.digest('hex') })),
    error: () => {},
  });
}

describe('FastCGIClientConnection against our FastCGIServer', { timeout: 60_000 }, () => {
  let running: RunningServer;
  let connections = 0;
  const held: FcgiRequest[] = [];

  before(async () => {
    running = await startServer((request, conn) => {
      if (request.params.get('PATH_INFO') === '/close') {
        conn.socket.destroy(); // the server dies mid-request
        return;
      }
      if (request.params.get('PATH_INFO')?.startsWith('/hold')) {
        held.push(request); // answered by the multiplexing test, in reverse order
        return;
      }
      app(request);
    }, { maxConns: 7, maxReqs: 9, onConnection: () => { connections++; } });
  });
  after(() => running.stop());

  it('sends params and body, collects STDOUT, STDERR and END_REQUEST', async () => {
    const params = buildCgiParams({ method: 'POST', target: '/echo?x=1', bodyLength: 5 });
    const res = await fastcgiRequest(running.address, { params, body: Buffer.from('hello'), keepRecords: true });
    assert.equal(res.appStatus, 0);
    assert.equal(res.protocolStatus, ProtocolStatus.RequestComplete);
    assert.equal(res.stderr.toString(), 'echo was here\n');
    const stdout = res.stdout.toString();
    assert.ok(stdout.startsWith(OK_HEAD), stdout);
    const info = JSON.parse(stdout.slice(OK_HEAD.length)) as { params: Record<string, string>; body: string; id: number };
    assert.equal(info.body, 'hello');
    assert.equal(info.params['REQUEST_URI'], '/echo?x=1');
    assert.equal(info.params['CONTENT_LENGTH'], '5');
    assert.equal(info.id, res.requestId);
    const types = res.records.map((r) => r.type);
    assert.equal(types.at(-1), RecordType.EndRequest);
    assert.ok(types.includes(RecordType.Stdout) && types.includes(RecordType.Stderr));
  });

  it('splits params across records of any size (pairs straddle records)', async () => {
    const params = buildCgiParams({ target: '/echo', headers: [['X-Long', 'v'.repeat(300)]] });
    const res = await fastcgiRequest(running.address, { params, paramsRecordSize: 7 });
    const info = JSON.parse(res.stdout.toString().slice(OK_HEAD.length)) as { params: Record<string, string> };
    assert.equal(info.params['HTTP_X_LONG'], 'v'.repeat(300));
  });

  it('reuses one connection for several requests with keepConn', async () => {
    const before = connections;
    const conn = await FastCGIClientConnection.connect(running.address);
    for (let i = 0; i < 5; i++) {
      const res = await conn.request({ params: buildCgiParams({ target: `/n${i}` }), keepConn: true });
      assert.equal(res.stdout.toString(), `${OK_HEAD}/n${i}`);
      assert.equal(conn.closed, false);
    }
    assert.equal(connections - before, 1);
    // Without KEEP_CONN the server closes the connection after the request (spec 5.1).
    await conn.request({ params: buildCgiParams({ target: '/last' }) });
    await new Promise((done) => conn.socket.once('close', done));
    await assert.rejects(conn.request({ params: buildCgiParams({ target: '/late' }) }),
      (err) => isClientError(err, 'CLIENT_ERR_CLOSED'));
  });

  it('multiplexes two requests with distinct ids on one connection', async () => {
    const conn = await FastCGIClientConnection.connect(running.address);
    const first = conn.request({ params: buildCgiParams({ target: '/hold/a' }), keepConn: true });
    const second = conn.request({ params: buildCgiParams({ target: '/hold/b' }), keepConn: true });
    while (held.length < 2) await new Promise((done) => setTimeout(done, 5));
    assert.equal(running.server.inFlight, 2);
    // Answer the second one first: each response must still reach its own request.
    const [a, b] = held.splice(0) as [FcgiRequest, FcgiRequest];
    respond(b, OK_HEAD, 'b');
    const resB = await second;
    respond(a, OK_HEAD, 'a');
    const resA = await first;
    assert.notEqual(resA.requestId, resB.requestId);
    assert.equal(resA.stdout.toString(), `${OK_HEAD}a`);
    assert.equal(resB.stdout.toString(), `${OK_HEAD}b`);
    await conn.close();
  });

  it('refuses an id already in flight with CLIENT_ERR_BUSY_ID', async () => {
    const conn = await FastCGIClientConnection.connect(running.address);
    const first = conn.request({ params: buildCgiParams({ target: '/hold/x' }), requestId: 42, keepConn: true });
    await assert.rejects(conn.request({ params: buildCgiParams({ target: '/x' }), requestId: 42 }),
      (err) => isClientError(err, 'CLIENT_ERR_BUSY_ID'));
    while (held.length < 1) await new Promise((done) => setTimeout(done, 5));
    respond(held.shift()!, OK_HEAD, 'x');
    assert.equal((await first).requestId, 42);
    await conn.close();
  });

  it('asks FCGI_GET_VALUES and gets the server\'s limits', async () => {
    const conn = await FastCGIClientConnection.connect(running.address);
    const values = await conn.getValues([FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS, 'NOT_A_VARIABLE']);
    assert.deepEqual([...values], [[FCGI_MAX_CONNS, '7'], [FCGI_MAX_REQS, '9'], [FCGI_MPXS_CONNS, '1']]);
    await conn.close();
  });

  it('reports the protocol status of a refused request (unknown role)', async () => {
    const res = await fastcgiRequest(running.address, { params: buildCgiParams({ target: '/' }), role: 9 });
    assert.equal(res.protocolStatus, ProtocolStatus.UnknownRole);
    assert.equal(res.stdout.length, 0);
  });

  it('sends raw records and sees every record through the connection hook', async () => {
    const seen: FastCGIRecord[] = [];
    const conn = await FastCGIClientConnection.connect(running.address, { onRecord: (r) => seen.push(r) });
    conn.sendRaw(encodeRecord(99, 0));
    while (seen.length === 0) await new Promise((done) => setTimeout(done, 5));
    assert.equal(seen[0]!.type, RecordType.UnknownType);
    assert.equal(decodeUnknownTypeBody(seen[0]!.content), 99);
    await conn.close();
  });

  it('receives a 10 MiB response intact', async () => {
    const res = await fastcgiRequest(running.address, { params: buildCgiParams({ target: '/big' }) });
    const body = res.stdout.subarray(OK_HEAD.length);
    assert.equal(body.length, 10 * MiB);
    assert.equal(sha256(body), sha256(pseudoRandom(10 * MiB, 7)));
  });

  it('streams a 50 MiB body with backpressure, never running far ahead of the server', async () => {
    const total = 50 * MiB;
    const block = pseudoRandom(MiB, 11);
    const expected = createHash('sha256');
    let produced = 0;
    let maxAhead = 0;
    const body = Readable.from((function* () {
      while (produced < total) {
        maxAhead = Math.max(maxAhead, produced - hashReceived);
        const chunk = block.subarray(0, Math.min(256 * 1024, total - produced));
        expected.update(chunk);
        produced += chunk.length;
        yield chunk;
      }
    })());
    const res = await fastcgiRequest(running.address, { params: buildCgiParams({ method: 'PUT', target: '/hash', bodyLength: total }), body });
    const info = JSON.parse(res.stdout.toString().slice(OK_HEAD.length)) as { length: number; sha256: string };
    assert.equal(info.length, total);
    assert.equal(info.sha256, expected.digest('hex'));
    assert.ok(maxAhead < 8 * MiB, `the client ran ${maxAhead} bytes ahead of the server`);
  });

  it('rejects with CLIENT_ERR_CLOSED when the server closes the connection mid-request', async () => {
    await assert.rejects(fastcgiRequest(running.address, { params: buildCgiParams({ target: '/close' }) }), (err) => {
      assert.ok(isClientError(err, 'CLIENT_ERR_CLOSED'), String(err));
      assert.match(err.message, /before END_REQUEST for request 1/);
      return true;
    });
  });

  it('rejects pending requests and GET_VALUES when we close the connection', async () => {
    const conn = await FastCGIClientConnection.connect(running.address);
    const pending = conn.request({ params: buildCgiParams({ target: '/hangup' }), keepConn: true });
    conn.destroy();
    await assert.rejects(pending, (err) => isClientError(err, 'CLIENT_ERR_CLOSED'));
    await assert.rejects(conn.getValues([FCGI_MPXS_CONNS]), (err) => isClientError(err, 'CLIENT_ERR_CLOSED'));
  });
});

describe('FastCGIClientConnection against broken servers', { timeout: 60_000 }, () => {
  it('emits CLIENT_ERR_CONNECT when nothing listens at the path', async () => {
    const { dir, cleanup } = tempDir();
    try {
      await assert.rejects(FastCGIClientConnection.connect(`unix:${join(dir, 'none.sock')}`), (err) => {
        assert.ok(isClientError(err, 'CLIENT_ERR_CONNECT'));
        assert.equal((err.cause as NodeJS.ErrnoException).code, 'ENOENT');
        return true;
      });
    } finally {
      cleanup();
    }
  });

  it('emits CLIENT_ERR_PROTOCOL when the server sends bytes that are not records', async () => {
    await withRawServer((socket) => socket.end(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')), async (address) => {
      await assert.rejects(fastcgiRequest(address, { params: buildCgiParams({ target: '/' }) }),
        (err) => isClientError(err, 'CLIENT_ERR_PROTOCOL'));
    });
  });

  it('emits CLIENT_ERR_CLOSED when the server hangs up without a word', async () => {
    await withRawServer((socket) => socket.once('data', () => socket.destroy()), async (address) => {
      await assert.rejects(fastcgiRequest(address, { params: buildCgiParams({ target: '/' }) }),
        (err) => isClientError(err, 'CLIENT_ERR_CLOSED'));
    });
  });

  it('emits CLIENT_ERR_TIMEOUT when GET_VALUES gets no answer', async () => {
    await withRawServer(() => {}, async (address) => {
      const conn = await FastCGIClientConnection.connect(address);
      await assert.rejects(conn.getValues([FCGI_MPXS_CONNS], 50), (err) => isClientError(err, 'CLIENT_ERR_TIMEOUT'));
      conn.destroy();
    });
  });
});

async function withRawServer(onSocket: (socket: import('node:net').Socket) => void, body: (address: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir();
  const server = createNetServer(onSocket);
  const path = join(dir, 'raw.sock');
  await new Promise<void>((done) => server.listen(path, done));
  try {
    await body(`unix:${path}`);
  } finally {
    server.close();
    cleanup();
  }
}
