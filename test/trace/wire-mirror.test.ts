import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FastCGIClientConnection } from '../../src/client/fastcgi-client';
import { launchFastCGIScript } from '../../src/client/launch';
import { buildCgiParams } from '../../src/client/params';
import { encodeBeginRequest, encodeParams, encodeRecord, FCGI_KEEP_CONN, RecordType, Role } from '../../src/protocol';
import { NdjsonReader, type ReadItem } from '../../src/trace/reader';

type Ev = Record<string, unknown>;

const COOKIE = 'session=s3cret-cookie';
const AUTH = 'Bearer s3cret-token';
const SET_COOKIE = 'sid=s3cret-set-cookie';
const BODY = 'top-s3cret-body';

const dist = resolve(__dirname, '../../src');
const dir = mkdtempSync(join(tmpdir(), 'dualcgi-wire-'));
writeFileSync(join(dir, 'app.js'), `
module.exports = (req, res) => {
  let n = 0;
  req.on('data', (c) => { n += c.length; });
  req.on('end', () => {
    res.statusCode = req.url.startsWith('/missing') ? 404 : 201;
    res.setHeader('Set-Cookie', ${JSON.stringify(SET_COOKIE)});
    setTimeout(() => res.end('answer ' + n + ' ${BODY}'), req.url.startsWith('/slow') ? 30 : 0);
  });
};
`);
writeFileSync(join(dir, 'dispatch.fcgi'), `#!${process.execPath}\nrequire(${JSON.stringify(dist)}).dispatch({ app: './app.js', multiplex: true });\n`);
chmodSync(join(dir, 'dispatch.fcgi'), 0o755);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** capture: a trace socket keeping every byte the serving process sends. */
async function capture(): Promise<{ server: Server; path: string; bytes: () => Buffer }> {
  const path = join(mkdtempSync(join(tmpdir(), 'dualcgi-wire-sock-')), 't.sock');
  const chunks: Buffer[] = [];
  const server = createServer((s) => s.on('data', (c: Buffer) => chunks.push(c)));
  await new Promise<void>((r) => server.listen(path, r));
  return { server, path, bytes: () => Buffer.concat(chunks) };
}

function eventsOf(bytes: Buffer): Ev[] {
  const out: Ev[] = [];
  const reader = new NdjsonReader((item: ReadItem) => {
    if (item.kind === 'event') out.push(item.event as unknown as Ev);
  });
  // In small pieces: a line split anywhere must read the same.
  for (let i = 0; i < bytes.length; i += 777) reader.push(bytes.subarray(i, i + 777));
  reader.end();
  return out;
}

