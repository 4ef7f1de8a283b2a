import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FetchEnv } from '../../src/handlers/fetch';
import type { DualcgiRequest } from '../../src/handlers/node';
import {
  allow, allowResponse, deny, denyResponse, type FilterRequestInfo, variableHeaders,
} from '../../src/handlers/roles';
import { Role } from '../../src/protocol';
import { serveApp } from './app-fixture';
import { header } from './fixture';

/** What mod_fcgid leaves out of an Authorizer's params (FIELD-NOTES; mod_fcgid.c). */
const AUTHORIZER_DROPS = ['CONTENT_LENGTH', 'PATH_INFO', 'PATH_TRANSLATED', 'SCRIPT_NAME'];

/** A Node app that plays all three roles. */
function nodeApp(req: IncomingMessage, res: ServerResponse): void {
  const info = (req as DualcgiRequest).dualcgi;
  if (info.role === 'AUTHORIZER') {
    const user = info.params.get('REMOTE_USER');
    if (user === 'ann') allow(res, { AUTH_ROLE: 'admin', AUTH_USER: user });
    else deny(res, 403, `no entry for ${user ?? 'nobody'}\n`, { 'X-Reason': 'unknown user' });
    return;
  }
  if (info.role === 'FILTER') {
    const data = (info as FilterRequestInfo).data;
    const hash = createHash('sha256');
    let n = 0;
    const read = (): void => {
      data.on('data', (chunk: Buffer) => { hash.update(chunk); n += chunk.length; });
      data.on('end', () => res.end(JSON.stringify({
        n, sha256: hash.digest('hex'), length: info.params.get('FCGI_DATA_LENGTH'), mtime: info.params.get('FCGI_DATA_LAST_MOD'),
      })));
    };
    // /late.txt starts reading after the data has piled up: the connection must pause, then resume.
    if (req.url === '/late.txt') setTimeout(read, 100);
    else read();
    return;
  }
  res.end(`responder ${info.role} ${'data' in info}`);
}

/** The same roles as a fetch app. */
const fetchApp = {
  async fetch(request: Request, env: FetchEnv): Promise<Response> {
    const info = env.dualcgi;
    if (info.role === 'AUTHORIZER') {
      return info.params.get('REMOTE_USER') === 'ann' ? allowResponse({ AUTH_ROLE: 'admin' }) : denyResponse(401, 'who are you?\n', { 'WWW-Authenticate': 'Basic realm="x"' });
    }
    if (info.role === 'FILTER') {
      const text = await new Response(info.data).text();
      return new Response(text.toUpperCase(), { headers: { 'Content-Type': 'text/plain' } });
    }
    return new Response(`responder ${request.method}`);
  },
};

describe('roles: Node apps', async () => {
  const served = await serveApp({ kind: 'node', listener: nodeApp });
  after(() => served.close());

  it('allows with Status 200 and Variable-* headers', async () => {
    const r = await served.request('/private/file.txt', { role: Role.Authorizer, drop: AUTHORIZER_DROPS, extra: [['REMOTE_USER', 'ann'], ['FCGI_APACHE_ROLE', 'AUTHORIZER']] });
    assert.equal(r.status, 200);
    assert.equal(header(r, 'Variable-AUTH_ROLE'), 'admin');
    assert.equal(header(r, 'Variable-AUTH_USER'), 'ann');
    assert.equal(r.body.length, 0);
  });

  it('denies with the app\'s status, headers and body', async () => {
    const r = await served.request('/private/file.txt', { role: Role.Authorizer, drop: AUTHORIZER_DROPS, extra: [['REMOTE_USER', 'bob']] });
    assert.equal(r.status, 403);
    assert.equal(header(r, 'X-Reason'), 'unknown user');
    assert.equal(r.body.toString(), 'no entry for bob\n');
  });

  it('gives a Filter the FCGI_DATA stream as req.dualcgi.data, with backpressure (3 MiB)', async () => {
    const data = randomBytes(3 * 1024 * 1024);
    const r = await served.request('/doc.txt', {
      role: Role.Filter, data, extra: [['FCGI_DATA_LENGTH', String(data.length)], ['FCGI_DATA_LAST_MOD', '1700000000']],
    });
    assert.deepEqual(JSON.parse(r.body.toString()), {
      n: data.length, sha256: createHash('sha256').update(data).digest('hex'), length: String(data.length), mtime: '1700000000',
    });
  });

  it('pauses the connection while a Filter has not started reading its data, then delivers it all', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const r = await served.request('/late.txt', { role: Role.Filter, data });
    assert.equal(JSON.parse(r.body.toString()).sha256, createHash('sha256').update(data).digest('hex'));
  });

  it('gives a Filter an empty data stream', async () => {
    const r = await served.request('/empty.txt', { role: Role.Filter, data: Buffer.alloc(0), extra: [['FCGI_DATA_LENGTH', '0']] });
    assert.equal(JSON.parse(r.body.toString()).n, 0);
  });

  it('ignores FCGI_DATA sent to a Responder, which has no data property', async () => {
    const r = await served.request('/', { data: Buffer.from('ignored') });
    assert.equal(r.body.toString(), 'responder RESPONDER false');
  });
});

describe('roles: fetch apps', async () => {
  const served = await serveApp({ kind: 'fetch', app: fetchApp });
  after(() => served.close());

  it('allows and denies with allowResponse / denyResponse', async () => {
    const yes = await served.request('/x', { role: Role.Authorizer, drop: AUTHORIZER_DROPS, extra: [['REMOTE_USER', 'ann']] });
    assert.equal(yes.status, 200);
    assert.equal(header(yes, 'Variable-AUTH_ROLE'), 'admin');
    const no = await served.request('/x', { role: Role.Authorizer, drop: AUTHORIZER_DROPS });
    assert.equal(no.status, 401);
    assert.equal(header(no, 'WWW-Authenticate'), 'Basic realm="x"');
    assert.equal(no.body.toString(), 'who are you?\n');
  });

  it('gives a Filter env.dualcgi.data as a ReadableStream', async () => {
    const r = await served.request('/doc.txt', { role: Role.Filter, data: Buffer.from('filter me') });
    assert.equal(r.body.toString(), 'FILTER ME');
  });
});

describe('roles: helpers', () => {
  it('turns variables into Variable-* headers and refuses names that are no variable names', () => {
    assert.deepEqual(variableHeaders({ A_B: '1', c2: 'x' }), [['Variable-A_B', '1'], ['Variable-c2', 'x']]);
    assert.throws(() => variableHeaders({ 'a-b': '1' }), TypeError);
    assert.throws(() => variableHeaders({ 'a\r\nb': '1' }), TypeError);
    assert.throws(() => denyResponse(200), RangeError);
  });
});
