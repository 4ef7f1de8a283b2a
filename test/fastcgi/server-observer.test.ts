/**
 * The server tells its observer of each connection it opens and closes (the dashboard's process
 * view and the trace's connection events). A mutation audit found the close untested.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Connection } from '../../src/fastcgi/connection';
import { encodeBeginRequest, encodeParams, encodeRecord, RecordType, Role } from '../../src/protocol';
import { RawPeer, startServer } from './raw-client';

/** waitFor: until `pred` holds, or 3 s (the assertion after it then says what was seen). */
async function waitFor(pred: () => boolean): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!pred() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('server observer', () => {
  it('hears open and close of every connection, once each, whichever side closes', async () => {
    const seen: string[] = [];
    const ids = new Map<Connection, number>();
    const name = (c: Connection): number => { if (!ids.has(c)) ids.set(c, ids.size + 1); return ids.get(c)!; };
    const observer = { enabled: () => true, open: (c: Connection) => seen.push(`open ${name(c)}`), close: (c: Connection) => seen.push(`close ${name(c)}`) };
    const { server, path } = await startServer({ onRequest: (req) => req.write(Buffer.from('Status: 200 OK\r\n\r\n'), () => req.end()), observer });
    try {
      const peer = await RawPeer.connect(path); // the web server closes this one
      await new Promise((resolve) => setTimeout(resolve, 20));
      peer.close();
      await waitFor(() => seen.includes('close 1'));
      const done = await RawPeer.connect(path); // this one is closed by the server after a request without KEEP_CONN
      done.send(encodeBeginRequest(1, Role.Responder, 0), ...encodeParams(1, [['REQUEST_METHOD', 'GET']]), encodeRecord(RecordType.Stdin, 1));
      await done.until(() => done.closed, 3000, 'the server closing the connection');
      await waitFor(() => seen.length >= 4);
      assert.deepEqual(seen, ['open 1', 'close 1', 'open 2', 'close 2']);
    } finally {
      await server.close(50);
    }
  });
});
