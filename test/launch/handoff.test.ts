// FastCGIServer as the owner of a listening socket: a router takes accepted sockets (still paused,
// nothing read) to another server; drain() finishes what is local while the socket stays open.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { FastCGIClientConnection } from '../../src/client/fastcgi-client';
import { buildCgiParams } from '../../src/client/params';
import type { FcgiRequest } from '../../src/fastcgi/request';
import { FastCGIServer } from '../../src/fastcgi/server';
import { encodeBeginRequest, encodeParams, encodeRecord, FCGI_KEEP_CONN, RecordType, Role } from '../../src/protocol';
import { RawPeer } from '../fastcgi/raw-client';

function responder(name: string, delayMs = 0): (r: FcgiRequest) => void {
  return (r) => setTimeout(() => r.write(Buffer.from(`Status: 200 OK\r\n\r\n${name}`), () => r.end()), delayMs);
}

async function ask(address: string, conn?: FastCGIClientConnection): Promise<string> {
  const c = conn ?? await FastCGIClientConnection.connect(address);
  const res = await c.request({ params: buildCgiParams({ target: '/' }), keepConn: conn !== undefined });
  if (!conn) c.destroy();
  return res.stdout.toString().split('\r\n\r\n')[1]!;
}

describe('FastCGIServer: router and drain', () => {
  it('routes accepted sockets elsewhere and drains local ones without closing the listening socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dualcgi-handoff-'));
    const front = new FastCGIServer({ onRequest: responder('front', 150) });
    const other = new FastCGIServer({ onRequest: responder('other') });
    const address = `unix:${join(dir, 's.sock')}`;
    try {
      await front.listen({ kind: 'unix', path: join(dir, 's.sock') });
      const kept = await FastCGIClientConnection.connect(address);
      assert.equal(await ask(address, kept), 'front');
      const slow = ask(address); // in flight on the front when the drain begins
      await new Promise((r) => setTimeout(r, 50));
      front.router = (socket: Socket) => {
        other.adopt(socket);
        return true;
      };
      const drained = front.drain(5000);
      assert.equal(await ask(address), 'other', 'a new connection goes to the router');
      assert.equal(await slow, 'front', 'the in-flight request finished on the front');
      await drained;
      assert.equal(kept.closed, true, 'the idle kept-alive connection was closed by the drain');
      assert.equal(front.server.listening, true, 'the listening socket stays');
      assert.equal(front.requestsStarted, 2);
    } finally {
      await front.close(100);
      await other.close(100);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with handBack, kept-alive connections leave at a request boundary: idle ones at once, busy ones after the response', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dualcgi-handoff-'));
    const front = new FastCGIServer({ onRequest: responder('front', 100) });
    const address = `unix:${join(dir, 's.sock')}`;
    try {
      await front.listen({ kind: 'unix', path: join(dir, 's.sock') });
      const idle = await FastCGIClientConnection.connect(address);
      const busy = await FastCGIClientConnection.connect(address);
      assert.equal(await ask(address, idle), 'front');
      const inFlight = ask(address, busy);
      await new Promise((r) => setTimeout(r, 30));
      const events: string[] = [];
      front.handBack = (_socket, done) => {
        events.push(`${events.length === 0 ? 'first' : 'second'}: ${front.inFlight} in flight`);
        // Across processes the socket leaves with its handle; here it is just closed.
        done();
      };
      const drained = front.drain(2000);
      assert.equal(await inFlight, 'front', 'the in-flight request finished where it started');
      await drained;
      assert.equal(events.length, 2);
      assert.equal(events[0], 'first: 1 in flight', 'the idle one went at once, while the other was busy');
      assert.equal(events[1], 'second: 0 in flight', 'the busy one went once its response had left');
    } finally {
      await front.close(100);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with handBack, an idle connection that has sent part of a record stays until its request is served', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dualcgi-handoff-'));
    const front = new FastCGIServer({ onRequest: responder('front') });
    const path = join(dir, 's.sock');
    const request = (id: number): Buffer => Buffer.concat([encodeBeginRequest(id, Role.Responder, FCGI_KEEP_CONN),
      ...encodeParams(id, [['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/']]), encodeRecord(RecordType.Stdin, id)]);
    try {
      await front.listen({ kind: 'unix', path });
      const peer = await RawPeer.connect(path);
      peer.send(request(1));
      await peer.until(() => peer.ofType(RecordType.EndRequest, 1).length === 1, 1000, 'the first response');
      const next = request(2);
      peer.send(next.subarray(0, 3)); // the connection is idle, with bytes read since its response
      await new Promise((r) => setTimeout(r, 30));
      const events: string[] = [];
      front.handBack = (_socket, done) => {
        events.push(`handed back after ${front.requestsStarted} requests, ${front.inFlight} in flight`);
        done();
      };
      const drained = front.drain(2000);
      await new Promise((r) => setTimeout(r, 250)); // two sweeps
      assert.deepEqual(events, [], 'not handed back while part of a record is unread');
      peer.send(next.subarray(3));
      await drained;
      assert.deepEqual(events, ['handed back after 2 requests, 0 in flight']);
      await peer.until(() => peer.ofType(RecordType.EndRequest, 2).length === 1, 1000, 'the second response');
    } finally {
      await front.close(100);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serves the first request of a connection that arrives during a drain, then closes it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dualcgi-handoff-'));
    const server = new FastCGIServer({ onRequest: responder('late') });
    const address = `unix:${join(dir, 's.sock')}`;
    try {
      await server.listen({ kind: 'unix', path: join(dir, 's.sock') });
      const conn = await FastCGIClientConnection.connect(address);
      await new Promise((r) => setTimeout(r, 20)); // accepted, no request yet ("fresh")
      const drained = server.drain(5000);
      assert.equal(await ask(address, conn), 'late'); // not refused with OVERLOADED
      await drained;
      assert.equal(conn.closed, true);
    } finally {
      await server.close(100);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
