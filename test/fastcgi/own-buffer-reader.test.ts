import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import {
  encodeBeginRequest, encodeParams, encodeRecord, encodeStream, FCGI_KEEP_CONN, RecordType, Role,
} from '../../src/protocol';
import type { FcgiRequest } from '../../src/fastcgi/request';
import { FastCGIServer } from '../../src/fastcgi/server';
import { OwnBufferReader } from '../../src/fastcgi/own-buffer-reader';
import { RawPeer, startServer } from './raw-client';

// A connection reads into a buffer of its own that the next read overwrites unless the bytes just
// read may still be viewed (fastcgi/own-buffer-reader.ts). These tests hold such views across
// later reads and check that the bytes are still the ones sent.

/** bodies: each request's body chunks, kept as the views the app was given (no copies). */
const bodies = new Map<number, Buffer[]>();
/** chunkArrived: called when the app has been given a body chunk. */
let chunkArrived: () => void = () => {};

function onRequest(req: FcgiRequest): void {
  const chunks: Buffer[] = [];
  bodies.set(req.requestId, chunks);
  req.startBody({
    data: (chunk) => {
      chunks.push(chunk);
      chunkArrived();
      return true;
    },
    end: () => {
      // The body is read only now, after every later read has reused or replaced the buffer.
      const digest = createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
      const params = `${req.params.get('REQUEST_URI')} ${req.params.get('X_LONG')?.length ?? 0}`;
      const text = `${digest} ${params}`;
      req.write(Buffer.from(`Status: 200 OK\r\nContent-Length: ${text.length}\r\n\r\n${text}`), () => req.end());
    },
    error: () => {},
  });
}

function waitForChunk(): Promise<void> {
  return new Promise((resolve) => {
    chunkArrived = () => {
      chunkArrived = () => {};
      resolve();
    };
  });
}

/** untilRead: resolves once the server's socket has read `bytes` in all (its handle's count). */
async function untilRead(socket: Socket, bytes: number): Promise<void> {
  while (socket.bytesRead < bytes) await new Promise((resolve) => setImmediate(resolve));
}

