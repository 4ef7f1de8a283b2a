import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeEndRequestBody, encodeBeginRequest, encodeParams, encodeRecord, FCGI_KEEP_CONN, RecordType, Role } from '../../src/protocol';
import type { FcgiRequest } from '../../src/fastcgi/request';
import { RawPeer, startServer } from './raw-client';
import { serveApp } from '../handlers/app-fixture';

// Spec 6.2: a Responder compares what FCGI_STDIN brought with CONTENT_LENGTH. The app gets at most
// CONTENT_LENGTH bytes, its body ends when they are in, and a STDIN that ends short is an error.

/** onRequest: reads the body with the declared length, and answers what it got (or its error's code). */
function onRequest(req: FcgiRequest): void {
  const declared = req.params.get('CONTENT_LENGTH');
  const chunks: Buffer[] = [];
  const answer = (text: string): void => req.write(Buffer.from(`Status: 200 OK\r\n\r\n${text}`), () => req.end());
  req.startBody({
    data: (c) => { chunks.push(Buffer.from(c)); return true; },
    end: () => answer(`body=${Buffer.concat(chunks).toString()}`),
    error: (err) => answer(`error=${(err as Error & { code: string }).code} ${(err as Error & { status: number }).status}`),
  }, declared === undefined ? undefined : Number(declared));
}

const cleanup: Array<() => Promise<void>> = [];
function post(id: number, length: string | null): Buffer {
  const pairs: Array<[string, string]> = [['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/']];
  if (length !== null) pairs.push(['CONTENT_LENGTH', length]);
  return Buffer.concat([encodeBeginRequest(id, Role.Responder, FCGI_KEEP_CONN), ...encodeParams(id, pairs)]);
}
const stdin = (id: number, text = ''): Buffer => encodeRecord(RecordType.Stdin, id, Buffer.from(text));

describe('FcgiRequest: the body against CONTENT_LENGTH', () => {
  after(async () => { for (const c of cleanup) await c(); });
  async function peer(): Promise<RawPeer> {
    const s = await startServer({ onRequest });
    cleanup.push(() => s.server.close(50));
    return RawPeer.connect(s.path);
  }

  it('fails a body whose STDIN ends short with FCGI_ERR_BODY_TRUNCATED (400), and serves the next request', async () => {
    const p = await peer();
    p.send(post(1, '10'), stdin(1, 'abcd'), stdin(1));
    p.send(post(2, '4'), stdin(2, 'wxyz'), stdin(2));
    await p.until(() => p.ofType(RecordType.EndRequest).length === 2);
    assert.equal(p.stdout(1).toString(), 'Status: 200 OK\r\n\r\nerror=FCGI_ERR_BODY_TRUNCATED 400');
    assert.equal(p.stdout(2).toString(), 'Status: 200 OK\r\n\r\nbody=wxyz');
    p.close();
  });

  it('gives the app CONTENT_LENGTH bytes and drops what STDIN brings beyond them', async () => {
    const p = await peer();
    p.send(post(1, '5'), stdin(1, 'hello'), stdin(1, ' and more'), stdin(1, ' and more still'), stdin(1));
    await p.until(() => p.ofType(RecordType.EndRequest).length === 1);
    assert.equal(p.stdout(1).toString(), 'Status: 200 OK\r\n\r\nbody=hello');
    p.close();
  });

  it('ends the body as soon as CONTENT_LENGTH bytes are in, before the empty STDIN', async () => {
    const p = await peer();
    p.send(post(1, '3'), stdin(1, 'ab'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(p.ofType(RecordType.EndRequest).length, 0, 'two of three bytes: the body is not over');
    p.send(stdin(1, 'c'));
    await p.until(() => p.ofType(RecordType.EndRequest).length === 1, 3000, 'the answer without the empty STDIN');
    assert.equal(p.stdout(1).toString(), 'Status: 200 OK\r\n\r\nbody=abc');
    p.send(stdin(1)); // the web server's empty STDIN, late: ignored
    p.send(post(2, null), stdin(2, 'no length: to the end'), stdin(2));
    await p.until(() => p.ofType(RecordType.EndRequest).length === 2);
    assert.equal(p.stdout(2).toString(), 'Status: 200 OK\r\n\r\nbody=no length: to the end');
    p.close();
  });

  it('holds STDIN that came before the app started reading, and cuts it there too', async () => {
    const s = await startServer({
      onRequest: (req) => setTimeout(() => onRequest(req), 30), // the body is all in before startBody
    });
    cleanup.push(() => s.server.close(50));
    const p = await RawPeer.connect(s.path);
    p.send(post(1, '6'), stdin(1, 'abc'), stdin(1, 'defghi'), stdin(1), post(2, '6'), stdin(2, 'abc'), stdin(2));
    await p.until(() => p.ofType(RecordType.EndRequest).length === 2);
    assert.equal(p.stdout(1).toString(), 'Status: 200 OK\r\n\r\nbody=abcdef');
    assert.equal(p.stdout(2).toString(), 'Status: 200 OK\r\n\r\nerror=FCGI_ERR_BODY_TRUNCATED 400');
    p.close();
  });
});

describe('the adapters on a FastCGI body shorter or longer than CONTENT_LENGTH', () => {
  const echo = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(`got ${Buffer.concat(chunks).toString()}`));
  };

  it('a Node app: 400 FCGI_ERR_BODY_TRUNCATED, told to onError as a request failure (the trace error event)', async () => {
    const served = await serveApp({ kind: 'node', listener: echo });
    try {
      const short = await served.request('/up', { method: 'POST', body: Buffer.from('only ten b'), extra: [['CONTENT_LENGTH', '100']] });
      assert.equal(short.status, 400);
      assert.equal(short.body.toString(), '400 FCGI_ERR_BODY_TRUNCATED\n');
      assert.deepEqual(served.errors.map((e) => [(e.err as Error & { code: string }).code, e.phase]), [['FCGI_ERR_BODY_TRUNCATED', 'request']]);
      const long = await served.request('/up', { method: 'POST', body: Buffer.from('0123456789'), extra: [['CONTENT_LENGTH', '4']] });
      assert.equal(long.body.toString(), 'got 0123');
    } finally {
      await served.close();
    }
  });

  it('a fetch app: the body it reads fails (400), or is cut at CONTENT_LENGTH', async () => {
    const app = { async fetch(request: Request): Promise<Response> { return new Response(`got ${await request.text()}`); } };
    const served = await serveApp({ kind: 'fetch', app });
    try {
      const short = await served.request('/up', { method: 'POST', body: Buffer.from('only ten b'), extra: [['CONTENT_LENGTH', '100']] });
      assert.equal(short.status, 400);
      assert.equal(short.body.toString(), '400 FCGI_ERR_BODY_TRUNCATED\n');
      const long = await served.request('/up', { method: 'POST', body: Buffer.from('0123456789'), extra: [['CONTENT_LENGTH', '4']] });
      assert.equal(long.body.toString(), 'got 0123');
    } finally {
      await served.close();
    }
  });
});

