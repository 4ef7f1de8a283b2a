import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FastCGIClientConnection } from '../../src/client/fastcgi-client';
import { launchFastCGIScript, runCgiScript } from '../../src/client/launch';
import { buildCgiParams } from '../../src/client/params';
import { parseCgiResponse } from '../../src/client/cgi-response';
import { listenForTraces } from '../../src/trace/listener';
import type { ReadItem } from '../../src/trace/reader';
import { tempDir } from '../temp-root';

type Ev = Record<string, unknown>;

const dist = resolve(__dirname, '../../src');
const dir = mkdtempSync(join(tmpdir(), 'dualcgi-dtrace-'));
writeFileSync(join(dir, 'app.js'), `
module.exports = (req, res) => {
  if (req.url === '/crash') throw new Error('crash for the trace');
  if (req.url === '/late') { setTimeout(() => { throw new Error('thrown from a timer'); }, 1); return; }
  if (req.url === '/silent') return;
  if (req.url === '/sync') { req.log.info('sync log one'); console.log('sync console'); req.log.info('sync log two'); res.end('ok'); return; }
  if (req.url === '/after') { setImmediate(() => console.error('logged as the response went: ' + req.url)); res.statusCode = 500; res.end('x'); return; }
  if (req.url === '/exit') { req.log.error('exiting from the handler'); process.exit(3); }
  if (req.url === '/sync-crash') { req.log.info('before the crash'); throw new Error('sync crash'); }
  if (req.url === '/late-after-head') { res.writeHead(201); res.write('x'); setTimeout(() => { throw new Error('after the head'); }, 1); return; }
  console.log('console line from', req.url);
  req.log.info({ answer: 42 }, 'req.log line');
  let n = 0;
  req.on('data', (c) => { n += c.length; });
  req.on('end', () => { res.setHeader('Set-Cookie', 'sid=secret'); res.end('body ' + n); });
};
`);
for (const name of ['dispatch.fcgi', 'dispatch.cgi']) {
  writeFileSync(join(dir, name), `#!${process.execPath}\nrequire(${JSON.stringify(dist)}).dispatch({ app: './app.js' });\n`);
  chmodSync(join(dir, name), 0o755);
}

/** servers: every trace listener collect() started, closed after the suite. */
const servers: Server[] = [];

/** collect: a trace listener on a fresh socket, gathering its events (closed after the suite). */
async function collect(): Promise<{ events: Ev[]; path: string }> {
  const path = join(tempDir('dtrace-sock-'), 't.sock');
  const events: Ev[] = [];
  servers.push(await listenForTraces(path, (item: ReadItem) => {
    if (item.kind === 'event') events.push(item.event as unknown as Ev);
  }));
  return { events, path };
}

/** tracedWorker: the example's dispatch.fcgi launched as mod_fcgid does, tracing to `path` (its .dualcgi-trace). */
function tracedWorker(path: string): ReturnType<typeof launchFastCGIScript> {
  writeFileSync(join(dir, '.dualcgi-trace'), `unix:${path}\n`);
  return launchFastCGIScript(join(dir, 'dispatch.fcgi'));
}

function settle(events: Ev[], pred: (e: Ev[]) => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolvePromise, reject) => {
    const check = (): void => {
      if (pred(events)) resolvePromise();
      else if (Date.now() > deadline) reject(new Error(`events so far: ${events.map((e) => e['ev']).join(', ')}`));
      else setTimeout(check, 20);
    };
    check();
  });
}

