// Reload where the socket came from the web server (fd 0, as mod_fcgid / spawn-fcgi pass it): the
// process mod_fcgid knows stays, a worker takes over the same socket, nothing is refused.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchFastCGIScript } from '../../src/client/launch';
import { createPlan, writeDeployment } from '../../src/deploy/init';
import { get, loadLoop, makeApp, sleep, until } from './helpers';

describe('reload on an inherited listening socket (fd 0)', { timeout: 60_000 }, () => {
  it('SIGHUP: same pid for the web server, new code, zero failures', async (t) => {
    const app = makeApp('v1');
    writeDeployment(createPlan({ server: 'apache-fcgid', dir: app.dir }), false);
    const launched = await launchFastCGIScript(join(app.dir, 'dispatch.fcgi'), { env: { DUALCGI_RUN_DIR: join(app.dir, 'run') } });
    const address = `unix:${launched.address.kind === 'unix' ? launched.address.path : ''}`;
    try {
      assert.ok(await until(async () => (await get(address, '/').catch(() => '')).startsWith('v1 ')));
      const load = loadLoop(address, 4);
      await sleep(200);
      app.setVersion('v2');
      launched.child.kill('SIGHUP');
      assert.ok(await until(async () => (await get(address, '/')).startsWith('v2 ')));
      await sleep(200);
      // The restart file init configured works the same way.
      app.setVersion('v3');
      writeFileSync(join(app.dir, 'tmp', 'restart.txt'), 'now');
      assert.ok(await until(async () => (await get(address, '/')).startsWith('v3 ')));
      const r = await load.stop();
      t.diagnostic(`fd 0: ${r.sent} sent, ${r.failed} failed, ${r.retried} resent on a closed kept-alive connection`);
      assert.equal(r.failed, 0, r.errors.join(' | '));
      assert.equal(launched.child.exitCode, null, 'the process the web server started is still there');
    } finally {
      await launched.stop(5000);
      app.cleanup();
    }
    assert.equal((await launched.exited).code, 0);
  });
});
