import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeEndRequestBody, encodeBeginRequest, encodeParams, encodeRecord, encodeStream, FCGI_KEEP_CONN, ProtocolStatus,
  RecordDecoder, RecordType, Role,
} from '../../src/protocol';
import type { Connection } from '../../src/fastcgi/connection';
import type { FcgiRequest } from '../../src/fastcgi/request';
import type { ConnectionLimits } from '../../src/fastcgi/limits';
import { RawPeer, startServer } from './raw-client';
import { mkdtempSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FastCGIServer } from '../../src/fastcgi/server';

const errors: string[] = [];
const observer = { enabled: () => true, error: (_c: unknown, err: Error) => { errors.push((err as Error & { code: string }).code); } };

function onRequest(req: FcgiRequest): void {
  if (req.params.get('REQUEST_URI') === '/stall') {
    // A response bigger than any socket buffer, to a peer that never reads.
    req.write(Buffer.from('Status: 200 OK\r\n\r\n'), () => {});
    const chunk = Buffer.alloc(1024 * 1024, 1);
    const pump = (): void => {
      if (!req.aborted) req.write(chunk, () => setImmediate(pump));
    };
    pump();
    return;
  }
  req.startBody({
    data: () => true,
    end: () => req.write(Buffer.from('Status: 200 OK\r\n\r\nok'), () => req.end()),
    error: (err) => {
      const e = err as Error & { code: string; status: number };
      req.write(Buffer.from(`Status: ${e.status} x\r\n\r\n${e.code}`), () => req.end());
    },
  });
}

async function server(limits: Partial<ConnectionLimits>) {
  const s = await startServer({ onRequest, observer, limits });
  cleanup.push(() => s.server.close(50));
  return s;
}
const cleanup: Array<() => Promise<void>> = [];

function begin(id: number, pairs: Array<[string, string]>, flags = FCGI_KEEP_CONN): Buffer {
  return Buffer.concat([encodeBeginRequest(id, Role.Responder, flags), ...encodeParams(id, pairs)]);
}
const GET: Array<[string, string]> = [['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/']];

