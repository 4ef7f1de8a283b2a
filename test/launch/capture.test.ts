import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fastcgiRequest } from '../../src/client/fastcgi-client';
import { buildCgiParams } from '../../src/client/params';
import { createAppServer } from '../../src/launch/app-server';
import { runCli } from '../client/cli-io';

describe('serve --capture', () => {
  it('keeps each connection raw (0600 files) and the capture replays to the same answer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dualcgi-capture-'));
    const captures = join(dir, 'captures');
    writeFileSync(join(dir, 'app.js'), "module.exports = (req, res) => { let n = 0; req.on('data', (c) => { n += c.length; }); req.on('end', () => res.end(`${req.url} ${n}`)); };\n");
    const server = await createAppServer({ app: join(dir, 'app.js'), capture: captures, scriptPath: join(dir, 'dispatch.fcgi') }, dir);
    const path = join(dir, 's.sock');
    await server.listen({ kind: 'unix', path });
    try {
      const body = Buffer.from('hello capture');
      const first = await fastcgiRequest(`unix:${path}`, { params: buildCgiParams({ target: '/cap?x=1', method: 'POST', bodyLength: body.length }), body });
      assert.match(first.stdout.toString(), /\/cap\?x=1 13$/);
      await new Promise((r) => setTimeout(r, 100));
      const files = readdirSync(captures);
      assert.equal(files.length, 1);
      assert.equal(statSync(captures).mode & 0o777, 0o700);
      assert.equal(statSync(join(captures, files[0]!)).mode & 0o777, 0o600);
      const replay = await runCli('replay', join(captures, files[0]!), `unix:${path}`);
      assert.equal(replay.code, 0, replay.stderr.text);
      assert.match(replay.stdout.text, /\/cap\?x=1 13$/);
    } finally {
      await server.close(100);
    }
  });
});

describe('listening on a Unix socket path', () => {
  it('replaces a stale socket file but refuses one a live process listens on (ADDR_ERR_IN_USE)', async () => {
    const { FastCGIServer } = require('../../src/fastcgi/server') as typeof import('../../src/fastcgi/server');
    const path = join(mkdtempSync(join(tmpdir(), 'dualcgi-stale-')), 's.sock');
    const onRequest = (): void => {};
    const first = new FastCGIServer({ onRequest });
    await first.listen({ kind: 'unix', path });
    await assert.rejects(new FastCGIServer({ onRequest }).listen({ kind: 'unix', path }), { code: 'ADDR_ERR_IN_USE' });
    // A socket file nobody listens on (a crashed server) is replaced.
    const { linkSync } = require('node:fs') as typeof import('node:fs');
    const stale = `${path}.stale`;
    linkSync(path, stale);
    await first.close(50);
    const second = new FastCGIServer({ onRequest });
    await second.listen({ kind: 'unix', path: stale });
    await second.close(50);
  });
});
