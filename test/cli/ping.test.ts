import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli } from '../client/cli-io';
import { startServer, tempDir } from '../client/fixtures';

describe('dualcgi ping', { timeout: 30_000 }, () => {
  it('prints the values and the round-trip time on one line; exit 0', async () => {
    const running = await startServer(() => {});
    try {
      const r = await runCli('ping', running.address);
      assert.equal(r.code, 0, r.stderr.text);
      assert.match(r.stdout.text, /^unix:\S+ ok rtt=\d+\.\d{3}ms connect=\d+\.\d{3}ms FCGI_MAX_CONNS=1024 FCGI_MAX_REQS=1024 FCGI_MPXS_CONNS=1\n$/);
      const json = await runCli('ping', '--json', running.address);
      assert.equal(JSON.parse(json.stdout.text).values.FCGI_MPXS_CONNS, '1');
      const quiet = await runCli('ping', '-q', running.address);
      assert.equal(quiet.stdout.text, '');
      assert.equal(quiet.code, 0);
    } finally {
      await running.stop();
    }
  });

  it('exits 1 with one line on stderr when nobody answers, 2 on usage errors', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const r = await runCli('ping', `unix:${join(dir, 'gone.sock')}`);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.text.trim().split('\n').length, 1);
      assert.match(r.stderr.text, /^dualcgi ping: unix:.*gone\.sock: no socket there/);
      assert.equal((await runCli('ping')).code, 2);
      assert.equal((await runCli('ping', 'nonsense')).code, 2);
      assert.equal((await runCli('ping', '--timeout', '0', ':9000')).code, 2);
    } finally {
      cleanup();
    }
  });
});
