import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runCgiScript } from '../../src/client/launch';
import { buildCgiParams } from '../../src/client/params';
import { parseCgiResponse } from '../../src/client/cgi-response';

const dist = resolve(__dirname, '../../src');
const dir = mkdtempSync(join(tmpdir(), 'dualcgi-cgi-'));
writeFileSync(join(dir, 'app.js'), `
module.exports = (req, res) => {
  if (req.url === '/proxy') return res.end(String(process.env.HTTP_PROXY) + ' ' + req.headers.proxy);
  if (req.url === '/print-at-load') return res.end('fine');
  if (req.url === '/inject') { try { res.setHeader('X-A', 'a\\r\\nSet-Cookie: evil=1'); } catch (e) { res.statusCode = 500; return res.end(e.code); } }
  if (req.url.startsWith('/argv')) return res.end(JSON.stringify(process.argv.slice(2)));
  if (req.url === '/big-after-body') {
    req.resume();
    return req.on('end', () => { res.write(Buffer.alloc(1 << 20, 120)); res.end(Buffer.alloc(1 << 20, 121)); });
  }
  if (req.url === '/timer-throws') return void setTimeout(() => { throw new Error('thrown from a timer'); }, 5);
  if (req.url === '/forgets-end') return;
  if (req.url === '/forgets-end-after-head') return void res.write('partial');
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('error', () => {});
  req.on('end', () => res.end('got ' + Buffer.concat(chunks).length));
};
console.log('printed while loading: must not reach the response');
`);
const script = join(dir, 'dispatch.cgi');
writeFileSync(script, `#!${process.execPath}\nrequire(${JSON.stringify(dist)}).dispatch({ app: './app.js' });\n`);
chmodSync(script, 0o755);

/** stalledScript: an entry script whose app is a factory that never settles (nothing keeps the loop alive). */
const stalledScript = join(dir, 'stalled.cgi');
writeFileSync(join(dir, 'stalled.js'), 'module.exports = () => new Promise(() => {});\n');
writeFileSync(stalledScript, `#!${process.execPath}\nrequire(${JSON.stringify(dist)}).dispatch({ app: './stalled.js' });\n`);
chmodSync(stalledScript, 0o755);

async function hit(target: string, extra: Array<[string, string]> = [], stdin?: Buffer, method = 'GET') {
  const params = buildCgiParams({ target, mode: 'cgi', method, ...(stdin ? { bodyLength: stdin.length } : {}) })
    .filter(([n]) => !extra.some(([e]) => e === n));
  const r = await runCgiScript(script, { env: [...params, ...extra], ...(stdin ? { stdin } : {}), timeoutMs: 10_000 });
  return { ...r, resp: parseCgiResponse(r.stdout) };
}

describe('CGI mode against hostile environments', () => {
  it('answers a CONTENT_LENGTH that is not a number with a 400, not a hang', async () => {
    for (const bad of ['abc', '-1', '1e3', ' 5']) {
      const r = await hit('/x', [['CONTENT_LENGTH', bad]], undefined, 'POST');
      assert.equal(r.resp.status, 400, `CONTENT_LENGTH=${JSON.stringify(bad)}`);
      assert.match(r.stderr.toString(), /CGI_ERR_BAD_CONTENT_LENGTH/);
    }
  });

  it('answers a body shorter than CONTENT_LENGTH with a 400', async () => {
    const r = await hit('/x', [['CONTENT_LENGTH', '100']], Buffer.from('only ten b'), 'POST');
    assert.equal(r.resp.status, 400);
    assert.match(r.resp.body.toString(), /CGI_ERR_BODY_TRUNCATED/);
    assert.equal(r.timedOut, false);
  });

  it('reads exactly CONTENT_LENGTH bytes even when stdin has more', async () => {
    const r = await hit('/x', [['CONTENT_LENGTH', '4']], Buffer.from('abcdefgh'), 'POST');
    assert.equal(r.resp.body.toString(), 'got 4');
  });

  it('neutralises httpoxy: the Proxy header reaches the app as a header, never as HTTP_PROXY', async () => {
    const r = await hit('/proxy', [['HTTP_PROXY', 'http://evil.example:3128']]);
    assert.equal(r.resp.body.toString(), 'undefined http://evil.example:3128');
  });

  it('keeps load-time console output out of the response', async () => {
    const r = await hit('/print-at-load');
    assert.equal(r.resp.status, 200);
    assert.equal(r.resp.body.toString(), 'fine');
    assert.match(r.stderr.toString(), /printed while loading/);
  });

  it('rejects header injection (CR/LF in a header value) and never emits it', async () => {
    const r = await hit('/inject');
    assert.equal(r.resp.status, 500);
    assert.equal(r.resp.body.toString(), 'ERR_INVALID_CHAR');
    assert.ok(!r.stdout.toString().includes('evil=1'));
  });

  it('says so when the app never answers and nothing is left to wait for: a 500 (or the part sent), exit 1, DUALCGI_ERR_NO_RESPONSE', async () => {
    // The hit used to exit 0 with an empty stdout: "End of script output before headers", no reason.
    const r = await hit('/forgets-end');
    assert.equal(r.resp.status, 500);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr.toString(), /DUALCGI_ERR_NO_RESPONSE/);
    const partial = await hit('/forgets-end-after-head');
    assert.equal(partial.resp.status, 200);
    assert.equal(partial.resp.body.toString(), 'partial');
    assert.equal(partial.exitCode, 1);
    assert.match(partial.stderr.toString(), /DUALCGI_ERR_NO_RESPONSE/);
  });

  it('a web server that closes stdout early (EPIPE) ends the hit with the error reported, not an unhandled error event', async () => {
    // With a body (stdout is then a stream) and tracing (the hit lives on to send its events).
    const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', DUALCGI_TRACE: 'stderr', DUALCGI_RUN_DIR: 'off' };
    for (const [n, v] of buildCgiParams({ target: '/big-after-body', mode: 'cgi', method: 'POST', bodyLength: 5 })) env[n] = v;
    const child = spawn(script, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.stdout.once('data', () => child.stdout.destroy()); // the web server goes away mid-response
    child.stdin.end('hello');
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    assert.equal(code, 1);
    assert.match(stderr, /EPIPE/);
    assert.doesNotMatch(stderr, /Unhandled 'error' event/);
  });

  it('an exception no handler caught (a throw from a timer) ends the hit with a 500 and the stack, exit 1', async () => {
    // Node's own crash left stdout empty: the web server's "End of script output before headers".
    const r = await hit('/timer-throws');
    assert.equal(r.resp.status, 500);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr.toString(), /dualcgi: uncaught exception: Error: thrown from a timer/);
  });

  it('says so when the app\'s factory never settles: APP_ERR_LOAD, a 500, exit 1', async () => {
    const r = await runCgiScript(stalledScript, { env: buildCgiParams({ target: '/', mode: 'cgi' }), timeoutMs: 10_000 });
    assert.equal(parseCgiResponse(r.stdout).status, 500);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr.toString(), /APP_ERR_LOAD: .*factory never settled/);
  });

  it('never reads CGI argv as options (a query without = becomes argv)', async () => {
    const params = buildCgiParams({ target: '/argv?--mode+fcgi', mode: 'cgi' });
    const r = await runCgiScript(script, { env: params, timeoutMs: 10_000 });
    const resp = parseCgiResponse(r.stdout);
    assert.equal(resp.status, 200);
    assert.deepEqual(JSON.parse(resp.body.toString()), ['--mode', 'fcgi']);
  });
});
