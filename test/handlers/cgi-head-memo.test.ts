import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as responseHead from '../../src/cgi/response-head';
import { cgiHeadOf } from '../../src/handlers/cgi-head-memo';
import { header, serveListener } from './fixture';

/** counting: httpHeadToCgi with its calls counted while `fn` runs (the memo calls it through the module). */
async function counting<T>(fn: () => Promise<T>): Promise<{ result: T; conversions: number }> {
  const exports = responseHead as unknown as { httpHeadToCgi: (head: string) => string };
  const real = exports.httpHeadToCgi;
  let conversions = 0;
  exports.httpHeadToCgi = (head: string) => {
    conversions++;
    return real(head);
  };
  try {
    return { result: await fn(), conversions };
  } finally {
    exports.httpHeadToCgi = real;
  }
}

describe('cgiHeadOf: the last CGI head again for the same HTTP head', () => {
  it('converts a head once while it repeats, and again when it changes', async () => {
    const a = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n';
    const b = 'HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 2\r\n\r\n';
    const { result, conversions } = await counting(async () => [cgiHeadOf(a), cgiHeadOf(`${a}`), cgiHeadOf(b), cgiHeadOf(b), cgiHeadOf(a)]);
    assert.deepEqual(result, [responseHead.httpHeadToCgi(a), responseHead.httpHeadToCgi(a), responseHead.httpHeadToCgi(b),
      responseHead.httpHeadToCgi(b), responseHead.httpHeadToCgi(a)]);
    assert.equal(result[2], 'Status: 404 Not Found\r\nContent-Length: 2\r\n\r\n', 'the hop-by-hop line dropped');
    assert.equal(conversions, 3);
  });
});

describe('cgiHeadOf through the Node adapter: responses in turn keep their own heads', async () => {
  const served = await serveListener((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/close') {
      res.writeHead(404, { 'Content-Type': 'text/plain', Connection: 'close', 'Content-Length': '2' });
      res.end('no');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '2' });
    res.end('ok');
  });
  after(() => served.close());

  it('a repeated head is converted once; a different one in between gets its own', async () => {
    const { result, conversions } = await counting(async () => [
      await served.get('/a'), await served.get('/b'), await served.get('/close'), await served.get('/c')]);
    assert.deepEqual(result.map((r) => r.status), [200, 200, 404, 200]);
    assert.deepEqual(result.map((r) => r.body.toString()), ['ok', 'ok', 'no', 'ok']);
    assert.equal(header(result[2]!, 'Connection'), undefined, 'the hop-by-hop header dropped');
    assert.deepEqual(result.map((r) => header(r, 'Content-Type')), ['text/plain', 'text/plain', 'text/plain', 'text/plain']);
    // /a's head (unless the last one remembered), /close's, and /c's again after it: never /b's.
    assert.ok(conversions === 2 || conversions === 3, `${conversions} conversions, not one per response`);
  });
});
