import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCgiResponse } from '../../src/client/cgi-response';
import { runCgiScript } from '../../src/client/launch';
import { buildCgiParams } from '../../src/client/params';
describe('fetch adapter: CGI mode (one process per request)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dualcgi-fetch-cgi-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'app.js'), [
    "const { createHash } = require('node:crypto');",
    'module.exports = { async fetch(request, env) {',
    "  if (new URL(request.url).pathname === '/ignore') return new Response('ignored ' + env.dualcgi.mode);",
    '  const body = Buffer.from(await request.arrayBuffer());',
    "  return new Response(body.length + ' ' + createHash('sha256').update(body).digest('hex'));",
    '} };',
    '',
  ].join('\n'));
  const script = join(dir, 'dispatch.cgi');
  writeFileSync(script, `#!${process.execPath}\nrequire(${JSON.stringify(join(__dirname, '..', '..', 'src'))}).dispatch({ app: './app.js' });\n`, { mode: 0o755 });
  const body = randomBytes(3 * 1024 * 1024);
  const env = (target: string): Array<[string, string]> => buildCgiParams({ target, mode: 'cgi', method: 'POST', bodyLength: body.length });

  it('reads a request body from stdin', async () => {
    const r = await runCgiScript(script, { env: env('/echo'), stdin: body, timeoutMs: 20000 });
    assert.equal(r.exitCode, 0, r.stderr.toString());
    assert.equal(parseCgiResponse(r.stdout).body.toString(), `${body.length} ${createHash('sha256').update(body).digest('hex')}`);
  });

  it('drains a body the app never reads, and exits at once (a CGI server blocks on unread stdin)', async () => {
    const t0 = Date.now();
    const r = await runCgiScript(script, { env: env('/ignore'), stdin: body, timeoutMs: 20000 });
    assert.equal(r.exitCode, 0, r.stderr.toString());
    assert.equal(parseCgiResponse(r.stdout).body.toString(), 'ignored cgi');
    assert.ok(Date.now() - t0 < 4000, 'the process waited for its 5 s stdin fallback');
  });
});
