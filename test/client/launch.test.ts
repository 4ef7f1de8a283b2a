import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { parseCgiResponse } from '../../src/client/cgi-response';
import { isClientError } from '../../src/client/errors';
import { fastcgiRequest } from '../../src/client/fastcgi-client';
import { type LaunchedFastCGI, cgiArgv, launchFastCGIScript, runCgiScript } from '../../src/client/launch';
import { buildCgiParams } from '../../src/client/params';
import { cgiScript, fastcgiScript, nodeFastcgiModule, tempDir, writeScript } from './fixtures';

interface AppInfo {
  pid: number;
  hits: number;
  url: string;
  method: string;
  body: string;
  cwd: string;
  env: string[];
}

function appInfo(stdout: Buffer): AppInfo {
  return JSON.parse(parseCgiResponse(stdout).body.toString()) as AppInfo;
}

describe('launchFastCGIScript', { timeout: 60_000 }, () => {
  const tmp = tempDir();
  let launched: LaunchedFastCGI;

  before(async () => {
    launched = await launchFastCGIScript(fastcgiScript(tmp.dir), { env: { APP_ENV: 'test' } });
  });
  after(async () => {
    await launched.stop();
    tmp.cleanup();
  });

  it('hands the child a listening socket on fd 0: many sequential requests all reach it', async () => {
    const pids = new Set<number>();
    for (let i = 1; i <= 40; i++) {
      const res = await fastcgiRequest(launched.address, { params: buildCgiParams({ target: `/r/${i}` }) });
      const info = appInfo(res.stdout);
      assert.equal(info.url, `/r/${i}`);
      assert.equal(info.hits, i); // the same process counted every one of them
      pids.add(info.pid);
    }
    assert.deepEqual([...pids], [launched.child.pid]);
  });

  it('gives the child PATH plus the given variables, and its folder as cwd', async () => {
    const res = await fastcgiRequest(launched.address, { params: buildCgiParams({ target: '/env' }) });
    const info = appInfo(res.stdout);
    assert.deepEqual(info.env, ['APP_ENV', 'PATH']);
    assert.equal(info.cwd, tmp.dir);
  });

  it('collects the child\'s stderr', () => {
    assert.match(launched.output().stderr.toString(), /served \/r\/1\n/);
  });

  it('stop() ends the child and removes the socket folder', async () => {
    const other = await launchFastCGIScript(fastcgiScript(tmp.dir, 'other.fcgi'));
    assert.equal(other.address.kind, 'unix');
    const socketDir = dirname(other.address.kind === 'unix' ? other.address.path : '');
    assert.ok(existsSync(socketDir));
    await other.stop();
    const { code, signal } = await other.exited;
    assert.ok(signal === 'SIGTERM' || code !== null, `exit ${code} ${signal}`);
    assert.equal(existsSync(socketDir), false);
  });
});

describe('launchFastCGIScript failures', { timeout: 60_000 }, () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it('a crashing app: the request gets CLIENT_ERR_CLOSED and the exit code is known', async () => {
    const launched = await launchFastCGIScript(fastcgiScript(tmp.dir, 'crash.fcgi'));
    try {
      await assert.rejects(fastcgiRequest(launched.address, { params: buildCgiParams({ target: '/crash' }) }),
        (err) => isClientError(err, 'CLIENT_ERR_CLOSED'));
      assert.deepEqual(await launched.exited, { code: 3, signal: null });
    } finally {
      await launched.stop();
    }
  });

  it('SIGKILLs a child that ignores SIGTERM', async () => {
    const script = writeScript(tmp.dir, 'stubborn.fcgi', `#!${process.execPath}
process.on('SIGTERM', () => {});
setInterval(() => {}, 1000);
process.stderr.write('ready\\n');
`);
    const launched = await launchFastCGIScript(script);
    while (!launched.output().stderr.toString().includes('ready')) await new Promise((done) => setTimeout(done, 10));
    await launched.stop(100);
    assert.equal((await launched.exited).signal, 'SIGKILL');
  });

  it('emits CLIENT_ERR_NOT_EXECUTABLE for a script without the execute bit', async () => {
    const script = writeScript(tmp.dir, 'plain.fcgi', '#!/bin/sh\n', 0o644);
    await assert.rejects(launchFastCGIScript(script), (err) => {
      assert.ok(isClientError(err, 'CLIENT_ERR_NOT_EXECUTABLE'));
      assert.match(err.message, /chmod 0755/);
      return true;
    });
  });

  it('emits CLIENT_ERR_SPAWN when the interpreter does not exist', async () => {
    const script = writeScript(tmp.dir, 'nointerp.fcgi', '#!/nonexistent/node\n');
    await assert.rejects(launchFastCGIScript(script), (err) => {
      assert.ok(isClientError(err, 'CLIENT_ERR_SPAWN'));
      assert.match(err.message, /interpreter/);
      return true;
    });
  });
});

