import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { attachCapture } from '../../src/capture/writer';
import { FastCGIClientConnection } from '../../src/client/fastcgi-client';
import { buildCgiParams } from '../../src/client/params';
import type { FcgiRequest } from '../../src/fastcgi/request';
import { main } from '../../src/cli/main';
import { Captured, runCli, waitUntil } from '../client/cli-io';
import { type RunningServer, cgiScript, readBody, respond, startServer, tempDir, writeScript } from '../client/fixtures';

function app(request: FcgiRequest): void {
  readBody(request, (body) => {
    request.writeStderr('replayed!\n');
    respond(request, 'Status: 201 Created\r\nContent-Type: text/plain\r\n\r\n', `${request.params.get('REQUEST_URI')} ${body.toString()}`);
  });
}

/** releaseInspector: what a debugger does first: open the inspector's WebSocket and let the script run. */
async function releaseInspector(wsUrl: string): Promise<void> {
  const url = new URL(wsUrl);
  const socket = connect(Number(url.port), url.hostname);
  await new Promise((r) => socket.once('connect', r));
  socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let seen = '';
  await new Promise<void>((resolve) => socket.on('data', (c: Buffer) => { seen += c.toString('latin1'); if (seen.includes('\r\n\r\n')) resolve(); }));
  assert.match(seen, /^HTTP\/1\.1 101/);
  const payload = Buffer.from(JSON.stringify({ id: 1, method: 'Runtime.runIfWaitingForDebugger' }));
  const mask = randomBytes(4);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked])); // one masked text frame (< 126 bytes)
  await new Promise((r) => setTimeout(r, 200));
  socket.destroy();
}

