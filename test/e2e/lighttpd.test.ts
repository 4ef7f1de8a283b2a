// dualcgi behind lighttpd: mod_fastcgi spawns dispatch.fcgi itself (bin-path, a listening socket
// on fd 0), with fix-root-scriptname so SCRIPT_NAME is "" and PATH_INFO the whole path.

import { describe, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { startLighttpd, RunningLighttpd } from './harness/lighttpd';
import { makeWorld, processesOf, removeWorld } from './harness/util';
import { defineChecks } from './fixtures/checks';
import { installApp, installDualcgi, installStatic, writeEntryScript } from './fixtures/world';

describe('e2e: lighttpd bin-path -> dispatch.fcgi', () => {
  let world = '';
  let appDir = '';
  let lighttpd: RunningLighttpd | undefined;
  let staticContent: Buffer = Buffer.alloc(0);

  const readLog = (file: string | undefined): Promise<string> =>
    file ? fsp.readFile(file, 'utf8').catch(() => '') : Promise.resolve('');

  before(async () => {
    world = await makeWorld('e2e-lighttpd');
    const docroot = path.join(world, 'www');
    appDir = path.join(world, 'app');
    const dualcgi = await installDualcgi(world);
    await installApp(appDir);
    staticContent = await installStatic(docroot);
    const script = await writeEntryScript(path.join(appDir, 'dispatch.fcgi'), dualcgi);
    lighttpd = await startLighttpd({ docroot, binPath: script, fixRootScriptname: true, staticPrefix: '/static/' });
  });

  after(async () => {
    await lighttpd?.stop();
    const left = processesOf(undefined, [world]);
    assert.deepEqual(left.map((p) => `${p.pid} ${p.cmdline}`), [], 'processes left behind');
    await removeWorld(world);
  });

  defineChecks({
    name: 'lighttpd',
    mode: 'fcgi',
    port: () => lighttpd?.port ?? 0,
    appDir: () => appDir,
    staticContent: () => staticContent,
    logs: async () =>
      `--- ${lighttpd?.errorLog} ---\n${(await readLog(lighttpd?.errorLog)).slice(-4000)}\n` +
      `--- ${lighttpd?.breakageLog} ---\n${(await readLog(lighttpd?.breakageLog)).slice(-4000)}`,
    // No appStderr: lighttpd gives a bin-path backend stdout = /dev/null (stderr = breakagelog),
    // so the app's console.log vanishes; the check still makes sure it is not in the response.
    restartApp: async () => {
      await lighttpd?.graceful();
    },
    concurrency: { minOverlap: 40 },
  });
});
