// dualcgi tap between a real nginx and a real FastCGI app: php-fpm, and `dualcgi serve`. The tap
// runs as its own process (`node bin/dualcgi tap`), traces to a file and captures to a folder; the
// tests check what the browser gets, what the trace says, and that the capture holds the same bytes.

import { describe, before, after, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { readCapture } from '../../src/capture/read';
import { type CapturedRequest, extractRequests } from '../../src/capture/requests';
import { startNginx, RunningNginx } from './harness/nginx';
import { startPhpFpm, RunningPhpFpm } from './harness/php-fpm';
import { httpRequest, launch, makeWorld, mkdirp, nodeForWww, removeWorld, sha256, which, writeFile, RunningServer } from './harness/util';
import { installApp, installDualcgi, repoRoot } from './fixtures/world';

interface TraceLine {
  ev: string;
  mode?: string;
  dir?: string;
  type?: string;
  uri?: string;
  status?: number;
  phase?: string;
  code?: string;
  msg: string;
  conn?: number;
}

/** startTap: `node bin/dualcgi tap` as root, its socket open to nginx's www-data workers. */
async function startTap(dir: string, upstream: string): Promise<{ tap: RunningServer; sock: string; trace: string; captures: string }> {
  const sock = path.join(dir, 'tap.sock');
  const trace = path.join(dir, 'trace.ndjson');
  const captures = path.join(dir, 'cap');
  const tap = await launch({
    name: 'dualcgi tap',
    bin: process.execPath,
    args: [path.join(repoRoot(), 'bin', 'dualcgi'), 'tap', '--listen', `unix:${sock}`, '--upstream', upstream,
      '--socket-mode', '666', '--trace', `file:${trace}`, '--capture', captures],
    dir,
    configFile: '',
    errorLog: path.join(dir, 'none.log'),
    port: 0,
    readyOn: sock,
  });
  return { tap, sock, trace, captures };
}

async function traceLines(file: string): Promise<TraceLine[]> {
  const text = await fsp.readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as TraceLine);
}

/** capturedRequests: every request in every capture file of the folder. */
async function capturedRequests(dir: string): Promise<CapturedRequest[]> {
  const names = (await fsp.readdir(dir)).filter((n) => n.endsWith('.fcgicap')).sort();
  return names.flatMap((n) => extractRequests(readCapture(path.join(dir, n))));
}

