import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCapture } from '../../src/capture/read';
import { type CapturedRequest, extractRequests } from '../../src/capture/requests';
import { attachCapture } from '../../src/capture/writer';
import type { FcgiRequest } from '../../src/fastcgi/request';
import { FCGI_KEEP_CONN, RecordType, decodePairs } from '../../src/protocol';
import { runCli, waitUntil } from './cli-io';
import { type RunningServer, cgiScript, readBody, respond, startServer, tempDir } from './fixtures';

/** The app answers with the params it decoded and the body it read. */
function app(request: FcgiRequest): void {
  readBody(request, (body) => {
    respond(request, 'Status: 200 OK\r\nContent-Type: application/json\r\n\r\n',
      JSON.stringify({ params: [...request.params], body: body.toString('latin1') }));
  });
}

describe('dualcgi request --profile, -v, --raw, --split-pairs, --bytewise', { timeout: 60_000 }, () => {
  let running: RunningServer;
  let captures: { dir: string; cleanup(): void };
  /** current: each test's connections are captured in a folder of their own. */
  let current = '';
  let count = 0;
  before(async () => {
    captures = tempDir();
    running = await startServer(app, { onConnection: (conn) => { attachCapture(conn.socket, current, { conn: conn.id }); } });
  });
  after(async () => {
    await running.stop();
    captures.cleanup();
  });
  beforeEach(() => {
    current = join(captures.dir, String(++count));
    mkdirSync(current);
  });

  /** sent: the one request the server received, as the capture recorded it. */
  async function sent(): Promise<CapturedRequest> {
    let file = '';
    await waitUntil(() => {
      file = readdirSync(current).map((n) => join(current, n)).find((p) => readFileSync(p, 'utf8').includes('"end":true')) ?? '';
      return file !== '';
    }, 'the capture to be complete');
    const requests = extractRequests(readCapture(file));
    assert.equal(requests.length, 1);
    return requests[0]!;
  }

  const paramsRecords = (r: CapturedRequest): Buffer[] =>
    r.records.filter((b) => b[1] === RecordType.Params && b.readUInt16BE(4) > 0).map((b) => b.subarray(8, 8 + b.readUInt16BE(4)));

  it('--profile nginx: id 1, no KEEP_CONN, all params in one record, SCRIPT_NAME twice', async () => {
    const r = await runCli('request', running.address, '--profile', 'nginx', '-H', 'Host: example.test:8080', '/foo?x=1');
    assert.equal(r.code, 0, r.stderr.text);
    const req = await sent();
    assert.equal(req.requestId, 1);
    assert.equal(req.flags & FCGI_KEEP_CONN, 0);
    assert.equal(paramsRecords(req).length, 1);
    assert.deepEqual(req.params.filter(([n]) => n === 'SCRIPT_NAME').map(([, v]) => v), ['/foo', '']);
    const seen = new Map(JSON.parse(r.stdout.text.split('\r\n\r\n')[1]!).params as Array<[string, string]>);
    assert.equal(seen.get('HTTP_HOST'), 'example.test');
    assert.equal(seen.get('SERVER_SOFTWARE'), 'nginx/1.22.1');
  });

  it('--profile proxy-fcgi: KEEP_CONN, params over several records that each hold whole pairs', async () => {
    const headers = Array.from({ length: 6 }, (_, i) => ['-H', `X-Big-${i}: ${'v'.repeat(3000)}`]).flat();
    const r = await runCli('request', running.address, '--profile', 'proxy-fcgi', ...headers, '/');
    assert.equal(r.code, 0, r.stderr.text);
    const req = await sent();
    assert.equal(req.flags & FCGI_KEEP_CONN, FCGI_KEEP_CONN);
    const records = paramsRecords(req);
    assert.ok(records.length > 1, `${records.length} PARAMS records`);
    for (const content of records) assert.doesNotThrow(() => decodePairs(content));
  });

  it('--split-pairs: every PARAMS record ends inside a pair; the responder still decodes them', async () => {
    const r = await runCli('request', running.address, '--split-pairs', '/split');
    assert.equal(r.code, 0, r.stderr.text);
    const req = await sent();
    const records = paramsRecords(req);
    assert.ok(records.length > 10);
    assert.throws(() => decodePairs(records[0]!));
    const seen = new Map(JSON.parse(r.stdout.text.split('\r\n\r\n')[1]!).params as Array<[string, string]>);
    assert.equal(seen.get('PATH_INFO'), '/split');
  });

  it('--bytewise: one byte per PARAMS and STDIN record; the body arrives whole', async () => {
    const r = await runCli('request', running.address, '--bytewise', '-d', 'hello bytes', '/b');
    assert.equal(r.code, 0, r.stderr.text);
    const req = await sent();
    const stdin = req.records.filter((b) => b[1] === RecordType.Stdin && b.readUInt16BE(4) > 0);
    assert.equal(stdin.length, 'hello bytes'.length);
    assert.ok(paramsRecords(req).every((c) => c.length === 1));
    assert.equal(JSON.parse(r.stdout.text.split('\r\n\r\n')[1]!).body, 'hello bytes');
  });

  it('-v: every record both ways decoded on stderr; stdout is the response as received', async () => {
    const r = await runCli('request', running.address, '-v', '-d', 'abc', '/v');
    assert.equal(r.code, 0, r.stderr.text);
    const lines = r.stderr.text.split('\n');
    assert.equal(lines[0], '> BEGIN_REQUEST id=1 len=8 role=RESPONDER');
    assert.ok(lines.includes('>     PATH_INFO=/v'), r.stderr.text);
    assert.ok(lines.includes('> STDIN id=1 len=3 pad=5 "abc"'), r.stderr.text);
    assert.ok(lines.some((l) => l.startsWith('< STDOUT id=1 len=')));
    assert.ok(lines.includes('< END_REQUEST id=1 len=8 REQUEST_COMPLETE appStatus=0'));
    assert.match(r.stdout.text, /^Status: 200 OK\r\n/);
  });

  it('--raw: every byte both ways as hex on stderr', async () => {
    const r = await runCli('request', running.address, '--raw', '/raw');
    assert.equal(r.code, 0, r.stderr.text);
    assert.match(r.stderr.text, /^> 00000000: 0101 0001 0008 0000 0001 0000 0000 0000  \.{16}$/m);
    assert.match(r.stderr.text, /^< 00000000: 0106 0001 /m);
  });

  it('a profile limit: the request is not sent, the reason and the status are one line; exit 1', async () => {
    const { dir, cleanup } = tempDir();
    try {
      writeFileSync(join(dir, 'big'), Buffer.alloc(200_000));
      const r = await runCli('request', running.address, '--profile', 'fcgid', '--data-file', join(dir, 'big'), '/upload');
      assert.equal(r.code, 1);
      assert.match(r.stderr.text, /fcgid would answer 500 and not pass the request on: a body of 200000 bytes/);
      assert.equal(r.stdout.text, '');
    } finally {
      cleanup();
    }
  });

  it('usage errors exit 2: unknown profile, both framings, record flags with a CGI script', async () => {
    assert.equal((await runCli('request', running.address, '--profile', 'iis', '/')).code, 2);
    assert.equal((await runCli('request', running.address, '--split-pairs', '--bytewise', '/')).code, 2);
    const { dir, cleanup } = tempDir();
    try {
      assert.equal((await runCli('request', cgiScript(dir), '-v', '/')).code, 2);
      assert.equal((await runCli('request', cgiScript(dir), '--profile', 'lighttpd', '/')).code, 0, 'a profile shapes a CGI environment too');
    } finally {
      cleanup();
    }
  });
});
