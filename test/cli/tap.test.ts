import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fastcgiRequest } from '../../src/client/fastcgi-client';
import { buildCgiParams } from '../../src/client/params';
import { runCli, waitUntil } from '../client/cli-io';
import { readBody, respond, startServer, tempDir } from '../client/fixtures';

const bin = resolve(__dirname, '../../../bin/dualcgi');

describe('dualcgi tap', { timeout: 60_000 }, () => {
  it('proxies until SIGTERM, traces both directions to --trace and captures to --capture; exit 0', async () => {
    const { dir, cleanup } = tempDir();
    const upstream = await startServer((req) => readBody(req, () => respond(req, 'Status: 200 OK\r\n\r\n', 'via tap')));
    const trace = join(dir, 'trace.ndjson');
    const child = spawn(process.execPath, [bin, 'tap', '--listen', `unix:${join(dir, 'tap.sock')}`, '--upstream', upstream.address,
      '--trace', `file:${trace}`, '--capture', join(dir, 'cap')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      await waitUntil(() => stderr.includes('dualcgi tap:'), 'the tap to listen');
      assert.match(stderr, /^dualcgi tap: unix:.*tap\.sock -> unix:.*fcgi\.sock \(trace: file:.*trace\.ndjson\) \(capture: .*cap\)\n$/);
      const r = await fastcgiRequest(`unix:${join(dir, 'tap.sock')}`, { params: buildCgiParams({ target: '/t' }) });
      assert.equal(r.stdout.toString(), 'Status: 200 OK\r\n\r\nvia tap');
      await waitUntil(() => readFileSync(trace, 'utf8').includes('"ev":"conn.close"'), 'the trace');
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      const events = readFileSync(trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ev: string; mode: string; dir?: string; type?: string });
      assert.ok(events.every((e) => e.mode === 'tap'));
      assert.ok(events.some((e) => e.ev === 'record' && e.dir === 'in' && e.type === 'BEGIN_REQUEST'));
      assert.ok(events.some((e) => e.ev === 'record' && e.dir === 'out' && e.type === 'END_REQUEST'));
      assert.ok(events.some((e) => e.ev === 'request.end'));
      assert.equal(readdirSync(join(dir, 'cap')).length, 1);
    } finally {
      child.kill('SIGKILL');
      await upstream.stop();
      cleanup();
    }
  });

  it('usage errors exit 2', async () => {
    assert.equal((await runCli('tap', '--listen', ':9000')).code, 2);
    assert.equal((await runCli('tap', '--listen', 'nonsense', '--upstream', ':9000')).code, 2);
    assert.equal((await runCli('tap', '--listen', ':9000', '--upstream', ':9001', '--socket-mode', 'rw')).code, 2);
    assert.equal((await runCli('tap', '--listen', ':9000', '--upstream', ':9001', '--trace', 'tcp:x')).code, 2);
  });

  it('a trace file or a socket folder that cannot be used: one line naming it, exit 1', async () => {
    const trace = await runCli('tap', '--listen', 'unix:/nonexistent-dualcgi/tap.sock', '--upstream', ':9001', '--trace', 'file:/nonexistent-dualcgi/t.ndjson');
    assert.equal(trace.code, 1);
    assert.equal(trace.stderr.text, 'dualcgi tap: cannot write the trace to file:/nonexistent-dualcgi/t.ndjson: ENOENT\n');
    const listen = await runCli('tap', '--listen', 'unix:/nonexistent-dualcgi/tap.sock', '--upstream', ':9001', '--trace', 'off');
    assert.equal(listen.code, 1);
    assert.match(listen.stderr.text, /^dualcgi tap: cannot listen on unix:\/nonexistent-dualcgi\/tap\.sock: E\w+ \(does \/nonexistent-dualcgi exist, and may this user write there\?\)\n$/);
  });
});
