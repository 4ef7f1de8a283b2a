// dualcgi behind Apache as a CGI script (dispatch.cgi), under mod_cgi (prefork) and mod_cgid
// (event), with the classic .htaccess: every hit is a fresh process.

import { describe, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { startApache, RunningApache } from './harness/apache';
import { makeWorld, processesOf, removeWorld, writeFile } from './harness/util';
import { defineChecks } from './fixtures/checks';
import { classicHtaccess, installApp, installDualcgi, installStatic, writeEntryScript } from './fixtures/world';

for (const mode of ['cgi', 'cgid'] as const) {
  describe(`e2e: Apache + mod_${mode} -> dispatch.cgi`, () => {
    let world = '';
    let docroot = '';
    let apache: RunningApache | undefined;
    let staticContent: Buffer = Buffer.alloc(0);

    before(async () => {
      world = await makeWorld(`e2e-${mode}`);
      docroot = path.join(world, 'www');
      const dualcgi = await installDualcgi(world);
      await installApp(docroot);
      staticContent = await installStatic(docroot);
      await writeEntryScript(path.join(docroot, 'dispatch.cgi'), dualcgi);
      await writeFile(path.join(docroot, '.htaccess'), classicHtaccess('dispatch.cgi'));
      apache = await startApache({
        docroot,
        mode,
        // Enough workers up front for 50 parallel requests (prefork/event add them slowly).
        extraConfig: mode === 'cgi' ? 'StartServers 55\nMinSpareServers 55\nMaxSpareServers 80' : 'StartServers 3',
      });
    });

    after(async () => {
      await apache?.stop();
      const left = processesOf(undefined, [world]);
      assert.deepEqual(left.map((p) => `${p.pid} ${p.cmdline}`), [], 'processes left behind');
      await removeWorld(world);
    });

    defineChecks({
      name: `apache mod_${mode}`,
      mode: 'cgi',
      port: () => apache?.port ?? 0,
      appDir: () => docroot,
      staticContent: () => staticContent,
      logs: async () => `--- ${apache?.errorLog} ---\n${((await apache?.readErrorLog()) ?? '').slice(-6000)}`,
      // A CGI script's stderr goes to Apache's error log (AH01215).
      appStderr: async () => (await apache?.readErrorLog()) ?? '',
      concurrency: { minOverlap: 10 },
    });
  });
}
