/**
 * What a connection tells the web server's error log and a record tracer, in paths a mutation
 * audit found untested: the STDERR lines of a refused PARAMS stream and of an onRequest that
 * threw, and the record events of a STDOUT write too large to be copied into the output slab.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeBeginRequest, encodeParams, encodeRecord, FCGI_KEEP_CONN, type FastCGIRecord, RecordType, Role,
} from '../../src/protocol';
import type { FcgiRequest } from '../../src/fastcgi/request';
import { RawPeer, startServer } from './raw-client';

const cleanup: Array<() => Promise<void>> = [];

function begin(id: number, pairs: Array<[string, string]>): Buffer {
  return Buffer.concat([encodeBeginRequest(id, Role.Responder, FCGI_KEEP_CONN), ...encodeParams(id, pairs)]);
}

describe('connection: error log and record events', () => {
  after(async () => { for (const c of cleanup) await c(); });

  it('writes the reason a PARAMS stream was refused to STDERR (the web server\'s error log), with the 431', async () => {
    const s = await startServer({ onRequest: (req) => req.end(), limits: { maxParams: 2 } });
    cleanup.push(() => s.server.close(50));
    const peer = await RawPeer.connect(s.path);
    peer.send(begin(1, [['A', '1'], ['B', '2'], ['C', '3']]));
    await peer.until(() => peer.ofType(RecordType.EndRequest).length === 1);
    assert.match(peer.stdout(1).toString(), /^Status: 431 /);
    const stderr = Buffer.concat(peer.ofType(RecordType.Stderr, 1).map((r) => r.content)).toString();
    assert.equal(stderr, 'dualcgi: fcgi: more than 2 params\n');
    peer.close();
  });

  it('writes the stack of an onRequest that threw to STDERR, with the 500', async () => {
    const s = await startServer({ onRequest: () => { throw new Error('boom in onRequest'); } });
    cleanup.push(() => s.server.close(50));
    const peer = await RawPeer.connect(s.path);
    peer.send(begin(1, [['REQUEST_METHOD', 'GET']]), encodeRecord(RecordType.Stdin, 1));
    await peer.until(() => peer.ofType(RecordType.EndRequest).length === 1);
    assert.match(peer.stdout(1).toString(), /^Status: 500 /);
    const stderr = Buffer.concat(peer.ofType(RecordType.Stderr, 1).map((r) => r.content)).toString();
    assert.match(stderr, /^dualcgi: request 1 failed: Error: boom in onRequest\n {4}at /);
    peer.close();
  });

  it('never writes a later response into the bytes an earlier record event holds (no slab reuse while events keep views)', async () => {
    const held: Buffer[] = [];
    const observer = {
      enabled: () => true,
      record: (_c: unknown, dir: 'in' | 'out', r: FastCGIRecord) => {
        if (dir === 'out' && r.type === RecordType.Stdout && r.contentLength > 0) held.push(r.content); // kept as given: a view
      },
    };
    const s = await startServer({
      // writeText: encoded straight into the output slab, so its record event is a view of the slab.
      onRequest: (req: FcgiRequest) => req.writeText(body(req.requestId).toString('latin1'), 'latin1', () => req.end()),
      observer,
    });
    cleanup.push(() => s.server.close(50));
    const peer = await RawPeer.connect(s.path);
    // Responses small enough to be copied into the output slab, enough of them to need more than
    // one slab (64 KiB), one after the other so that the socket is done with each.
    const body = (id: number): Buffer => Buffer.alloc(15_000, 0x60 + id);
    const ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    for (const id of ids) {
      peer.send(begin(id, [['REQUEST_METHOD', 'GET']]), encodeRecord(RecordType.Stdin, id));
      await peer.until(() => peer.ofType(RecordType.EndRequest, id).length === 1);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(held.length, ids.length);
    held.forEach((content, i) => assert.ok(content.equals(body(ids[i]!)), `the event of response ${ids[i]} still holds its bytes`));
    peer.close();
  });

  it('gives a record event for each STDOUT record of a write too large to copy, with its bytes', async () => {
    const big = Buffer.alloc(40 * 1024, 0x62);
    const events: Array<{ dir: string; type: number; length: number; first: number }> = [];
    const observer = {
      enabled: () => true,
      record: (_c: unknown, dir: 'in' | 'out', r: FastCGIRecord) => {
        events.push({ dir, type: r.type, length: r.contentLength, first: r.content[0] ?? -1 });
      },
    };
    const s = await startServer({
      onRequest: (req: FcgiRequest) => req.write(Buffer.from('Status: 200 OK\r\n\r\n'), () => req.write(big, () => req.end())),
      observer,
    });
    cleanup.push(() => s.server.close(50));
    const peer = await RawPeer.connect(s.path);
    peer.send(begin(1, [['REQUEST_METHOD', 'GET']]), encodeRecord(RecordType.Stdin, 1));
    await peer.until(() => peer.ofType(RecordType.EndRequest).length === 1);
    assert.equal(peer.stdout(1).length, 18 + big.length);
    const out = events.filter((e) => e.dir === 'out' && e.type === RecordType.Stdout && e.length > 0);
    assert.equal(out.reduce((n, e) => n + e.length, 0), 18 + big.length, 'every STDOUT byte is in a record event');
    assert.ok(out.some((e) => e.length === big.length && e.first === 0x62), 'the large write as a record of its own');
    peer.close();
  });
});