describe('FcgiRequest.breakResponse: a response that failed after its head', () => {
  const cleanupBreak: Array<() => Promise<void>> = [];
  after(async () => { for (const c of cleanupBreak) await c(); });
  const held = new Map<number, FcgiRequest>();
  async function peer(): Promise<RawPeer> {
    const s = await startServer({
      onRequest: (req) => {
        req.startBody({ data: () => true, end: () => {}, error: () => {} });
        req.write(Buffer.from('Status: 200 OK\r\n\r\npartial'), () => {});
        held.set(req.requestId, req);
      },
    });
    cleanupBreak.push(() => s.server.close(50));
    return RawPeer.connect(s.path);
  }
  const get = (id: number): Buffer => Buffer.concat([encodeBeginRequest(id, Role.Responder, FCGI_KEEP_CONN),
    ...encodeParams(id, [['REQUEST_METHOD', 'GET'], ['REQUEST_URI', '/']]), encodeRecord(RecordType.Stdin, id)]);

  it('alone on its connection: what was written goes out, then the connection closes without END_REQUEST', async () => {
    held.clear();
    const p = await peer();
    p.send(get(1));
    await p.until(() => held.has(1));
    held.get(1)!.breakResponse();
    await p.until(() => p.closed, 3000, 'the close');
    assert.equal(p.stdout(1).toString(), 'Status: 200 OK\r\n\r\npartial');
    assert.equal(p.ofType(RecordType.EndRequest).length, 0, 'no END_REQUEST: the web server must not take the response for whole');
  });

  it('with other requests on the connection: END_REQUEST marked failed (appStatus 1), and the others go on', async () => {
    held.clear();
    const p = await peer();
    p.send(get(1), get(2));
    await p.until(() => held.has(1) && held.has(2));
    held.get(1)!.breakResponse();
    await p.until(() => p.ofType(RecordType.EndRequest, 1).length === 1, 3000, 'END_REQUEST 1');
    assert.equal(decodeEndRequestBody(p.ofType(RecordType.EndRequest, 1)[0]!.content).appStatus, 1);
    held.get(2)!.end();
    await p.until(() => p.ofType(RecordType.EndRequest, 2).length === 1, 3000, 'END_REQUEST 2');
    assert.equal(decodeEndRequestBody(p.ofType(RecordType.EndRequest, 2)[0]!.content).appStatus, 0);
    assert.equal(p.closed, false);
    p.close();
  });
});
