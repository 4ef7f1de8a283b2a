import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import {
  encodeBeginRequest, encodeParams, encodeRecord, encodeStream, FCGI_KEEP_CONN, RecordType, Role,
} from '../../src/protocol';
import type { FcgiRequest } from '../../src/fastcgi/request';
import { FastCGIServer } from '../../src/fastcgi/server';
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