describe('a trace target that cannot be used', () => {
  it('from DUALCGI_TRACE or .dualcgi-trace: one line on stderr, and the hit is served untraced', async () => {
    // It made every request fail: the process exited before serving (a file: target the web
    // server's user may not open, a typo in .dualcgi-trace).
    const params = buildCgiParams({ target: '/x', mode: 'cgi' });
    for (const trace of ['file:/nonexistent-dualcgi-dir/t.ndjson', 'tcp:1.2.3.4:5']) {
      const r = await runCgiScript(join(dir, 'dispatch.cgi'), { env: [...params, ['DUALCGI_TRACE', trace]], timeoutMs: 10_000 });
      assert.equal(parseCgiResponse(r.stdout).body.toString(), 'body 0', trace);
      assert.equal(r.exitCode, 0);
      assert.match(r.stderr.toString(), /^dualcgi: tracing off: /m);
    }
    const fileDir = mkdtempSync(join(tmpdir(), 'dualcgi-dtrace-file-'));
    writeFileSync(join(fileDir, 'app.js'), 'module.exports = (req, res) => res.end("served");\n');
    writeFileSync(join(fileDir, '.dualcgi-trace'), 'unix/tmp/typo.sock\n');
    writeFileSync(join(fileDir, 'dispatch.cgi'), `#!${process.execPath}\nrequire(${JSON.stringify(dist)}).dispatch({ app: './app.js' });\n`);
    chmodSync(join(fileDir, 'dispatch.cgi'), 0o755);
    const r = await runCgiScript(join(fileDir, 'dispatch.cgi'), { env: params, timeoutMs: 10_000 });
    assert.equal(parseCgiResponse(r.stdout).body.toString(), 'served');
    assert.match(r.stderr.toString(), /tracing off: TRACE_ERR_TARGET/);
  });
});