describe('runCgiScript', { timeout: 60_000 }, () => {
  const tmp = tempDir();
  let script: string;
  before(() => {
    script = cgiScript(tmp.dir);
    process.env['DUALCGI_LEAK_CHECK'] = 'leaked';
  });
  after(() => {
    delete process.env['DUALCGI_LEAK_CHECK'];
    tmp.cleanup();
  });

  it('runs the script with the params as its environment, the body on stdin, cwd = its folder', async () => {
    const params = buildCgiParams({ method: 'POST', target: '/caf%C3%A9?a=1', mode: 'cgi', bodyLength: 5 });
    const result = await runCgiScript(script, { env: params, stdin: Buffer.from('hello') });
    assert.equal(result.exitCode, 0);
    assert.equal(result.stderr.toString(), 'cgi says hello\n');
    const res = parseCgiResponse(result.stdout);
    assert.deepEqual(res.headers, [['Content-Type', 'text/plain'], ['X-Argc', '0']]);
    const text = res.body.toString();
    assert.match(text, /^body=hello$/m);
    assert.match(text, new RegExp(`^cwd=${tmp.dir}$`, 'm'));
    assert.match(text, /^GATEWAY_INTERFACE=CGI\/1\.1$/m);
    assert.match(text, /^REQUEST_URI=\/caf%C3%A9\?a=1$/m);
    assert.match(text, /^PATH_INFO=\/café$/m); // decoded bytes arrive as UTF-8
    assert.match(text, /^PATH=/m);
    assert.doesNotMatch(text, /DUALCGI_LEAK_CHECK/);
  });

  it('passes a search query as argv (RFC 3875 4.4)', async () => {
    const params = buildCgiParams({ target: '/?isindex+two%20words', mode: 'cgi' });
    const result = await runCgiScript(script, { env: params });
    const res = parseCgiResponse(result.stdout);
    assert.deepEqual(res.headers[1], ['X-Argc', '2']);
    assert.match(res.body.toString(), /^args=isindex two words$/m);
  });

  it('streams a Readable body to stdin and ends it', async () => {
    const params = buildCgiParams({ method: 'POST', target: '/', mode: 'cgi', bodyLength: 6 });
    const result = await runCgiScript(script, { env: params, stdin: Readable.from([Buffer.from('abc'), Buffer.from('def')]) });
    assert.match(parseCgiResponse(result.stdout).body.toString(), /^body=abcdef$/m);
  });

  it('kills a script that runs past timeoutMs', async () => {
    const slow = writeScript(tmp.dir, 'slow.cgi', '#!/bin/sh\nexec sleep 10\n');
    const result = await runCgiScript(slow, { env: [], timeoutMs: 100 });
    assert.equal(result.timedOut, true);
    assert.equal(result.signal, 'SIGKILL');
  });

  it('reports the exit code of a failing script', async () => {
    const failing = writeScript(tmp.dir, 'fail.cgi', '#!/bin/sh\necho oops >&2\nexit 7\n');
    const result = await runCgiScript(failing, { env: [] });
    assert.equal(result.exitCode, 7);
    assert.equal(result.stdout.length, 0);
    assert.equal(result.stderr.toString(), 'oops\n');
  });

  it('emits CLIENT_ERR_NOT_EXECUTABLE for a script without the execute bit', async () => {
    const plain = writeScript(tmp.dir, 'plain.cgi', '#!/bin/sh\n', 0o644);
    await assert.rejects(runCgiScript(plain, { env: [] }), (err) => isClientError(err, 'CLIENT_ERR_NOT_EXECUTABLE'));
  });
});