describe('dualcgi replay', { timeout: 60_000 }, () => {
  let running: RunningServer;
  let dirs: { dir: string; cleanup(): void };
  let file = '';

  before(async () => {
    dirs = tempDir();
    // Only the first connection is captured: the replays' own connections must not add captures.
    let first = true;
    running = await startServer(app, { onConnection: (conn) => { if (first) attachCapture(conn.socket, dirs.dir, { mode: 'fcgi' }); first = false; } });
    const conn = await FastCGIClientConnection.connect(running.address);
    const params = buildCgiParams({ method: 'POST', target: '/orders?id=7', bodyLength: 5, headers: [['Content-Type', 'text/plain']] });
    await conn.request({ params, body: Buffer.from('hello'), keepConn: true });
    await conn.request({ params: buildCgiParams({ target: '/second' }), keepConn: true });
    await conn.close();
    await waitUntil(() => readdirSync(dirs.dir).some((n) => readFileSync(join(dirs.dir, n), 'utf8').includes('"end":true')), 'the capture');
    file = join(dirs.dir, readdirSync(dirs.dir).find((n) => n.endsWith('.fcgicap'))!);
  });
  after(async () => {
    await running.stop();
    dirs.cleanup();
  });

  it('resends a captured request to a FastCGI server and prints the answer; FCGI_STDERR to stderr', async () => {
    const r = await runCli('replay', file, running.address);
    assert.equal(r.code, 0, r.stderr.text);
    assert.equal(r.stdout.text, 'Status: 201 Created\r\nContent-Type: text/plain\r\n\r\n/orders?id=7 hello');
    assert.match(r.stderr.text, /holds 2 requests; replaying #1/);
    assert.match(r.stderr.text, /replayed!/);
  });

  it('finds a capture by id (or id prefix) in --dir, #N picks a request; -v shows the records', async () => {
    const id = file.split('/').at(-1)!.replace('.fcgicap', '');
    const r = await runCli('replay', `${id.slice(0, 16)}#2`, '--dir', dirs.dir, '-v', running.address);
    assert.equal(r.code, 0, r.stderr.text);
    assert.match(r.stdout.text, /\r\n\r\n\/second $/);
    assert.match(r.stderr.text, /^> BEGIN_REQUEST id=1 len=8 role=RESPONDER KEEP_CONN$/m);
    assert.match(r.stderr.text, /^< END_REQUEST id=1 len=8 REQUEST_COMPLETE appStatus=0$/m);
  });

  it('--list, and --export curl|env|replay', async () => {
    const list = await runCli('replay', file, '--list');
    assert.equal(list.code, 0);
    assert.match(list.stdout.text, /^#1 t=\S+ id=1 RESPONDER KEEP_CONN POST \/orders\?id=7 stdin=5 -> 201 REQUEST_COMPLETE app=0\n#2 .* GET \/second stdin=0 -> 201/);
    const curl = await runCli('replay', file, '--export', 'curl');
    assert.equal(curl.stdout.text, "curl --path-as-is -g -H 'Content-Type: text/plain' --data-binary hello 'http://localhost/orders?id=7'\n");
    const env = await runCli('replay', `${file}#2`, '--export', 'env');
    assert.match(env.stdout.text, /^REQUEST_URI='\/second'$/m);
    const replayFile = await runCli('replay', file, '--export', 'replay');
    assert.match(replayFile.stdout.text, /^\{"capture":"dualcgi-capture"/);
    assert.equal((await runCli('replay', file, '--export', 'har')).code, 2);
  });

  it('--as-cgi: one CGI run of a script, the params as environment and the body on stdin', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const r = await runCli('replay', file, '--as-cgi', cgiScript(dir));
      assert.equal(r.code, 0, r.stderr.text);
      assert.match(r.stdout.text, /^body=hello$/m);
      assert.match(r.stdout.text, /^REQUEST_URI=\/orders\?id=7$/m);
      assert.match(r.stdout.text, /^GATEWAY_INTERFACE=CGI\/1\.1$/m);
      assert.match(r.stderr.text, /cgi says hello/);
    } finally {
      cleanup();
    }
  });

  it('--inspect: the script waits under the inspector, the ws:// URL is printed, the request runs once a debugger attaches', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const script = writeScript(dir, 'dispatch.cgi', `#!${process.execPath}
let body = '';
process.stdin.on('data', (c) => { body += c; });
process.stdin.on('end', () => {
  process.stdout.write('Status: 200 OK\\r\\n\\r\\n' + process.env.REQUEST_URI + ' ' + body + ' inspector=' + (require('node:inspector').url() ? 'on' : 'off'));
});
`);
      const stdout = new Captured();
      const stderr = new Captured();
      const done = main(['replay', file, '--inspect', script], { stdout, stderr });
      await waitUntil(() => /waits for a debugger at ws:\/\//.test(stderr.text), 'the inspector URL', 10_000);
      const url = /at (ws:\/\/\S+)/.exec(stderr.text)![1]!;
      assert.match(stderr.text, /node inspect ws:\/\/127\.0\.0\.1:\d+\//);
      await releaseInspector(url);
      assert.equal(await done, 0, stderr.text);
      assert.equal(stdout.text, 'Status: 200 OK\r\n\r\n/orders?id=7 hello inspector=on');
    } finally {
      cleanup();
    }
  });

  it('a torn capture (cut mid-line by a crash or a copy) is read as far as it goes, and said to be torn', async () => {
    const text = readFileSync(file, 'utf8');
    const torn = join(dirs.dir, 'torn.fcgicap');
    // Cut inside the last line (the end line a crash never writes whole).
    const lines = text.trimEnd().split('\n');
    writeFileSync(torn, `${lines.slice(0, -1).join('\n')}\n${lines.at(-1)!.slice(0, 30)}`);
    const r = await runCli('replay', torn, '--list');
    assert.equal(r.code, 0, r.stderr.text);
    assert.match(r.stdout.text, /^#1 .*POST \/orders\?id=7/);
    assert.match(r.stderr.text, /^dualcgi replay: note: .*torn\.fcgicap: 1 line could not be read \(a torn or edited file\)/);
    const empty = join(dirs.dir, 'empty.fcgicap');
    writeFileSync(empty, `${lines[0]}\n`);
    const e = await runCli('replay', empty, '--list');
    assert.equal(e.code, 0);
    assert.equal(e.stdout.text, '');
    assert.match(e.stderr.text, /empty\.fcgicap holds no BEGIN_REQUEST/);
  });

  it('usage and lookup failures', async () => {
    assert.equal((await runCli('replay')).code, 2);
    assert.equal((await runCli('replay', file)).code, 2, 'no TARGET');
    const missing = await runCli('replay', 'no-such-capture', '--dir', dirs.dir, running.address);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr.text, /CAPTURE_ERR_NOT_FOUND: no capture no-such-capture/);
    assert.equal((await runCli('replay', `${file}#9`, running.address)).code, 1);
  });
});
