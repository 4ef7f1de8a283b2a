// dualcgi ps and dualcgi reload against real `dualcgi serve` processes, through the registry
// each keeps in $DUALCGI_RUN_DIR.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { runText } from '../client/cli-io';
import type { ProcessStatus } from '../../src/launch/registry';
import { get, makeApp, serve, until } from '../launch/helpers';

async function run(argv: string[], runDir: string): Promise<{ code: number; out: string; err: string }> {
  const saved = process.env['DUALCGI_RUN_DIR'];
  process.env['DUALCGI_RUN_DIR'] = runDir;
  try {
    return await runText(argv);
  } finally {
    if (saved === undefined) delete process.env['DUALCGI_RUN_DIR'];
    else process.env['DUALCGI_RUN_DIR'] = saved;
  }
}

describe('dualcgi ps / reload', { timeout: 60_000 }, () => {
  it('ps lists the process with its socket, app, requests and workers; --json too', async () => {
    const app = makeApp('v1');
    const served = await serve(app, ['--workers', '2']);
    const runDir = join(app.dir, 'run');
    try {
      for (let i = 0; i < 5; i++) await get(served.address, '/');
      const pid = served.child.pid!;
      assert.ok(await until(async () => {
        const list = JSON.parse((await run(['ps', '--json'], runDir)).out) as ProcessStatus[];
        return list.some((s) => s.pid === pid && s.requests >= 5);
      }, 5000), 'requests never reached the status file');
      const list = JSON.parse((await run(['ps', '--json'], runDir)).out) as ProcessStatus[];
      const me = list.find((s) => s.pid === pid)!;
      assert.equal(me.listen, served.address);
      assert.equal(me.app, join(app.dir, 'app.js'));
      assert.equal(me.workers.length, 2);
      assert.equal(me.servesItself, false);
      const table = await run(['ps'], runDir);
      assert.equal(table.code, 0);
      assert.match(table.out, /^PID +USER +LISTEN +UPTIME +REQS +BUSY +GEN +VERSION +APP$/m);
      assert.match(table.out, new RegExp(`^${pid} +root +unix:\\S+ +\\S+ +\\d+ +0 +1 +- +${app.dir}/app.js$`, 'm'));
      // As root, ps lists every user's processes: other test files' servers may be in the table too.
      const mine = table.out.slice(table.out.search(new RegExp(`^${pid} `, 'm'))).split('\n').slice(1);
      const workerLines = mine.slice(0, mine.findIndex((line) => !line.includes('└')));
      assert.equal(workerLines.filter((line) => /└ \d+ worker, generation 1, ready/.test(line)).length, 2);
    } finally {
      await served.stop();
      app.cleanup();
    }
  });

  it('reload APP: reloads and reports the new generation; the file is gone after exit', async () => {
    const app = makeApp('v1');
    const served = await serve(app);
    const runDir = join(app.dir, 'run');
    try {
      app.setVersion('v2');
      const r = await run(['reload', join(app.dir, 'app.js')], runDir);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, new RegExp(`^pid ${served.child.pid} \\(.*app\\.js\\): reloaded, generation 1 -> 2 in \\d+\\.\\d+ s, now served by pid \\d+$`, 'm'));
      assert.match(await get(served.address, '/'), /^v2 /);
      const failed = await run(['reload', String(served.child.pid)], runDir);
      assert.equal(failed.code, 0, failed.err);
      writeFileSync(join(app.dir, 'version.js'), 'module.exports = ;');
      const broken = await run(['reload', app.dir], runDir);
      assert.equal(broken.code, 1);
      assert.match(broken.err, /reload FAILED, generation 3 keeps serving: .*SyntaxError|reload FAILED, generation 3 keeps serving/);
      assert.match(await get(served.address, '/'), /^v2 /);
    } finally {
      await served.stop();
      app.cleanup();
    }
    // Only this app's entries: as root, ps also lists other test files' servers (other users' too).
    const after = JSON.parse((await run(['ps', '--json'], runDir)).out) as ProcessStatus[];
    assert.deepEqual(after.filter((status) => status.app.startsWith(app.dir)), []);
  });

  it('reload with nothing matching: exit 1 with a hint', async () => {
    const r = await run(['reload', '/nowhere/app.js'], '/tmp/dualcgi-test-empty-run-dir');
    assert.equal(r.code, 1);
    assert.match(r.err, /no running dualcgi FastCGI process matches \/nowhere\/app\.js \(see dualcgi ps\)/);
  });

  it('ps with an argument: one line naming it, exit 2', async () => {
    const r = await run(['ps', 'myapp'], '/tmp/dualcgi-test-empty-run-dir');
    assert.equal(r.code, 2);
    assert.equal(r.err, 'dualcgi ps: unexpected argument "myapp" (ps takes none) (usage: dualcgi ps --help)\n');
  });
});
