import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { FcgiRequest } from '../../src/fastcgi/request';
import { runCli } from '../client/cli-io';
import { readBody, respond, startServer, tempDir } from '../client/fixtures';

function app(request: FcgiRequest): void {
  readBody(request, () => respond(request, 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n', request.params.get('PATH_INFO') ?? ''));
}

describe('dualcgi lint', { timeout: 60_000 }, () => {
  it('one line per check and the score; exit 0 when nothing failed', async () => {
    const running = await startServer(app);
    try {
      const r = await runCli('lint', running.address, '--path', '/ok');
      assert.equal(r.code, 0, r.stdout.text + r.stderr.text);
      const lines = r.stdout.text.trimEnd().split('\n');
      assert.equal(lines[0], `dualcgi lint ${running.address}`);
      assert.equal(lines.length, 13);
      assert.match(lines[1]!, /^PASS  request +status 200, \d+ bytes of STDOUT; closed the connection \(KEEP_CONN 0\)$/);
      assert.match(lines[3]!, /^PASS  split-pairs +.*: the same response as with plain framing$/);
      assert.equal(lines.at(-1), 'score 11/11');
      const json = await runCli('lint', running.address, '--json', '--only', 'get-values');
      assert.deepEqual(JSON.parse(json.stdout.text).results.map((x: { name: string }) => x.name), ['get-values']);
    } finally {
      await running.stop();
    }
  });

  it('exit 1 when a check fails; 2 for an unknown check or a bad --param', async () => {
    const { dir, cleanup } = tempDir();
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(join(dir, 's.sock'), r));
    try {
      const r = await runCli('lint', `unix:${join(dir, 's.sock')}`, '--timeout', '0.1', '--only', 'request');
      assert.equal(r.code, 1);
      assert.match(r.stdout.text, /^FAIL  request +no END_REQUEST within 100 ms/m);
      assert.match(r.stdout.text, /^score 0\/1$/m);
      // Nothing listening: one line, as request and ping say it; no scorecard of eleven identical failures.
      const none = await runCli('lint', `unix:${join(dir, 'none.sock')}`);
      assert.equal(none.code, 1);
      assert.equal(none.stdout.text, '');
      assert.equal(none.stderr.text, `dualcgi lint: no socket at unix:${join(dir, 'none.sock')}: is the FastCGI server running, and is the path right?\n`);
      assert.equal((await runCli('lint', ':9000', '--only', 'everything')).code, 2);
      assert.equal((await runCli('lint', ':9000', '--param', 'NOEQUALS')).code, 2);
    } finally {
      silent.close();
      cleanup();
    }
  });
});