function param(r: CapturedRequest, name: string): string | undefined {
  return r.params.filter(([n]) => n === name).at(-1)?.[1];
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('e2e: nginx -> dualcgi tap -> php-fpm', { timeout: 120_000 }, () => {
  let world = '';
  let docroot = '';
  let fpm: RunningPhpFpm | undefined;
  let nginx: RunningNginx | undefined;
  let tapped: Awaited<ReturnType<typeof startTap>> | undefined;

  before(async () => {
    world = await makeWorld('e2e-tap-php');
    docroot = path.join(world, 'www');
    await writeFile(path.join(docroot, 'index.php'), [
      '<?php',
      "header('Content-Type: text/plain');",
      "$body = file_get_contents('php://input');",
      "echo $_SERVER['REQUEST_METHOD'], ' ', $_SERVER['REQUEST_URI'], ' ', strlen($body), ' ', hash('sha256', $body);",
      '',
    ].join('\n'));
    // The socket lives outside php-fpm's folder: stopping php-fpm kills every process whose command
    // line names that folder, and the tap's --upstream names the socket.
    fpm = await startPhpFpm({ listen: path.join(world, 'sock', 'php.sock'), dir: path.join(world, 'php-fpm') });
    tapped = await startTap(await mkdirp(path.join(world, 'tap')), fpm.address);
    nginx = await startNginx({
      docroot, fastcgiPass: `unix:${tapped.sock}`, params: 'php', keepConn: true,
      locationConfig: `fastcgi_param SCRIPT_FILENAME ${docroot}/index.php;`,
    });
  });

  after(async () => {
    await nginx?.stop();
    await tapped?.tap.stop();
    await fpm?.stop();
    await removeWorld(world);
  });

  it('the browser gets php-fpm\'s answers, bodies byte-exact both ways', async () => {
    const port = nginx!.port;
    const get = await httpRequest(port, '/foo/bar?x=1');
    assert.equal(get.status, 200, `${await nginx!.readErrorLog()}`);
    assert.equal(get.body.toString(), `GET /foo/bar?x=1 0 ${sha256('')}`);
    const body = Buffer.alloc(300_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 8)) & 0xff;
    const post = await httpRequest(port, '/upload', { method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(post.status, 200);
    assert.equal(post.body.toString(), `POST /upload ${body.length} ${sha256(body)}`);
  });

  it('KEEP_CONN reuse: ten requests, fewer tap connections; every request traced both ways with mode tap', async () => {
    const port = nginx!.port;
    for (let i = 0; i < 10; i++) assert.equal((await httpRequest(port, `/seq/${i}`)).status, 200);
    await eventually(async () => (await traceLines(tapped!.trace)).filter((e) => e.ev === 'request.end' && e.uri?.startsWith('/seq/')).length === 10, 'ten request.end events');
    const events = (await traceLines(tapped!.trace)).filter((e) => e.mode === 'tap');
    const seq = events.filter((e) => e.ev === 'request.start' && e.uri?.startsWith('/seq/'));
    assert.equal(seq.length, 10);
    assert.ok(new Set(seq.map((e) => e.conn)).size < 10, 'nginx kept its upstream connections (fastcgi_keep_conn on)');
    assert.ok(events.some((e) => e.ev === 'record' && e.dir === 'in' && e.type === 'PARAMS'));
    assert.ok(events.some((e) => e.ev === 'record' && e.dir === 'out' && e.type === 'STDOUT'));
    assert.deepEqual([...new Set(events.filter((e) => e.ev === 'request.end' && e.uri?.startsWith('/seq/')).map((e) => e.status))], [200]);
  });

  it('the capture holds the very bytes: the upload as STDIN, the answer as STDOUT', async () => {
    let upload: CapturedRequest | undefined;
    await eventually(async () => {
      upload = (await capturedRequests(tapped!.captures)).find((r) => param(r, 'REQUEST_URI') === '/upload' && r.response.protocolStatus === 0);
      return upload !== undefined;
    }, 'the upload in a capture file');
    assert.equal(upload!.stdin.length, 300_000);
    assert.match(upload!.response.stdout.toString(), /\r\n\r\nPOST \/upload 300000 [0-9a-f]{64}$/);
  });

  it('php-fpm gone: nginx answers 502, the trace says the tap cannot reach it', async () => {
    await fpm!.stop();
    const res = await httpRequest(nginx!.port, '/after-stop');
    assert.equal(res.status, 502);
    await eventually(async () => (await traceLines(tapped!.trace)).some((e) => e.ev === 'error' && e.phase === 'upstream'), 'the upstream error')
      .catch(async (err: Error) => {
        const tail = (await traceLines(tapped!.trace)).filter((e) => e.ev !== 'record').slice(-8).map((e) => e.msg).join('\n');
        throw new Error(`${err.message}; the trace ends with:\n${tail}\n--- nginx ---\n${(await nginx!.readErrorLog()).slice(-1500)}`);
      });
    const error = (await traceLines(tapped!.trace)).find((e) => e.ev === 'error' && e.phase === 'upstream')!;
    assert.match(error.msg, /cannot reach upstream unix:.*php\.sock: (ENOENT|ECONNREFUSED).*the web server's connection was closed \(it answers 502\)/);
  });
});

describe('e2e: nginx -> dualcgi tap -> dualcgi serve', { timeout: 120_000 }, () => {
  let world = '';
  let serve: RunningServer | undefined;
  let nginx: RunningNginx | undefined;
  let tapped: Awaited<ReturnType<typeof startTap>> | undefined;

  before(async () => {
    world = await makeWorld('e2e-tap-serve');
    const appDir = path.join(world, 'app');
    const dualcgi = await installDualcgi(world);
    await installApp(appDir);
    const serveDir = await mkdirp(path.join(world, 'serve'), { owner: 'www-data' });
    const sock = path.join(serveDir, 'app.sock');
    const log = path.join(serveDir, 'serve.log');
    const cmd = [which('setpriv'), '--reuid=www-data', '--regid=www-data', '--clear-groups', nodeForWww(),
      path.join(dualcgi, 'bin', 'dualcgi'), 'serve', '--bind', `unix:${sock}`, '--socket-mode', '666', path.join(appDir, 'app.js')];
    const quoted = cmd.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    serve = await launch({
      name: 'dualcgi serve', bin: '/bin/sh', args: ['-c', `exec ${quoted} >>'${log}' 2>&1`], cwd: appDir, dir: serveDir,
      configFile: path.join(appDir, 'app.js'), errorLog: log, port: 0, readyOn: sock, extraDirs: [appDir],
    });
    tapped = await startTap(await mkdirp(path.join(world, 'tap')), `unix:${sock}`);
    nginx = await startNginx({ docroot: path.join(world, 'www'), fastcgiPass: `unix:${tapped.sock}`, keepConn: true, params: 'pathinfo' });
  });

  after(async () => {
    await nginx?.stop();
    await tapped?.tap.stop();
    await serve?.stop();
    await removeWorld(world);
  });

  it('answers through the tap: routes, a 1 MiB upload, a 2 MiB download, twenty at once', async () => {
    const port = nginx!.port;
    const info = await httpRequest(port, '/info?x=1');
    assert.equal(info.status, 200, await nginx!.readErrorLog());
    assert.equal((JSON.parse(info.body.toString()) as { url: string; mode: string }).url, '/info?x=1');
    const body = Buffer.alloc(1024 * 1024, 'z');
    const echo = await httpRequest(port, '/echo', { method: 'POST', body });
    assert.deepEqual(JSON.parse(echo.body.toString()), { length: body.length, sha256: sha256(body) });
    const big = await httpRequest(port, '/big?mb=2');
    assert.equal(big.body.length, 2 * 1024 * 1024);
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => httpRequest(port, `/slow?ms=50&i=${i}`)));
    assert.deepEqual([...new Set(many.map((r) => r.status))], [200]);
  });

  it('the trace has both directions of dualcgi\'s own records, and request.end with the status', async () => {
    assert.equal((await httpRequest(nginx!.port, '/status/404')).status, 404);
    await eventually(async () => (await traceLines(tapped!.trace)).some((e) => e.ev === 'request.end' && e.uri === '/status/404'), 'the 404 in the trace');
    const events = await traceLines(tapped!.trace);
    assert.equal(events.find((e) => e.ev === 'request.end' && e.uri === '/status/404')!.status, 404);
    assert.ok(events.some((e) => e.ev === 'record' && e.dir === 'out' && e.type === 'END_REQUEST'));
    assert.ok(!events.some((e) => e.ev === 'error'), JSON.stringify(events.filter((e) => e.ev === 'error')));
  });
});