describe('cgiArgv', () => {
  const cases: Array<[string, string[]]> = [
    ['', []],
    ['isindex', ['isindex']],
    ['a+b+c', ['a', 'b', 'c']],
    ['caf%C3%A9+x%2By', ['café', 'x+y']],
    ['a=1', []],
    ['a+b=c', []],
    ['a%3Db', ['a=b']],
  ];
  for (const [query, argv] of cases) {
    it(`${JSON.stringify(query)} -> ${JSON.stringify(argv)}`, () => assert.deepEqual(cgiArgv(query), argv));
  }
});

describe('a signal that ends the CLI while a launched script runs', { timeout: 60_000 }, () => {
  const bin = resolve(__dirname, '../../../bin/dualcgi');

  /** interrupted: `dualcgi request SCRIPT /hang`, the script's pid once it has the request, then `signal` to the CLI only. */
  async function interrupted(script: string, dir: string, signal: NodeJS.Signals): Promise<{ cli: string | null; script: number }> {
    const cli = spawn(process.execPath, [bin, 'request', script, '/hang'], { stdio: 'ignore', env: { ...process.env, TMPDIR: dir } });
    const pidFile = join(dirname(script), 'pid');
    const started = Date.now();
    while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') {
      assert.ok(Date.now() - started < 10_000, 'the script got the request');
      await new Promise((r) => setTimeout(r, 20));
    }
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const ended = new Promise<NodeJS.Signals | null>((done) => cli.once('exit', (_code, sig) => done(sig)));
    cli.kill(signal);
    return { cli: await ended, script: pid };
  }

  /** gone: the process exited within 5 s (else it is killed here, so that a failing run leaves nothing behind). */
  async function gone(pid: number): Promise<boolean> {
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return true;
      }
      if (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z')) return true; // exited, not reaped yet
      await new Promise((r) => setTimeout(r, 50));
    }
    process.kill(pid, 'SIGKILL');
    return false;
  }

  it('a FastCGI script is stopped and its socket folder removed; the CLI ends as the signal would (Ctrl-C, timeout(1))', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const { dir, cleanup } = tempDir();
      try {
        const script = writeScript(dir, 'dispatch.fcgi', `#!${process.execPath}
require(${JSON.stringify(nodeFastcgiModule)}).createServer(() => {
  require('node:fs').writeFileSync(__dirname + '/pid', String(process.pid)); // and never answers
}).listen();
`);
        const r = await interrupted(script, dir, signal);
        assert.equal(r.cli, signal);
        assert.ok(await gone(r.script), `${signal}: the script is still running`);
        assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('dualcgi-launch-')), [], `${signal}: the socket folder is left`);
      } finally {
        cleanup();
      }
    }
  });

  it('a CGI script is killed', async () => {
    const { dir, cleanup } = tempDir();
    try {
      const script = writeScript(dir, 'dispatch.cgi', '#!/bin/sh\necho $$ > "$(dirname "$0")/pid"\nexec sleep 60\n');
      const r = await interrupted(script, dir, 'SIGTERM');
      assert.equal(r.cli, 'SIGTERM');
      assert.ok(await gone(r.script), 'the script is still running');
    } finally {
      cleanup();
    }
  });
});
