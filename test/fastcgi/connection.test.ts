import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import {
  encodeBeginRequest, encodeGetValues, encodeParams, encodeRecord, encodeStream, decodePairs,
  decodeEndRequestBody, FCGI_KEEP_CONN, ProtocolStatus, RecordType, Role,
} from '../../src/protocol';
import type { FcgiRequest } from '../../src/fastcgi/request';
import { FastCGIServer } from '../../src/fastcgi/server';
import { RawPeer, startServer } from './raw-client';

type Handler = (req: FcgiRequest) => void;
const errors: Array<{ code: string; phase: string }> = [];
const handlers = new Map<string, Handler>();
const aborted: Array<{ id: number; code: string }> = [];

function respond(req: FcgiRequest, body: string | Buffer, status = '200 OK'): void {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  req.write(Buffer.from(`Status: ${status}\r\nContent-Length: ${b.length}\r\n\r\n`), () => {});
  req.write(b, () => req.end());
}

function onRequest(req: FcgiRequest): void {
  req.onAbort((reason) => aborted.push({ id: req.requestId, code: (reason as Error & { code: string }).code }));
  const h = handlers.get(req.params.get('REQUEST_URI') ?? '/');
  if (h) return h(req);
  req.startBody({ data: () => true, end: () => respond(req, `uri=${req.params.get('REQUEST_URI')}`), error: () => {} });
}

function request(id: number, uri: string, flags = 0, body?: Buffer, role = Role.Responder): Buffer {
  return Buffer.concat([
    encodeBeginRequest(id, role, flags),
    ...encodeParams(id, [['REQUEST_METHOD', 'GET'], ['REQUEST_URI', uri]]),
    ...(body ? encodeStream(RecordType.Stdin, id, body) : []),
    encodeRecord(RecordType.Stdin, id),
  ]);
}

function endOf(peer: RawPeer, id: number): { appStatus: number; protocolStatus: number } | undefined {
  const rec = peer.ofType(RecordType.EndRequest, id)[0];
  return rec ? decodeEndRequestBody(rec.content) : undefined;
}

const observer = { enabled: () => true, error: (_c: unknown, err: Error) => errors.push({ code: (err as Error & { code: string }).code, phase: '' }) };