describe('connection limits, each with its named error', () => {
  after(async () => { for (const c of cleanup) await c(); });

  it('emits FCGI_ERR_PARAMS_LIMIT (431) for too many params or a too long value', async () => {
    const { path } = await server({ maxParams: 5, maxValueBytes: 100 });
    const peer = await RawPeer.connect(path);
    const many: Array<[string, string]> = Array.from({ length: 6 }, (_, i) => [`P${i}`, 'v']);
    peer.send(begin(1, many), begin(2, [...GET, ['LONG', 'x'.repeat(101)]]), begin(3, GET), encodeRecord(RecordType.Stdin, 3));
    await peer.until(() => peer.ofType(RecordType.EndRequest).length === 3);
    assert.match(peer.stdout(1).toString(), /^Status: 431 [\s\S]*FCGI_ERR_PARAMS_LIMIT/);
    assert.match(peer.stdout(2).toString(), /^Status: 431 /);
    assert.match(peer.stdout(3).toString(), /ok$/, 'the connection goes on');
    peer.close();
  });

  it('refuses requests beyond maxRequestsPerConn with OVERLOADED', async () => {
    const { path } = await server({ maxRequestsPerConn: 2 });
    const peer = await RawPeer.connect(path);
    peer.send(begin(1, GET), begin(2, GET), begin(3, GET));
    await peer.until(() => peer.ofType(RecordType.EndRequest, 3).length === 1);
    assert.equal(decodeEndRequestBody(peer.ofType(RecordType.EndRequest, 3)[0]!.content).protocolStatus, ProtocolStatus.Overloaded);
    peer.close();
  });

  it('emits FCGI_ERR_BODY_TOO_LARGE (413) past maxBodyBytes', async () => {
    const { path } = await server({ maxBodyBytes: 1000 });
    const peer = await RawPeer.connect(path);
    peer.send(begin(1, [['REQUEST_METHOD', 'POST']]), ...encodeStream(RecordType.Stdin, 1, Buffer.alloc(5000)), encodeRecord(RecordType.Stdin, 1));
    await peer.until(() => peer.ofType(RecordType.EndRequest).length === 1);
    assert.match(peer.stdout(1).toString(), /^Status: 413 x\r\n\r\nFCGI_ERR_BODY_TOO_LARGE$/);
    peer.close();
  });

  it('emits FCGI_ERR_PARAMS_TIMEOUT (408) when PARAMS never completes (slowloris)', async () => {
    const { path } = await server({ paramsTimeoutMs: 100 });
    const peer = await RawPeer.connect(path);
    peer.send(encodeBeginRequest(1, Role.Responder, FCGI_KEEP_CONN), encodeParams(1, GET)[0]!);
    await peer.until(() => peer.ofType(RecordType.EndRequest).length === 1, 3000);
    assert.match(peer.stdout(1).toString(), /^Status: 408 /);
    assert.ok(errors.includes('FCGI_ERR_PARAMS_TIMEOUT'));
    peer.close();
  });

  it('emits FCGI_ERR_IDLE_TIMEOUT for an idle connection, and 500 idle connections do not stop service', async () => {
    const { path, server: srv } = await server({ idleTimeoutMs: 300 });
    const idle = await Promise.all(Array.from({ length: 500 }, () => RawPeer.connect(path)));
    const peer = await RawPeer.connect(path);
    peer.send(begin(1, GET), encodeRecord(RecordType.Stdin, 1));
    await peer.until(() => peer.ofType(RecordType.EndRequest).length === 1, 3000);
    assert.match(peer.stdout(1).toString(), /ok$/);
    await Promise.all(idle.map((p) => p.until(() => p.closed, 5000, 'idle close')));
    assert.ok(errors.includes('FCGI_ERR_IDLE_TIMEOUT'), errors.join());
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(srv.connectionCount <= 1, `${srv.connectionCount} connections left`);
  });

  it('stops reading a peer that sends records needing a reply (UNKNOWN_TYPE, refusals) and reads nothing, until it reads', async () => {
    // Each 8-byte unknown record is answered by 16 bytes: read on regardless, 16 MiB sent queued
    // 32 MiB here, in two million writes.
    const cases = [
      [encodeRecord(77, 0), 'own'], [encodeBeginRequest(1, 9, FCGI_KEEP_CONN), 'own'], [encodeRecord(77, 0), 'data events'],
    ] as const;
    for (const [record, reads] of cases) {
      const conns: Connection[] = [];
      const keep = (conn: Connection): void => { conns.push(conn); };
      // onConnection turns the connection's own read buffer off (server.ts): both ways of reading.
      const { path, server: srv } = await startServer(reads === 'own'
        ? { onRequest, observer: { enabled: () => true, open: keep } } : { onRequest, onConnection: keep });
      cleanup.push(() => srv.close(50));
      const client = connect(path);
      client.pause();
      client.on('error', () => {});
      await new Promise((r) => client.once('connect', r));
      const chunk = Buffer.concat(Array<Buffer>(65536 / record.length).fill(record));
      let offered = 0;
      while (offered < 16 * 1024 * 1024) {
        offered += chunk.length;
        if (!client.write(chunk)) {
          const drained = await Promise.race([
            new Promise<boolean>((r) => client.once('drain', () => r(true))), new Promise<boolean>((r) => setTimeout(() => r(false), 500)),
          ]);
          if (!drained) break;
        }
      }
      const conn = conns[0]!;
      assert.ok(offered < 4 * 1024 * 1024, `the peer could send ${offered} bytes: the server read on`);
      assert.ok(conn.socket.writableLength < 1024 * 1024, `${conn.socket.writableLength} bytes queued for the peer`);
      // The peer reads: the replies flow, reading resumes, the connection still answers.
      let replies = 0;
      const decoder = new RecordDecoder(() => { replies++; });
      client.on('data', (c: Buffer) => decoder.push(c));
      client.resume();
      const expected = offered / record.length;
      const deadline = Date.now() + 10_000;
      while (replies < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(replies, expected);
      client.destroy();
    }
  });

  it('emits FCGI_ERR_WRITE_TIMEOUT for a peer that stops reading, and frees the request', async () => {
    const { path, server: srv } = await server({ writeTimeoutMs: 200 });
    const peer = await RawPeer.connect(path);
    peer.socket.pause(); // never read
    peer.send(begin(1, [['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/stall']]), encodeRecord(RecordType.Stdin, 1));
    // The paused peer cannot see the close; the server side is what must let go.
    const deadline = Date.now() + 5000;
    while (!errors.includes('FCGI_ERR_WRITE_TIMEOUT') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(errors.includes('FCGI_ERR_WRITE_TIMEOUT'));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(srv.inFlight, 0);
    assert.equal(srv.connectionCount, 0);
    peer.close();
  });
});

describe('listening: owner and IPv6 allow-list', () => {
  it('gives a Unix socket the requested owner and mode', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'dualcgi-owner-')), 's.sock');
    const s = new FastCGIServer({ onRequest, socketMode: 0o660, socketOwner: { uid: 33, gid: 33 } });
    await s.listen({ kind: 'unix', path });
    const st = statSync(path);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [33, 33, 0o660]);
    await s.close(50);
  });

  it('applies FCGI_WEB_SERVER_ADDRS to IPv6 peers', async () => {
    for (const [addrs, served] of [[['::1'], true], [['127.0.0.1'], false]] as const) {
      const s = new FastCGIServer({ onRequest, webServerAddrs: [...addrs] });
      await s.listen({ kind: 'tcp', host: '::1', port: 0 });
      const port = Number(s.addressString().split(':').pop());
      const socket = connect(port, '::1');
      await new Promise((r) => socket.once('connect', r));
      const peer = new RawPeer(socket);
      peer.send(begin(1, GET, 0), encodeRecord(RecordType.Stdin, 1));
      await peer.until(() => peer.closed || peer.ofType(RecordType.EndRequest).length === 1);
      assert.equal(peer.ofType(RecordType.EndRequest).length === 1, served, `allow-list ${addrs.join()}`);
      peer.close();
      await s.close(50);
    }
  });
});