describe('the wire mirror of a real FastCGI worker', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  it('sends no secret in the bytes on the socket, and readers show requests, statuses, pieces and multiplexed requests as before', async () => {
    const cap = await capture();
    servers.push(cap.server);
    writeFileSync(join(dir, '.dualcgi-trace'), `unix:${cap.path}\n`);
    const launched = await launchFastCGIScript(join(dir, 'dispatch.fcgi'));
    let oneBytes = -1;
    try {
      const conn = await FastCGIClientConnection.connect(launched.address);
      // Wait for the sink to connect (its first lines: process.start), so every request is mirrored.
      for (let i = 0; i < 100 && !cap.bytes().includes('process.start'); i++) await sleep(20);
      const headers = [['Cookie', COOKIE], ['Authorization', AUTH]] as const;
      const one = await conn.request({ params: buildCgiParams({ target: '/one', method: 'POST', bodyLength: BODY.length, headers }),
        body: Buffer.from(BODY), keepConn: true });
      assert.match(one.stdout.toString(), /^Status: 201/);
      oneBytes = one.stdout.length;
      // Two requests in flight on one connection, answered in the other order.
      const [slow, missing] = await Promise.all([
        conn.request({ params: buildCgiParams({ target: '/slow', headers }), keepConn: true }),
        conn.request({ params: buildCgiParams({ target: '/missing', headers }), keepConn: true }),
      ]);
      assert.match(slow.stdout.toString(), /^Status: 201/);
      assert.match(missing.stdout.toString(), /^Status: 404/);
      conn.close();
      // A request whose STDIN record arrives in pieces (three reads).
      const body = Buffer.from(`${BODY}-${'x'.repeat(300)}`);
      const stdin = encodeRecord(RecordType.Stdin, 1, body);
      const raw = connect(launched.address.kind === 'unix' ? launched.address.path : '');
      await new Promise<void>((r) => raw.once('connect', r));
      raw.write(Buffer.concat([encodeBeginRequest(1, Role.Responder, FCGI_KEEP_CONN),
        ...encodeParams(1, buildCgiParams({ target: '/pieces', method: 'PUT', bodyLength: body.length }))]));
      raw.write(stdin.subarray(0, 100));
      await sleep(30);
      raw.write(stdin.subarray(100, 250));
      await sleep(30);
      raw.write(Buffer.concat([stdin.subarray(250), encodeRecord(RecordType.Stdin, 1)]));
      await new Promise<void>((r) => raw.on('data', (c: Buffer) => {
        if (c.includes(Buffer.from([1, RecordType.EndRequest]))) r();
      }));
      raw.destroy();
      for (let i = 0; i < 100 && eventsOf(cap.bytes()).filter((e) => e['ev'] === 'request.end').length < 4; i++) await sleep(20);
    } finally {
      await launched.stop();
    }
    const bytes = cap.bytes();
    const text = bytes.toString('latin1');
    assert.ok(text.includes('"ev":"wire"'), 'the records went as wire lines');
    // What went on the socket, the wire lines' frames decoded: no secret in either.
    const frames = text.split('\n').filter((l) => l.includes('"ev":"wire"')).map((l) => Buffer.from((JSON.parse(l) as { b64: string }).b64, 'base64').toString('latin1')).join('');
    for (const secret of [COOKIE, AUTH, SET_COOKIE, BODY, 's3cret']) {
      assert.ok(!text.includes(secret) && !frames.includes(secret), `${secret} is not on the socket`);
    }
    const evs = eventsOf(bytes);
    const starts = evs.filter((e) => e['ev'] === 'request.start');
    const ends = evs.filter((e) => e['ev'] === 'request.end');
    assert.deepEqual(starts.map((e) => `${e['method']} ${e['uri']}`).sort(), ['GET /missing', 'GET /slow', 'POST /one', 'PUT /pieces']);
    const endOf = (uri: string): Ev => ends.find((e) => e['uri'] === uri)!;
    assert.deepEqual(['/one', '/slow', '/missing', '/pieces'].map((u) => endOf(u)['status']), [201, 201, 404, 201]);
    assert.equal(endOf('/one')['bytesIn'], BODY.length);
    // Every STDOUT byte counted, STDOUT writes merged into one record or not (WireMirror#grow).
    assert.equal(endOf('/one')['bytesOut'], oneBytes);
    assert.equal(endOf('/pieces')['bytesIn'], BODY.length + 301);
    assert.deepEqual((endOf('/one')['headers'] as Array<[string, string]>).find(([n]) => n.toLowerCase() === 'set-cookie'), ['Set-Cookie', '[redacted]']);
    const params = starts.find((e) => e['uri'] === '/one')!['params'] as Array<[string, string]>;
    assert.deepEqual(params.filter(([n]) => n === 'HTTP_COOKIE' || n === 'HTTP_AUTHORIZATION').map(([, v]) => v), ['[redacted]', '[redacted]']);
    for (const start of starts) {
      const rid = start['rid'];
      const records = evs.filter((e) => e['ev'] === 'record' && e['rid'] === rid);
      const types = records.map((r) => `${r['dir']} ${r['type']}`);
      for (const t of ['in BEGIN_REQUEST', 'in PARAMS', 'in STDIN', 'out STDOUT', 'out END_REQUEST']) assert.ok(types.includes(t), `${t} in ${types.join(',')}`);
      for (const r of records) if (r['type'] === 'STDIN' || r['type'] === 'STDOUT') assert.equal(r['preview'], undefined);
    }
    // The record in pieces is one record of its whole length.
    const pieces = evs.filter((e) => e['ev'] === 'record' && e['rid'] === starts.find((s) => s['uri'] === '/pieces')!['rid'] && e['type'] === 'STDIN');
    assert.deepEqual(pieces.map((r) => r['contentLength']), [BODY.length + 301, 0]);
    // Multiplexed: both requests of the one connection, each with its own request id.
    const ids = ['/slow', '/missing'].map((u) => endOf(u)['requestId']);
    assert.notEqual(ids[0], ids[1]);
  });
});