describe('FastCGI responder over a real Unix socket', async () => {
  const { server, path } = await startServer({ maxConns: 7, maxReqs: 9, onRequest, observer });
  const solo = await startServer({ multiplex: false, onRequest, observer });
  after(async () => {
    await server.close(100);
    await solo.server.close(100);
  });

  it('answers GET_VALUES with the configured limits, omitting unknown names', async () => {
    const peer = await RawPeer.connect(path);
    peer.send(encodeGetValues(['FCGI_MAX_CONNS', 'FCGI_MAX_REQS', 'FCGI_MPXS_CONNS', 'NOT_A_VARIABLE']));
    await peer.until(() => peer.ofType(RecordType.GetValuesResult).length === 1);
    const values = new Map(decodePairs(peer.ofType(RecordType.GetValuesResult)[0]!.content));
    assert.deepEqual([...values], [['FCGI_MAX_CONNS', '7'], ['FCGI_MAX_REQS', '9'], ['FCGI_MPXS_CONNS', '1']]);
    const peer2 = await RawPeer.connect(solo.path);
    peer2.send(encodeGetValues(['FCGI_MPXS_CONNS']));
    await peer2.until(() => peer2.ofType(RecordType.GetValuesResult).length === 1);
    assert.equal(decodePairs(peer2.ofType(RecordType.GetValuesResult)[0]!.content)[0]![1], '0');
    peer.close();
    peer2.close();
  });

  it('answers GET_VALUES naming Object.prototype members or one name thousands of times, and keeps the connection', async () => {
    const peer = await RawPeer.connect(path);
    peer.send(encodeGetValues(['toString', '__proto__', 'constructor', 'FCGI_MPXS_CONNS']));
    peer.send(encodeGetValues(Array<string>(4000).fill('FCGI_MAX_CONNS')));
    await peer.until(() => peer.ofType(RecordType.GetValuesResult).length === 2 || peer.closed, 5000, 'two answers');
    assert.equal(peer.closed, false);
    const [first, second] = peer.ofType(RecordType.GetValuesResult).map((r) => decodePairs(r.content));
    assert.deepEqual(first, [['FCGI_MPXS_CONNS', '1']]);
    assert.deepEqual(second, [['FCGI_MAX_CONNS', '7']]);
    peer.close();
  });

  it('fails only the request whose onRequest threw: a 500 and END_REQUEST(appStatus 1), the connection and its other requests go on', async () => {
    let release: () => void = () => {};
    handlers.set('/held', (req) => { release = () => respond(req, 'held'); });
    handlers.set('/throws', () => { throw new Error('onRequest threw'); });
    const peer = await RawPeer.connect(path);
    peer.send(request(1, '/held', FCGI_KEEP_CONN), request(2, '/throws', FCGI_KEEP_CONN));
    await peer.until(() => endOf(peer, 2) !== undefined || peer.closed, 5000, 'END_REQUEST 2');
    assert.equal(peer.closed, false);
    assert.equal(endOf(peer, 2)!.appStatus, 1);
    assert.match(peer.stdout(2).toString(), /^Status: 500 /);
    assert.match(Buffer.concat(peer.ofType(RecordType.Stderr, 2).map((r) => r.content)).toString(), /onRequest threw/);
    release();
    await peer.until(() => endOf(peer, 1) !== undefined);
    assert.match(peer.stdout(1).toString(), /held$/);
    peer.send(request(3, '/after', FCGI_KEEP_CONN));
    await peer.until(() => endOf(peer, 3) !== undefined);
    assert.match(peer.stdout(3).toString(), /uri=\/after$/);
    peer.close();
  });

  it('answers an unknown type with UNKNOWN_TYPE naming it, for management and request ids', async () => {
    const peer = await RawPeer.connect(path);
    peer.send(encodeRecord(42, 0, Buffer.from('x')), encodeRecord(200, 5, Buffer.alloc(3)));
    await peer.until(() => peer.ofType(RecordType.UnknownType).length === 2);
    assert.deepEqual(peer.ofType(RecordType.UnknownType).map((r) => [r.requestId, r.content[0]]), [[0, 42], [0, 200]]);
    assert.equal(peer.closed, false);
    peer.close();
  });

  it('ignores records for unknown request ids and keeps serving', async () => {
    const peer = await RawPeer.connect(path);
    peer.send(...encodeParams(77, [['A', 'b']]), encodeRecord(RecordType.Stdin, 78, Buffer.from('zz')),
      encodeRecord(RecordType.AbortRequest, 79), request(1, '/after'));
    await peer.until(() => endOf(peer, 1) !== undefined);
    assert.equal(peer.records.filter((r) => r.requestId === 77 || r.requestId === 78 || r.requestId === 79).length, 0);
    assert.match(peer.stdout(1).toString(), /uri=\/after$/);
    peer.close();
  });

  it('closes the connection on a duplicate BEGIN_REQUEST', async () => {
    handlers.set('/hang', () => {});
    const peer = await RawPeer.connect(path);
    peer.send(request(3, '/hang', FCGI_KEEP_CONN), encodeBeginRequest(3, Role.Responder, FCGI_KEEP_CONN));
    await peer.until(() => peer.closed, 5000, 'close');
    assert.ok(errors.some((e) => e.code === 'FCGI_ERR_DUPLICATE_REQUEST'));
  });

  it('answers an unknown role with END_REQUEST(UNKNOWN_ROLE) and keeps the connection', async () => {
    const peer = await RawPeer.connect(path);
    peer.send(encodeBeginRequest(1, 9, FCGI_KEEP_CONN));
    await peer.until(() => endOf(peer, 1) !== undefined);
    assert.equal(endOf(peer, 1)!.protocolStatus, ProtocolStatus.UnknownRole);
    peer.send(request(2, '/next', FCGI_KEEP_CONN));
    await peer.until(() => endOf(peer, 2) !== undefined);
    assert.equal(endOf(peer, 2)!.protocolStatus, ProtocolStatus.RequestComplete);
    peer.close();
  });

  it('multiplexes two requests on one connection, answering each by its id', async () => {
    let release: () => void = () => {};
    handlers.set('/slow', (req) => { release = () => respond(req, 'slow'); });
    const peer = await RawPeer.connect(path);
    peer.send(request(1, '/slow', FCGI_KEEP_CONN), request(2, '/fast', FCGI_KEEP_CONN));
    await peer.until(() => endOf(peer, 2) !== undefined);
    assert.equal(endOf(peer, 1), undefined, 'the slow request is still in flight');
    release();
    await peer.until(() => endOf(peer, 1) !== undefined);
    assert.match(peer.stdout(1).toString(), /slow$/);
    assert.match(peer.stdout(2).toString(), /uri=\/fast$/);
    peer.close();
  });

  it('refuses a second request with CANT_MPX_CONN when multiplexing is off', async () => {
    handlers.set('/hold', () => {});
    const peer = await RawPeer.connect(solo.path);
    peer.send(request(1, '/hold', FCGI_KEEP_CONN), request(2, '/x', FCGI_KEEP_CONN));
    await peer.until(() => endOf(peer, 2) !== undefined);
    assert.equal(endOf(peer, 2)!.protocolStatus, ProtocolStatus.CantMpxConn);
    peer.close();
  });

  it('refuses requests beyond FCGI_MAX_REQS with OVERLOADED', async () => {
    handlers.set('/park', () => {});
    const peer = await RawPeer.connect(path);
    const parked = server.inFlight;
    for (let id = 1; id <= 9 - parked; id++) peer.send(request(id, '/park', FCGI_KEEP_CONN));
    peer.send(request(50, '/park', FCGI_KEEP_CONN));
    await peer.until(() => endOf(peer, 50) !== undefined);
    assert.equal(endOf(peer, 50)!.protocolStatus, ProtocolStatus.Overloaded);
    peer.close();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(server.inFlight, 0, 'a closed connection releases its requests');
  });

  it('keeps the connection for KEEP_CONN requests and closes it after END_REQUEST otherwise', async () => {
    const peer = await RawPeer.connect(path);
    for (let id = 1; id <= 3; id++) {
      peer.send(request(id, `/k${id}`, FCGI_KEEP_CONN));
      await peer.until(() => endOf(peer, id) !== undefined);
    }
    assert.equal(peer.closed, false);
    peer.send(request(4, '/last', 0));
    await peer.until(() => peer.closed, 5000, 'close after a request without KEEP_CONN');
    assert.equal(endOf(peer, 4)!.protocolStatus, ProtocolStatus.RequestComplete);
  });

  it('ends an aborted request at once, without waiting for the handler, and tells the handler', async () => {
    handlers.set('/never', () => {});
    const peer = await RawPeer.connect(path);
    peer.send(request(5, '/never', FCGI_KEEP_CONN));
    await new Promise((r) => setTimeout(r, 20));
    const t0 = Date.now();
    peer.send(encodeRecord(RecordType.AbortRequest, 5));
    await peer.until(() => endOf(peer, 5) !== undefined, 1000, 'END_REQUEST after ABORT');
    assert.ok(Date.now() - t0 < 1000);
    assert.ok(aborted.some((a) => a.id === 5 && a.code === 'FCGI_ERR_ABORTED'));
    peer.close();
  });

  it('tells every abort listener once, in order: functions and objects with an abort method', async () => {
    const told: string[] = [];
    let late: FcgiRequest | undefined;
    handlers.set('/targets', (req) => {
      req.onAbort({ abort: (reason) => told.push(`target:${(reason as Error & { code: string }).code}`) });
      req.onAbort(() => told.push('fn'));
      req.onAbort({ abort: () => told.push('target2') });
      late = req;
    });
    const peer = await RawPeer.connect(path);
    peer.send(request(15, '/targets', FCGI_KEEP_CONN));
    await new Promise((r) => setTimeout(r, 20));
    assert.ok(late, 'the handler ran');
    peer.send(encodeRecord(RecordType.AbortRequest, 15));
    await peer.until(() => endOf(peer, 15) !== undefined, 1000, 'END_REQUEST after ABORT');
    late!.onAbort(() => told.push('after'));
    late!.abort(new Error('again') as never, true);
    // onRequest's own function listener came first.
    assert.deepEqual(told, ['target:FCGI_ERR_ABORTED', 'fn', 'target2']);
    peer.close();
  });

  it('aborts in-flight requests when the connection is lost', async () => {
    handlers.set('/lost', () => {});
    const peer = await RawPeer.connect(path);
    peer.send(request(6, '/lost', FCGI_KEEP_CONN));
    await new Promise((r) => setTimeout(r, 30));
    peer.close();
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(aborted.some((a) => a.id === 6 && a.code === 'FCGI_ERR_CONNECTION_LOST'));
    assert.equal(server.inFlight, 0);
  });

  it('aborts the requests a drain cuts off as cut off by it (FCGI_ERR_DRAIN_TIMEOUT), not as lost by the web server', async () => {
    const own = await startServer({ onRequest, observer });
    handlers.set('/hung', () => {});
    const peer = await RawPeer.connect(own.path);
    peer.send(request(21, '/hung', FCGI_KEEP_CONN));
    await new Promise((r) => setTimeout(r, 30));
    await own.server.close(50);
    assert.ok(aborted.some((a) => a.id === 21 && a.code === 'FCGI_ERR_DRAIN_TIMEOUT'), JSON.stringify(aborted));
    peer.close();
  });

  it('decodes a PARAMS stream whose pairs straddle records', async () => {
    handlers.set('/split', (req) => respond(req, `${req.params.get('LONG')?.length}:${req.params.get('B')}`));
    const peer = await RawPeer.connect(path);
    const pairs: Array<[string, string]> = [['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/split'], ['LONG', 'v'.repeat(300)], ['B', 'bee']];
    peer.send(encodeBeginRequest(1, Role.Responder, 0), ...encodeParams(1, pairs, 7), encodeRecord(RecordType.Stdin, 1));
    await peer.until(() => endOf(peer, 1) !== undefined);
    assert.match(peer.stdout(1).toString(), /300:bee$/);
  });

  it('answers oversized PARAMS with a 431 and keeps the connection usable', async () => {
    const small = await startServer({ maxParamsBytes: 1000, onRequest, observer });
    const peer = await RawPeer.connect(small.path);
    peer.send(encodeBeginRequest(1, Role.Responder, FCGI_KEEP_CONN), ...encodeParams(1, [['X', 'y'.repeat(2000)]]));
    await peer.until(() => endOf(peer, 1) !== undefined);
    assert.match(peer.stdout(1).toString(), /^Status: 431 /);
    assert.equal(endOf(peer, 1)!.appStatus, 1);
    peer.send(request(2, '/ok', FCGI_KEEP_CONN));
    await peer.until(() => endOf(peer, 2) !== undefined);
    assert.match(peer.stdout(2).toString(), /^Status: 200 OK/);
    peer.close();
    await small.server.close(100);
  });

  it('answers a truncated pair with a 400', async () => {
    const peer = await RawPeer.connect(path);
    peer.send(encodeBeginRequest(1, Role.Responder, 0), encodeRecord(RecordType.Params, 1, Buffer.from([5, 5, 65])),
      encodeRecord(RecordType.Params, 1));
    await peer.until(() => endOf(peer, 1) !== undefined);
    assert.match(peer.stdout(1).toString(), /^Status: 400 [\s\S]*FCGI_ERR_TRUNCATED_PAIR/);
  });

  it('closes a connection that sends a bad version or a bad BEGIN body, and serves others', async () => {
    errors.length = 0;
    const bad = await RawPeer.connect(path);
    const rec = request(1, '/x');
    rec[0] = 2;
    bad.send(rec);
    await bad.until(() => bad.closed, 5000, 'close');
    const bad2 = await RawPeer.connect(path);
    bad2.send(encodeRecord(RecordType.BeginRequest, 1, Buffer.alloc(5)));
    await bad2.until(() => bad2.closed, 5000, 'close');
    assert.deepEqual(errors.map((e) => e.code).sort(), ['FCGI_ERR_BAD_BODY_LENGTH', 'FCGI_ERR_BAD_VERSION']);
    const good = await RawPeer.connect(path);
    good.send(request(1, '/fine'));
    await good.until(() => endOf(good, 1) !== undefined);
  });

  it('survives random bytes on many connections', async () => {
    const peers = await Promise.all(Array.from({ length: 20 }, () => RawPeer.connect(path)));
    peers.forEach((p, i) => p.send(randomBytes(64 + i * 37)));
    await Promise.all(peers.map((p) => p.until(() => p.closed || p.records.length > 0, 5000).catch(() => {})));
    peers.forEach((p) => p.close());
    const good = await RawPeer.connect(path);
    good.send(request(1, '/still-here'));
    await good.until(() => endOf(good, 1) !== undefined);
    assert.match(good.stdout(1).toString(), /still-here$/);
  });

  it('streams a 10 MiB response in aligned records of at most 65535 bytes', async () => {
    const big = randomBytes(10 * 1024 * 1024);
    handlers.set('/big', (req) => {
      req.write(Buffer.from('Status: 200 OK\r\n\r\n'), () => {});
      let offset = 0;
      const pump = (): void => {
        while (offset < big.length) {
          const chunk = big.subarray(offset, offset + 100_000);
          offset += chunk.length;
          let sync = true;
          let waited = false;
          req.write(chunk, () => { if (!sync) pump(); else waited = true; });
          sync = false;
          if (!waited) return;
        }
        req.end();
      };
      pump();
    });
    const peer = await RawPeer.connect(path);
    peer.send(request(1, '/big'));
    await peer.until(() => endOf(peer, 1) !== undefined, 20000);
    const out = peer.stdout(1);
    const body = out.subarray(out.indexOf('\r\n\r\n') + 4);
    assert.equal(createHash('sha256').update(body).digest('hex'), createHash('sha256').update(big).digest('hex'));
    for (const r of peer.ofType(RecordType.Stdout, 1)) {
      assert.ok(r.contentLength <= 65535);
      assert.equal((r.contentLength + r.paddingLength) % 8, 0);
    }
  });

  it('streams a 50 MiB upload to the handler with the exact bytes', async () => {
    handlers.set('/upload', (req) => {
      const hash = createHash('sha256');
      req.startBody({ data: (c) => { hash.update(c); return true; }, end: () => respond(req, hash.digest('hex')), error: () => {} });
    });
    const body = randomBytes(50 * 1024 * 1024);
    const peer = await RawPeer.connect(path);
    peer.send(request(1, '/upload', 0, body));
    await peer.until(() => endOf(peer, 1) !== undefined, 30000);
    assert.match(peer.stdout(1).toString(), new RegExp(`${createHash('sha256').update(body).digest('hex')}$`));
  });

  it('serves 100 concurrent connections', async () => {
    const peers = await Promise.all(Array.from({ length: 100 }, () => RawPeer.connect(path)));
    peers.forEach((p, i) => p.send(request(1, `/c${i}`)));
    await Promise.all(peers.map((p) => p.until(() => endOf(p, 1) !== undefined, 10000)));
    peers.forEach((p, i) => assert.match(p.stdout(1).toString(), new RegExp(`uri=/c${i}$`)));
  });
});

