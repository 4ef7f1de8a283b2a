import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { buildCgiParams } from '../../src/client/params';
import { encodeBeginRequest, encodeParams, encodeRecord, encodeStream, FCGI_KEEP_CONN, RecordType, Role } from '../../src/protocol';
import { serveListener } from '../handlers/fixture';
import { Rng } from '../fuzz/mutate';

/**
 * A web server whose clients give up at random: connections dropped mid-request (while the app
 * reads the body, while it is still working, while it writes), others completing normally.
 */
describe('connections dropped mid-request at random', () => {
  it('leaks no request, raises no unhandled error, and completes the rest', async () => {
    let closes = 0;
    const served = await serveListener((req: IncomingMessage, res: ServerResponse) => {
      res.on('close', () => { closes++; });
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('error', () => {});
      req.on('end', () => {
        setTimeout(() => {
          res.setHeader('Content-Type', 'application/octet-stream');
          res.write(Buffer.alloc(20_000, 1));
          setTimeout(() => res.end(Buffer.concat(chunks)), 2);
        }, 3);
      });
    });
    const path = served.address.slice('unix:'.length);
    const rng = new Rng(7);
    let completed = 0;
    let dropped = 0;
    const one = (i: number): Promise<void> => new Promise((resolve) => {
      const socket = connect(path);
      const body = Buffer.alloc(1000 + rng.int(50_000), i & 0xff);
      const dropAfter = rng.int(3) === 0 ? rng.int(15) : -1;
      let got = 0;
      let done = false;
      socket.on('data', (c: Buffer) => {
        got += c.length;
        // END_REQUEST is the last 16 bytes; a full answer is well over the body's size.
        if (got >= body.length + 20_000 + 16 && c.readUInt8(c.length - 15) === RecordType.EndRequest) {
          completed++;
          done = true;
          socket.destroy();
        }
      });
      socket.on('error', () => {});
      socket.on('close', () => resolve());
      socket.on('connect', () => {
        const params = buildCgiParams({ target: `/d/${i}`, method: 'POST', bodyLength: body.length });
        socket.write(Buffer.concat([encodeBeginRequest(1, Role.Responder, FCGI_KEEP_CONN), ...encodeParams(1, params)]));
        const stdin = Buffer.concat([...encodeStream(RecordType.Stdin, 1, body), encodeRecord(RecordType.Stdin, 1)]);
        if (dropAfter >= 0) {
          socket.write(stdin.subarray(0, rng.int(stdin.length)));
          setTimeout(() => {
            if (done) return;
            dropped++;
            socket.destroy();
          }, dropAfter);
        } else {
          socket.write(stdin);
        }
      });
    });
    for (let batch = 0; batch < 10; batch++) await Promise.all(Array.from({ length: 30 }, (_, k) => one(batch * 30 + k)));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(served.server.inFlight, 0, 'no request left in flight');
    assert.equal(served.server.connectionCount, 0);
    assert.equal(completed + dropped, 300);
    assert.ok(dropped > 50 && completed > 150, `completed ${completed}, dropped ${dropped}`);
    assert.equal(closes, 300, 'every response saw close (aborted or finished)');
    assert.deepEqual(served.errors.filter((e) => !/aborted|closed the connection/i.test(e.message)), []);
    await served.close();
  });
});
