import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fastcgiRequest } from '../../src/client/fastcgi-client';
import { launchFastCGIScript } from '../../src/client/launch';
import { buildCgiParams } from '../../src/client/params';
import { parseCgiResponse } from '../../src/client/cgi-response';

const dist = resolve(__dirname, '../../src');

describe('app faults outside a handler (FastCGI)', () => {
  it('an unhandled rejection is reported and the process goes on; an uncaught exception drains in-flight requests, then exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dualcgi-faults-'));
    writeFileSync(join(dir, 'app.js'), `
module.exports = (req, res) => {
  if (req.url === '/reject') { Promise.reject(new Error('nobody catches this')); return res.end('pid ' + process.pid); }
  if (req.url === '/slow') return setTimeout(() => res.end('slow done'), 400);
  if (req.url === '/timer-throw') { setTimeout(() => { throw new Error('thrown from a timer'); }, 20); return res.end('scheduled'); }
  res.end('pid ' + process.pid);
};
`);
    const script = join(dir, 'dispatch.fcgi');
    writeFileSync(script, `#!${process.execPath}\nrequire(${JSON.stringify(dist)}).dispatch({ app: './app.js' });\n`);
    chmodSync(script, 0o755);
    const launched = await launchFastCGIScript(script, { env: { DUALCGI_RUN_DIR: 'off' } });
    const get = async (target: string) => parseCgiResponse((await fastcgiRequest(launched.address, { params: buildCgiParams({ target }) })).stdout).body.toString();
    try {
      const first = await get('/reject');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(await get('/'), first, 'same process after an unhandled rejection');
      const slow = get('/slow');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(await get('/timer-throw'), 'scheduled');
      assert.equal(await slow, 'slow done', 'the request in flight finished');
      const exit = await Promise.race([launched.exited, new Promise((r) => setTimeout(() => r('still running'), 5000))]);
      assert.notEqual(exit, 'still running');
      const stderr = launched.output().stderr.toString();
      assert.match(stderr, /unhandledRejection: Error: nobody catches this/);
      assert.match(stderr, /uncaughtException: Error: thrown from a timer/);
      assert.match(stderr, /finishing the requests in flight/);
    } finally {
      await launched.stop();
    }
  });
});

describe('dispatch timeoutMs (serve --timeout)', () => {
  it('reaches the handler: a request that never answers gets a 504', async () => {
    const { createAppServer } = require('../../src/launch/app-server') as typeof import('../../src/launch/app-server');
    const dir = mkdtempSync(join(tmpdir(), 'dualcgi-timeout-'));
    writeFileSync(join(dir, 'app.js'), "module.exports = (req, res) => { if (req.url !== '/never') res.end('ok'); };\n");
    const server = await createAppServer({ app: join(dir, 'app.js'), timeoutMs: 100 }, dir);
    const path = join(dir, 's.sock');
    await server.listen({ kind: 'unix', path });
    try {
      const r = await fastcgiRequest(`unix:${path}`, { params: buildCgiParams({ target: '/never' }) });
      assert.equal(parseCgiResponse(r.stdout).status, 504);
    } finally {
      await server.close(50);
    }
  });
});