describe('record events', () => {
  it('a STDIN record that arrives in pieces is one event, with the first bytes of the record as its content', async () => {
    const seen: Array<{ type: number; contentLength: number; content: Buffer }> = [];
    const { server, path } = await startServer({
      onRequest,
      observer: {
        enabled: () => true,
        record: (_c, dir, record) => { if (dir === 'in') seen.push({ type: record.type, contentLength: record.contentLength, content: Buffer.from(record.content) }); },
        headBytes: 300,
      },
    });
    try {
      const peer = await RawPeer.connect(path);
      const body = Buffer.alloc(5000);
      for (let i = 0; i < body.length; i++) body[i] = 65 + (i % 26);
      const head = Buffer.concat([
        encodeBeginRequest(1, Role.Responder, 0),
        ...encodeParams(1, [['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/pieces'], ['CONTENT_LENGTH', String(body.length)]]),
      ]);
      const bytes = Buffer.concat([head, encodeRecord(RecordType.Stdin, 1, body), encodeRecord(RecordType.Stdin, 1)]);
      // The STDIN record's header and 100 bytes, then 1000 more, then the rest: three pieces.
      const cuts = [head.length + 8 + 100, head.length + 8 + 1100];
      peer.socket.write(bytes.subarray(0, cuts[0]));
      await new Promise((r) => setTimeout(r, 50));
      peer.socket.write(bytes.subarray(cuts[0], cuts[1]));
      await new Promise((r) => setTimeout(r, 50));
      peer.socket.write(bytes.subarray(cuts[1]));
      await peer.until(() => endOf(peer, 1) !== undefined, 5000, 'END_REQUEST');
      const stdin = seen.filter((r) => r.type === RecordType.Stdin);
      assert.deepEqual(stdin.map((r) => r.contentLength), [5000, 0], 'one event for the record in pieces, one for the empty STDIN');
      assert.deepEqual(stdin[0]!.content, body.subarray(0, 300));
      peer.close();
    } finally {
      await server.close();
    }
  });
});

