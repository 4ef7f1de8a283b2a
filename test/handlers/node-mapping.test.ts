/**
 * The Node adapter's mapping at its edges, each found untested by a mutation audit: the HTTP
 * version of a request that is not HTTP/1.1, the head of the plain error response that replaces
 * an app's, a body failure reaching onError, interim responses, and an app that throws after it
 * has answered.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { serveApp } from './app-fixture';
import { header } from './fixture';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;
const node = (listener: Listener) => ({ kind: 'node' as const, listener });

describe('node adapter mapping', () => {
  it('gives req the HTTP version the web server names, major and minor', async () => {
    const app = await serveApp(node((req, res) => res.end(`${req.httpVersion} ${req.httpVersionMajor} ${req.httpVersionMinor}`)));
    try {
      for (const [protocol, seen] of [['HTTP/1.0', '1.0 1 0'], ['HTTP/1.1', '1.1 1 1'], ['HTTP/2.0', '2.0 2 0']]) {
        const r = await app.request('/', { extra: [['SERVER_PROTOCOL', protocol!]] });
        assert.equal(r.body.toString(), seen, protocol);
      }
    } finally {
      await app.close();
    }
  });

  it('answers an app that threw before answering with a plain 500 whose Content-Length is its body\'s', async () => {
    const app = await serveApp(node((_req, res) => {
      res.setHeader('Content-Length', '999');
      res.setHeader('X-Secret-Draft', 'dropped');
      throw new Error('boom');
    }));
    try {
      const r = await app.request('/');
      assert.equal(r.status, 500);
      assert.equal(header(r, 'Content-Type'), 'text/plain; charset=utf-8');
      assert.equal(header(r, 'Content-Length'), String(r.body.length));
      assert.equal(header(r, 'X-Secret-Draft'), undefined);
      assert.deepEqual(app.errors.map((e) => e.phase), ['handler']);
    } finally {
      await app.close();
    }
  });

  it('tells onError of a body that fails (over maxBodyBytes), phase request, and answers its status', async () => {
    const app = await serveApp(node((req, res) => {
      req.on('error', () => {});
      req.on('data', () => {});
      req.on('end', () => res.end('read'));
    }), {}, { maxBodyBytes: 10 });
    try {
      const r = await app.request('/', { method: 'POST', body: Buffer.alloc(100, 0x61) });
      assert.equal(r.status, 413);
      assert.match(r.body.toString(), /FCGI_ERR_BODY_TOO_LARGE/);
      assert.deepEqual(app.errors.map((e) => [e.phase, (e.err as Error & { code?: string }).code]), [['request', 'FCGI_ERR_BODY_TOO_LARGE']]);
    } finally {
      await app.close();
    }
  });

  it('sends no interim response (103 Early Hints, 100 Continue, 102 Processing): CGI has none, and its line would corrupt the head', async () => {
    const app = await serveApp(node((_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      res.writeContinue();
      res.writeProcessing();
      res.setHeader('Content-Type', 'text/plain');
      res.end('final');
    }));
    try {
      const r = await app.request('/');
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'final');
      assert.equal(header(r, 'Link'), undefined);
      assert.doesNotMatch(r.raw.stdout.toString('latin1'), /\b10[0-3]\b|HTTP\/1\.1/);
    } finally {
      await app.close();
    }
  });

  it('keeps a whole response whose app threw after ending it, and ends the request as complete', async () => {
    const app = await serveApp(node((_req, res) => {
      res.end('done');
      throw new Error('after the end');
    }));
    try {
      const r = await app.request('/');
      assert.equal(r.status, 200);
      assert.equal(r.body.toString(), 'done');
      assert.equal(r.appStatus, 0);
      assert.deepEqual(app.errors.map((e) => e.phase), ['handler']);
    } finally {
      await app.close();
    }
  });
});