describe('trace events from real dispatch processes', () => {
  after(() => servers.forEach((s) => s.close()));

  it('a CGI hit sends all its events before it exits, and none reach the response', async () => {
    const { events, path } = await collect();
    const params = buildCgiParams({ target: '/hello?x=1', mode: 'cgi', method: 'POST', bodyLength: 3 });
    const r = await runCgiScript(join(dir, 'dispatch.cgi'), { env: [...params, ['DUALCGI_TRACE', `unix:${path}`]], stdin: Buffer.from('abc') });
    const resp = parseCgiResponse(r.stdout);
    assert.equal(resp.body.toString(), 'body 3');
    await settle(events, (e) => e.some((x) => x['ev'] === 'process.exit'));
    const kinds = events.map((e) => e['ev']);
    assert.deepEqual(kinds.filter((k) => k !== 'app.log'), ['process.start', 'request.start', 'request.end', 'process.exit']);
    const start = events.find((e) => e['ev'] === 'process.start')!;
    assert.equal(start['mode'], 'cgi');
    assert.match(String(start['reason']), /GATEWAY_INTERFACE/);
    const rid = events.find((e) => e['ev'] === 'request.start')!['rid'];
    const logs = events.filter((e) => e['ev'] === 'app.log');
    assert.ok(logs.some((l) => l['msg'] === 'req.log line' && l['answer'] === 42 && l['rid'] === rid), 'req.log line attributed');
    assert.ok(logs.some((l) => l['stream'] === 'stdout' && /console line from \/hello/.test(String(l['msg']))), 'console.log captured');
    const end = events.find((e) => e['ev'] === 'request.end')!;
    assert.equal(end['status'], 200);
    assert.equal(end['bytesIn'], 3);
    assert.deepEqual(end['headers'], [['Set-Cookie', '[redacted]'], ['Content-Length', '6']]);
    assert.ok(!r.stdout.toString().includes('"ev"'), 'no trace line in the response');
  });

  it('a CGI hit ended outside the adapters (an uncaught exception, an app that never answers) still sends its request.end', async () => {
    for (const [target, status, phase] of [['/late', 500, 'uncaught'], ['/silent', 500, 'handler'], ['/late-after-head', 201, 'uncaught']] as const) {
      const { events, path } = await collect();
      const params = buildCgiParams({ target, mode: 'cgi' });
      const r = await runCgiScript(join(dir, 'dispatch.cgi'), { env: [...params, ['DUALCGI_TRACE', `unix:${path}`]], stdin: Buffer.alloc(0) });
      assert.equal(r.exitCode, 1, `${target}: exit status`);
      await settle(events, (e) => e.some((x) => x['ev'] === 'process.exit'));
      const kinds = events.map((e) => e['ev']).filter((k) => k !== 'app.log');
      assert.deepEqual(kinds, ['process.start', 'request.start', 'error', 'request.end', 'process.exit'], target);
      const error = events.find((e) => e['ev'] === 'error')!;
      assert.equal(error['phase'], phase, target);
      const end = events.find((e) => e['ev'] === 'request.end')!;
      assert.equal(end['status'], status, target);
      assert.equal(end['rid'], events.find((e) => e['ev'] === 'request.start')!['rid']);
    }
  });

  it('a FastCGI worker traces every record with the request rid, errors with stack, and console output', async () => {
    const { events, path } = await collect();
    const launched = await tracedWorker(path);
    try {
      const conn = await FastCGIClientConnection.connect(launched.address);
      const ok = await conn.request({ params: buildCgiParams({ target: '/ok', method: 'POST', bodyLength: 2 }), body: Buffer.from('hi'), keepConn: true });
      assert.match(ok.stdout.toString(), /body 2$/);
      const crash = await conn.request({ params: buildCgiParams({ target: '/crash' }), keepConn: true });
      assert.match(crash.stdout.toString(), /^Status: 500/);
      conn.close();
      await settle(events, (e) => e.filter((x) => x['ev'] === 'request.end').length === 2);
    } finally {
      await launched.stop();
    }
    const start = events.find((e) => e['ev'] === 'process.start')!;
    assert.match(String(start['reason']), /listening unix socket/);
    const [first, second] = events.filter((e) => e['ev'] === 'request.start');
    const records = events.filter((e) => e['ev'] === 'record' && e['rid'] === first!['rid']);
    const types = records.map((r) => `${r['dir']} ${r['type']}`);
    for (const t of ['in BEGIN_REQUEST', 'in PARAMS', 'in STDIN', 'out STDOUT', 'out END_REQUEST']) assert.ok(types.includes(t), `${t} in ${types.join(',')}`);
    assert.ok(events.some((e) => e['ev'] === 'app.log' && e['rid'] === first!['rid'] && e['stream'] === 'stdout'), 'console output attributed to its request');
    const error = events.find((e) => e['ev'] === 'error' && e['rid'] === second!['rid'])!;
    assert.match(String(error['stack']), /crash for the trace\n\s+at /);
    assert.equal(events.find((e) => e['ev'] === 'request.end' && e['rid'] === second!['rid'])!['status'], 500);
    assert.ok(events.some((e) => e['ev'] === 'conn.open') && events.some((e) => e['ev'] === 'process.exit'));
  });

  it('per request, the events come in the order they happened: start, records and logs and errors, end (tail prints them so)', async () => {
    // A handler that logs and answers in one turn: its log lines were sent after the wire line
    // that held its END_REQUEST (FastCGI), or after the grouped line holding its end (CGI), so
    // `tail` printed the request as done and then its logs.
    const targets = ['/sync', '/sync-crash'];
    const check = (events: Ev[], label: string): void => {
      for (const target of targets) {
        const start = events.find((e) => e['ev'] === 'request.start' && e['uri'] === target);
        assert.ok(start, `${label} ${target}: request.start`);
        const mine = events.filter((e) => e['rid'] === start['rid']);
        const kinds = mine.map((e) => (e['ev'] === 'record' ? `${e['dir']} ${e['type']}` : e['ev'] === 'app.log' ? `log ${e['msg']}` : e['ev']));
        const at = (k: string): number => kinds.indexOf(k);
        assert.equal(kinds[0] === 'request.start' || kinds[0] === 'in BEGIN_REQUEST', true, `${label} ${target}: ${kinds.join(', ')}`);
        assert.equal(kinds.at(-1), 'request.end', `${label} ${target}: ${kinds.join(', ')}`);
        assert.ok(at('request.start') >= 0, `${label} ${target}: ${kinds.join(', ')}`);
        const logs = target === '/sync' ? ['log sync log one', 'log sync console', 'log sync log two'] : ['log before the crash', 'error'];
        let last = at('request.start');
        for (const k of logs) {
          assert.ok(at(k) > last, `${label} ${target}: ${k} in order after start: ${kinds.join(', ')}`);
          last = at(k);
        }
        if (label === 'fcgi') assert.ok(at('out END_REQUEST') > last, `${label} ${target}: END_REQUEST after the logs: ${kinds.join(', ')}`);
      }
    };
    {
      const { events, path } = await collect();
      const launched = await tracedWorker(path);
      try {
        const conn = await FastCGIClientConnection.connect(launched.address);
        for (const target of targets) await conn.request({ params: buildCgiParams({ target }), keepConn: true });
        conn.close();
        await settle(events, (e) => e.filter((x) => x['ev'] === 'request.end').length === targets.length);
      } finally {
        await launched.stop();
      }
      check(events, 'fcgi');
    }
    const { events, path } = await collect();
    for (const target of targets) {
      const params = buildCgiParams({ target, mode: 'cgi' });
      await runCgiScript(join(dir, 'dispatch.cgi'), { env: [...params, ['DUALCGI_TRACE', `unix:${path}`]], stdin: Buffer.alloc(0) });
    }
    await settle(events, (e) => e.filter((x) => x['ev'] === 'process.exit').length === targets.length);
    check(events, 'cgi');
  });

  it('an app that calls process.exit() in a handler: its request, its log and why the process ended still reach the listener', async () => {
    // They were lost with the process: the sink had gathered them for its next batch (FastCGI),
    // or queued them before its connection was made (CGI); the listener saw nothing of the hit.
    const check = (events: Ev[], label: string): void => {
      const start = events.find((e) => e['ev'] === 'request.start' && e['uri'] === '/exit');
      assert.ok(start, `${label}: request.start in ${events.map((e) => e['ev']).join(', ')}`);
      assert.ok(events.some((e) => e['ev'] === 'app.log' && e['msg'] === 'exiting from the handler' && e['rid'] === start['rid']), `${label}: the log`);
      const exit = events.find((e) => e['ev'] === 'process.exit');
      assert.ok(exit, `${label}: process.exit`);
      assert.equal(exit['code'], 3, label);
      assert.match(String(exit['reason']), /process\.exit\(\) in the app/, label);
    };
    {
      const { events, path } = await collect();
      const launched = await tracedWorker(path);
      try {
        const conn = await FastCGIClientConnection.connect(launched.address);
        await conn.request({ params: buildCgiParams({ target: '/ok' }), keepConn: true }); // connected by now
        await conn.request({ params: buildCgiParams({ target: '/exit' }), keepConn: true }).catch(() => undefined);
        await settle(events, (e) => e.some((x) => x['ev'] === 'process.exit'));
      } finally {
        await launched.stop();
      }
      check(events, 'fcgi');
    }
    const { events, path } = await collect();
    const params = buildCgiParams({ target: '/exit', mode: 'cgi' });
    const r = await runCgiScript(join(dir, 'dispatch.cgi'), { env: [...params, ['DUALCGI_TRACE', `unix:${path}`]], stdin: Buffer.alloc(0) });
    assert.equal(r.exitCode, 3);
    await settle(events, (e) => e.some((x) => x['ev'] === 'process.exit'));
    check(events, 'cgi');
  });

  it('a CGI hit runs what its app set off as it answered before it exits (Express logs a handler\'s error so)', async () => {
    // Express's finalhandler logs the error from a setImmediate made before it writes the 500
    // page: a hit that exited at once lost the stack, from the trace and the web server's log.
    const { events, path } = await collect();
    const params = buildCgiParams({ target: '/after', mode: 'cgi' });
    const r = await runCgiScript(join(dir, 'dispatch.cgi'), { env: [...params, ['DUALCGI_TRACE', `unix:${path}`]], stdin: Buffer.alloc(0) });
    assert.match(r.stderr.toString(), /logged as the response went: \/after/, 'in the web server\'s error log');
    await settle(events, (e) => e.some((x) => x['ev'] === 'process.exit'));
    const rid = events.find((e) => e['ev'] === 'request.start')!['rid'];
    // Attributed to the hit's request (its only one), though written from a callback as the first console line.
    assert.ok(events.some((e) => e['ev'] === 'app.log' && /logged as the response went/.test(String(e['msg'])) && e['rid'] === rid),
      JSON.stringify(events.filter((e) => e['ev'] === 'app.log')));
    const untraced = await runCgiScript(join(dir, 'dispatch.cgi'), { env: [...params, ['DUALCGI_TRACE', 'off']], stdin: Buffer.alloc(0) });
    assert.match(untraced.stderr.toString(), /logged as the response went/, 'untraced too');
  });
});