describe('FastCGI connection reading into its own buffer', async () => {
  const { server, path } = await startServer({ onRequest });
  const accepted: Socket[] = [];
  server.server.on('connection', (socket: Socket) => accepted.push(socket));
  after(() => server.close(100));

  it('reads an accepted socket without a data listener', async () => {
    const peer = await RawPeer.connect(path);
    peer.send(encodeBeginRequest(1, Role.Responder, FCGI_KEEP_CONN), ...encodeParams(1, [['REQUEST_URI', '/a']]),
      encodeRecord(RecordType.Stdin, 1));
    await peer.until(() => peer.ofType(RecordType.EndRequest, 1).length === 1);
    assert.equal(accepted.at(-1)!.listenerCount('data'), 0);
    peer.close();
  });

  it('keeps body chunks intact while later reads arrive, across slabs', async () => {
    const peer = await RawPeer.connect(path);
    const serverSocket = accepted.at(-1)!;
    peer.send(encodeBeginRequest(1, Role.Responder, FCGI_KEEP_CONN), ...encodeParams(1, [['REQUEST_URI', '/body']]));
    // 12 pieces of 20 KiB, each read on its own (the app has it before the next is sent): more
    // than one 64 KiB slab's worth, so kept views must survive the move to a new slab too.
    const pieces = Array.from({ length: 12 }, () => randomBytes(20 * 1024));
    for (const piece of pieces) {
      const arrived = waitForChunk();
      peer.send(...encodeStream(RecordType.Stdin, 1, piece));
      await arrived;
    }
    peer.send(encodeRecord(RecordType.Stdin, 1));
    await peer.until(() => peer.ofType(RecordType.EndRequest, 1).length === 1);
    const expected = createHash('sha256').update(Buffer.concat(pieces)).digest('hex');
    assert.equal(peer.stdout(1).toString().split('\r\n\r\n')[1], `${expected} /body 0`);

    // The same connection goes on: a body-less request reuses the buffer, the first's views stay.
    peer.send(encodeBeginRequest(2, Role.Responder, FCGI_KEEP_CONN), ...encodeParams(2, [['REQUEST_URI', '/next']]),
      encodeRecord(RecordType.Stdin, 2));
    await peer.until(() => peer.ofType(RecordType.EndRequest, 2).length === 1);
    assert.equal(createHash('sha256').update(Buffer.concat(bodies.get(1)!)).digest('hex'), expected);
    assert.equal(serverSocket.listenerCount('data'), 0);
    peer.close();
  });

  it('keeps a PARAMS stream that spans reads', async () => {
    const peer = await RawPeer.connect(path);
    const serverSocket = accepted.at(-1)!;
    const long = 'v'.repeat(3000);
    // Records of 1000 bytes: whole records are handed on as views of the read (a record cut by a
    // read's end is gathered into a buffer of its own, and would not test this).
    const records = encodeParams(1, [['REQUEST_URI', '/params'], ['X_LONG', long]], 1000);
    const first = Buffer.concat([encodeBeginRequest(1, Role.Responder, FCGI_KEEP_CONN), records[0]!]);
    peer.send(first);
    await untilRead(serverSocket, first.length);
    // Reads of other bytes while the PARAMS stream is incomplete must not land on its first record.
    peer.send(records[1]!);
    await untilRead(serverSocket, first.length + records[1]!.length);
    const filler = Buffer.alloc(500, 0x41);
    peer.send(...records.slice(2), ...encodeStream(RecordType.Stdin, 1, filler), encodeRecord(RecordType.Stdin, 1));
    await peer.until(() => peer.ofType(RecordType.EndRequest, 1).length === 1);
    const expected = createHash('sha256').update(filler).digest('hex');
    assert.equal(peer.stdout(1).toString().split('\r\n\r\n')[1], `${expected} /params 3000`);
    peer.close();
  });

  it('keeps a body sent in bulk intact across the larger slabs it grows to', async () => {
    const peer = await RawPeer.connect(path);
    peer.send(encodeBeginRequest(1, Role.Responder, FCGI_KEEP_CONN), ...encodeParams(1, [['REQUEST_URI', '/bulk']]));
    // 2 MiB at once: reads fill their room, so the reader moves to 256 KiB slabs (own-buffer-reader.ts).
    const body = randomBytes(2 << 20);
    peer.send(...encodeStream(RecordType.Stdin, 1, body), encodeRecord(RecordType.Stdin, 1));
    await peer.until(() => peer.ofType(RecordType.EndRequest, 1).length === 1);
    const expected = createHash('sha256').update(body).digest('hex');
    assert.equal(peer.stdout(1).toString().split('\r\n\r\n')[1], `${expected} /bulk 0`);
    peer.send(encodeBeginRequest(2, Role.Responder, FCGI_KEEP_CONN), ...encodeParams(2, [['REQUEST_URI', '/after']]),
      encodeRecord(RecordType.Stdin, 2));
    await peer.until(() => peer.ofType(RecordType.EndRequest, 2).length === 1);
    assert.equal(createHash('sha256').update(Buffer.concat(bodies.get(1)!)).digest('hex'), expected);
    peer.close();
  });

  it('reads a Duplex that is not a net.Socket through its data events', async () => {
    const replies: Buffer[] = [];
    let ended!: () => void;
    const done = new Promise<void>((resolve) => (ended = resolve));
    const duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, cb) {
        replies.push(chunk);
        if (Buffer.concat(replies).includes(Buffer.from([1, RecordType.EndRequest, 0, 1]))) ended();
        cb();
      },
    });
    // What Connection calls on a net.Socket besides the stream methods.
    Object.assign(duplex, { setTimeout: () => duplex, bytesRead: 0 });
    const local = new FastCGIServer({ onRequest });
    local.adopt(duplex as unknown as Socket);
    duplex.push(Buffer.concat([encodeBeginRequest(1, Role.Responder, FCGI_KEEP_CONN),
      ...encodeParams(1, [['REQUEST_URI', '/duplex']]), encodeRecord(RecordType.Stdin, 1)]));
    await done;
    assert.match(Buffer.concat(replies).toString('latin1'), /\/duplex 0/);
    duplex.destroy();
  });
});

describe('OwnBufferReader slab sizes', () => {
  it('grows to 256 KiB slabs for bulk input, back to 64 KiB for small reads, and never overwrites kept bytes', async () => {
    const rooms: number[] = [];
    const kept: Buffer[] = [];
    let received = 0;
    let onReceived: () => void = () => {};
    const server = createServer({ pauseOnConnect: true }, (socket) => {
      const reader = OwnBufferReader.install(socket, (buffer, end) => {
        rooms.push(buffer.length);
        kept.push(buffer.subarray(0, end)); // views, not copies: every read is kept
        received += end;
        onReceived();
      }, () => true);
      assert.ok(reader);
      socket.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = connect((server.address() as { port: number }).port, '127.0.0.1');
    const until = (bytes: number): Promise<void> => new Promise((resolve) => {
      onReceived = () => {
        if (received >= bytes) resolve();
      };
      onReceived();
    });
    try {
      const bulk = randomBytes(4 << 20);
      client.write(bulk);
      await until(bulk.length);
      assert.ok(Math.max(...rooms) > 64 * 1024, `a bulk read got more than 64 KiB of room (rooms ${rooms.slice(0, 8).join(',')})`);
      // Small pieces, each read on its own: the reader goes back to 64 KiB slabs.
      const small: Buffer[] = [];
      for (let i = 0; i < 40; i++) {
        const piece = randomBytes(10 * 1024);
        small.push(piece);
        client.write(piece);
        await until(bulk.length + (i + 1) * piece.length);
      }
      assert.ok(rooms.at(-1)! <= 64 * 1024, `small reads are back on 64 KiB slabs (last room ${rooms.at(-1)})`);
      assert.ok(Buffer.concat(kept).equals(Buffer.concat([bulk, ...small])), 'every kept view still holds the bytes read into it');
    } finally {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