describe('FastCGI server limits and shutdown', () => {
  it('refuses TCP peers outside FCGI_WEB_SERVER_ADDRS', async () => {
    const refusedErrors: string[] = [];
    for (const [addrs, expectServed] of [[['10.255.0.1'], false], [['127.0.0.1'], true]] as const) {
      const server = new FastCGIServer({
        webServerAddrs: [...addrs], onRequest,
        observer: { enabled: () => true, error: (_c, err) => refusedErrors.push((err as Error & { code: string }).code) },
      });
      await server.listen({ kind: 'tcp', host: '127.0.0.1', port: 0 });
      const port = Number(server.addressString().split(':').pop());
      const socket = connect(port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      const peer = new RawPeer(socket);
      peer.send(request(1, '/tcp'));
      await peer.until(() => peer.closed || endOf(peer, 1) !== undefined);
      assert.equal(endOf(peer, 1) !== undefined, expectServed);
      peer.close();
      await server.close(100);
    }
    assert.deepEqual(refusedErrors, ['FCGI_ERR_ADDRESS_REFUSED']);
  });

  it('emits FCGI_ERR_TOO_MANY_CONNS for a connection past maxConns (net closes it as it is accepted)', async () => {
    const codes: string[] = [];
    const { server, path } = await startServer({
      maxConns: 2, onRequest, observer: { enabled: () => true, error: (_c, err) => codes.push((err as Error & { code: string }).code) },
    });
    const peers = [await RawPeer.connect(path), await RawPeer.connect(path), await RawPeer.connect(path)];
    try {
      await peers[2]!.until(() => peers[2]!.closed, 5000, 'the third connection closed');
      assert.deepEqual(codes, ['FCGI_ERR_TOO_MANY_CONNS']);
      peers[0]!.send(request(1, '/within'));
      await peers[0]!.until(() => endOf(peers[0]!, 1) !== undefined);
    } finally {
      for (const p of peers) p.close();
      await server.close(100);
    }
  });

  it('finishes in-flight requests on close and refuses nothing already accepted', async () => {
    let release: () => void = () => {};
    handlers.set('/drain', (req) => { release = () => respond(req, 'drained'); });
    const { server, path } = await startServer({ onRequest });
    const peer = await RawPeer.connect(path);
    peer.send(request(1, '/drain', FCGI_KEEP_CONN));
    await new Promise((r) => setTimeout(r, 30));
    let closed = false;
    const closing = server.close(5000).then(() => { closed = true; });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(closed, false, 'close waits for the in-flight request');
    release();
    await closing;
    assert.match(peer.stdout(1).toString(), /drained$/);
    assert.equal(endOf(peer, 1)!.protocolStatus, ProtocolStatus.RequestComplete);
  });
});

describe('FastCGI output batching (no tracer attached)', async () => {
  const twoWrites = (req: FcgiRequest): void => {
    const uri = req.params.get('REQUEST_URI') ?? '/';
    req.write(Buffer.from('Status: 200 OK\r\n\r\n'), () => {});
    if (uri === '/later') {
      // A response written over time: the head and 4 bytes now, the rest in a later turn.
      req.write(Buffer.from('one\n'), () => {});
      setTimeout(() => req.write(Buffer.from('two\n'), () => req.end()), 30);
      return;
    }
    if (uri === '/stderr-between') req.writeStderr('note\n');
    req.write(Buffer.from(`body of ${uri}`), () => {});
    req.end();
  };
  const { server, path } = await startServer({ onRequest: twoWrites, observer: null });
  after(() => server.close(100));

  it('sends a turn\'s STDOUT writes of one request as one record, the stream unchanged', async () => {
    const peer = await RawPeer.connect(path);
    // Two requests in one chunk: their records are batched in the same turn, never merged together.
    peer.send(request(1, '/a', FCGI_KEEP_CONN), request(2, '/b', FCGI_KEEP_CONN));
    await peer.until(() => peer.ofType(RecordType.EndRequest).length === 2);
    for (const [id, uri] of [[1, '/a'], [2, '/b']] as const) {
      const stdout = peer.ofType(RecordType.Stdout, id);
      assert.deepEqual(stdout.map((r) => r.contentLength), [18 + `body of ${uri}`.length, 0]);
      assert.equal(peer.stdout(id).toString(), `Status: 200 OK\r\n\r\nbody of ${uri}`);
      for (const r of stdout) assert.equal((8 + r.contentLength + r.paddingLength) % 8, 0, 'padded to 8 bytes');
    }
    peer.close();
  });

  it('reuses its output slab once the socket has written it (no new 64 KiB buffer every ~900 responses)', async () => {
    const peer = await RawPeer.connect(path);
    const real = Buffer.allocUnsafeSlow;
    let slabs = 0;
    Buffer.allocUnsafeSlow = ((size: number) => {
      if (size >= 64 * 1024) slabs++;
      return real(size);
    }) as typeof Buffer.allocUnsafeSlow;
    try {
      // One request at a time, as nginx sends them on a kept connection: ~200 KiB of records.
      for (let id = 1; id <= 2500; id++) {
        peer.send(request(id % 60000 + 1, '/r', FCGI_KEEP_CONN));
        await peer.until(() => peer.ofType(RecordType.EndRequest).length === id);
      }
    } finally {
      Buffer.allocUnsafeSlow = real;
    }
    assert.equal(slabs, 1, 'one slab, used again from its start');
    assert.equal(peer.stdout(2500 % 60000 + 1).toString(), 'Status: 200 OK\r\n\r\nbody of /r');
    peer.close();
  });

  it('hands the socket the last batch\'s view again for a batch in the same bytes of the slab, with this batch\'s bytes', async () => {
    const writes: Array<{ chunk: unknown; bytes: string }> = [];
    const watched = await startServer({
      onRequest: twoWrites, observer: null, onConnection: (conn) => {
        const socket = conn.socket;
        const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
        socket.write = ((chunk: Buffer, ...rest: unknown[]) => {
          writes.push({ chunk, bytes: chunk.toString('latin1') }); // the bytes as they were when written
          return write(chunk, ...rest);
        }) as typeof socket.write;
      },
    });
    try {
      const peer = await RawPeer.connect(watched.path);
      // Two responses of the same size, one after the other (nginx's hello on a kept connection).
      for (const [id, uri] of [[1, '/x1'], [2, '/x2'], [3, '/x3']] as const) {
        peer.send(request(id, uri, FCGI_KEEP_CONN));
        await peer.until(() => peer.ofType(RecordType.EndRequest).length === id);
      }
      assert.equal(writes.length, 3, 'one write per response');
      assert.ok(writes[1]!.chunk === writes[0]!.chunk && writes[2]!.chunk === writes[0]!.chunk, 'the same view');
      writes.forEach((w, i) => assert.ok(w.bytes.includes(`body of /x${i + 1}`), `response ${i + 1}'s own bytes`));
      for (const id of [1, 2, 3]) assert.equal(peer.stdout(id).toString(), `Status: 200 OK\r\n\r\nbody of /x${id}`);
      // A response of another size is a view of its own, and the one after it too.
      peer.send(request(4, '/longer-uri', FCGI_KEEP_CONN));
      await peer.until(() => peer.ofType(RecordType.EndRequest).length === 4);
      assert.ok(writes[3]!.chunk !== writes[0]!.chunk);
      assert.equal(peer.stdout(4).toString(), 'Status: 200 OK\r\n\r\nbody of /longer-uri');
      peer.close();
    } finally {
      await watched.server.close(100);
    }
  });

  it('pads a record left open at the end of a turn to 7 bytes or more (nginx holds a head\'s short tail), a finished one as usual', async () => {
    const peer = await RawPeer.connect(path);
    // One at a time, as nginx sends them: the open record is the last of its batch.
    peer.send(request(4, '/later', FCGI_KEEP_CONN));
    await peer.until(() => peer.ofType(RecordType.EndRequest).length === 1);
    peer.send(request(5, '/a', FCGI_KEEP_CONN));
    await peer.until(() => peer.ofType(RecordType.EndRequest).length === 2);
    const later = peer.ofType(RecordType.Stdout, 4);
    // 18 + 4 bytes: the usual padding is 2, which left nginx 6 bytes after the head, under its 8.
    assert.deepEqual(later.map((r) => [r.contentLength, r.paddingLength]), [[22, 10], [4, 4], [0, 0]]);
    assert.equal(peer.stdout(4).toString(), 'Status: 200 OK\r\n\r\none\ntwo\n');
    const hello = peer.ofType(RecordType.Stdout, 5)[0]!;
    assert.equal(hello.paddingLength, (8 - (hello.contentLength % 8)) % 8, 'a response ended in its turn keeps the usual padding');
    peer.close();
  });

  it('does not merge across a STDERR record (records keep their order)', async () => {
    const peer = await RawPeer.connect(path);
    peer.send(request(3, '/stderr-between', FCGI_KEEP_CONN));
    await peer.until(() => peer.ofType(RecordType.EndRequest).length === 1);
    assert.deepEqual(peer.ofType(RecordType.Stdout, 3).map((r) => r.contentLength), [18, 'body of /stderr-between'.length, 0]);
    assert.equal(peer.stdout(3).toString(), 'Status: 200 OK\r\n\r\nbody of /stderr-between');
    peer.close();
  });
});
