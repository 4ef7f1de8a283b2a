// dualcgi behind Apache + mod_fcgid with the classic .htaccess from the issue: dispatch.fcgi is
// spawned by mod_fcgid with a listening socket on fd 0 (FastCGI mode).

import { describe, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { startApache, RunningApache } from './harness/apache';
import { makeWorld, processesOf, removeWorld, writeFile } from './harness/util';
import { defineChecks } from './fixtures/checks';
import { classicHtaccess, installApp, installDualcgi, installStatic, writeEntryScript } from './fixtures/world';

describe('e2e: Apache + mod_fcgid -> dispatch.fcgi', () => {
  let world = '';
  let docroot = '';
  let apache: RunningApache | undefined;
  let staticContent: Buffer = Buffer.alloc(0);

  before(async () => {
    world = await makeWorld('e2e-fcgid');
    docroot = path.join(world, 'www');
    const dualcgi = await installDualcgi(world);
    await installApp(docroot);
    staticContent = await installStatic(docroot);
    await writeEntryScript(path.join(docroot, 'dispatch.fcgi'), dualcgi);
    await writeFile(path.join(docroot, '.htaccess'), classicHtaccess('dispatch.fcgi'));
    apache = await startApache({
      docroot,
      mode: 'fcgid',
      // mod_fcgid runs one request per process: 50 parallel requests need many processes, and
      // its stock spawn throttle (score limit 10) spawns them slowly.
      extraConfig: [
        'FcgidMaxProcessesPerClass 25',
        'FcgidMaxProcesses 100',
        'FcgidSpawnScoreUpLimit 200',
        'FcgidSpawnScore 1',
        'FcgidTerminationScore 1',
      ].join('\n'),
    });
  });

  after(async () => {
    await apache?.stop();
    const left = processesOf(undefined, [world]);
    assert.deepEqual(left.map((p) => `${p.pid} ${p.cmdline}`), [], 'processes left behind');
    await removeWorld(world);
  });

  defineChecks({
    name: 'apache mod_fcgid',
    mode: 'fcgi',
    port: () => apache?.port ?? 0,
    appDir: () => docroot,
    staticContent: () => staticContent,
    logs: async () => `--- ${apache?.errorLog} ---\n${((await apache?.readErrorLog()) ?? '').slice(-6000)}`,
    // mod_fcgid puts the app's stderr raw into Apache's error log.
    appStderr: async () => (await apache?.readErrorLog()) ?? '',
    restartApp: async () => {
      await apache?.graceful();
    },
    concurrency: { minOverlap: 2 },
  });
});
