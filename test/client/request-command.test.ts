import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { type Captured, type CliRun, runCli } from './cli-io';
import type { FcgiRequest } from '../../src/fastcgi/request';
import { deployment } from '../deploy/fixtures';
import { type RunningServer, cgiScript, fastcgiScript, readBody, respond, startServer, tempDir, writeScript } from './fixtures';

/** run: `dualcgi request ...argv` in this process (the shared CLI runner of test/client/cli-io). */
function run(...argv: string[]): Promise<CliRun> {
  return runCli('request', ...argv);
}

const HELLO = 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\n';

function app(request: FcgiRequest): void {
  const path = request.params.get('PATH_INFO');
  if (path === '/hangup') return;
  if (path === '/broken') {
    // A response that fails after its head: part of it, then the connection closes without END_REQUEST.
    request.write(Buffer.from('Status: 200 OK\r\nContent-Type: text/plain\r\n\r\npartial\n'), () => request.breakResponse());
    return;
  }
  readBody(request, (body) => {
    if (path === '/hello') {
      request.writeStderr('a note for the error log\n');
      respond(request, HELLO);
    } else if (path === '/missing') {
      respond(request, 'Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\n', 'no\n');
    } else if (path === '/bad') {
      respond(request, 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n', 'oops');
    } else {
      const p = request.params;
      const info = {
        method: p.get('REQUEST_METHOD'), uri: p.get('REQUEST_URI'), pathInfo: p.get('PATH_INFO'), scriptName: p.get('SCRIPT_NAME'),
        type: p.get('CONTENT_TYPE'), length: p.get('CONTENT_LENGTH'), custom: p.get('HTTP_X_CUSTOM'),
        bodyLength: body.length, sha256: createHash('sha256').update(body).digest('hex'),
      };
      respond(request, 'Status: 200 OK\r\nContent-Type: application/json\r\n\r\n', JSON.stringify(info));
    }
  });
}

function jsonBody(out: Captured): Record<string, unknown> {
  const text = out.text;
  return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
}

describe('dualcgi request against a FastCGI address', { timeout: 60_000 }, () => {
  let running: RunningServer;
  before(async () => {
    running = await startServer(app);
  });
  after(() => running.stop());

  it('prints the response exactly as received and FCGI_STDERR to stderr; exit 0', async () => {
    const r = await run(running.address, '/hello');
    assert.equal(r.code, 0);
    assert.equal(r.stdout.text, HELLO);
    assert.equal(r.stderr.text, 'a note for the error log\n');
  });

  it('sends method, headers and a body like curl (-d means POST, form type)', async () => {
    const r = await run(running.address, '-H', 'X-Custom: yes', '-d', 'a=1&b=2', '/app/echo?q=1', '--mount', '/m');
    assert.equal(r.code, 0, r.stderr.text);
    assert.deepEqual(jsonBody(r.stdout), {
      method: 'POST', uri: '/m/app/echo?q=1', pathInfo: '/app/echo', scriptName: '/m/dispatch.fcgi',
      type: 'application/x-www-form-urlencoded', length: '7', custom: 'yes', bodyLength: 7,
      sha256: createHash('sha256').update('a=1&b=2').digest('hex'),
    });
  });

  it('--param sets or replaces a FastCGI param, --profile or not; without NAME= it is a usage error', async () => {
    for (const profile of [[], ['--profile', 'nginx']]) {
      const r = await run(running.address, ...profile, '-H', 'X-Custom: header', '--param', 'HTTP_X_CUSTOM=param', '/p');
      assert.equal(r.code, 0, r.stderr.text);
      assert.equal(jsonBody(r.stdout)['custom'], 'param', profile.join(' '));
    }
    const bad = await run(running.address, '--param', 'NOEQUALS', '/p');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr.text, /--param expects NAME=VALUE, got "NOEQUALS"/);
  });

  it('streams --data-file and honours -X', async () => {
    const tmp = tempDir();
    try {
      const data = Buffer.alloc(3 * 1024 * 1024, 'z');
      writeFileSync(join(tmp.dir, 'body.bin'), data);
      const r = await run(running.address, '-X', 'PUT', '--data-file', join(tmp.dir, 'body.bin'), '/upload');
      assert.equal(r.code, 0, r.stderr.text);
      const info = jsonBody(r.stdout);
      assert.equal(info['method'], 'PUT');
      assert.equal(info['length'], String(data.length));
      assert.equal(info['sha256'], createHash('sha256').update(data).digest('hex'));
    } finally {
      tmp.cleanup();
    }
  });

  it('exits 0 on a 404, and 1 with --fail', async () => {
    assert.equal((await run(running.address, '/missing')).code, 0);
    const failed = await run(running.address, '--fail', '/missing');
    assert.equal(failed.code, 1);
    assert.match(failed.stdout.text, /^Status: 404 Not Found/);
  });

  it('prints the response as the browser would see it with --http', async () => {
    const r = await run(running.address, '--http', '/hello');
    assert.equal(r.stdout.text, 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello\n');
  });

  it('exits 1 on a malformed head, printing what arrived and why', async () => {
    const r = await run(running.address, '/bad');
    assert.equal(r.code, 1);
    assert.match(r.stdout.text, /^HTTP\/1\.1 200 OK/);
    assert.match(r.stderr.text, /malformed response.*HTTP status line/);
  });

  it('exits 1 on a response broken off after its head, printing what arrived and why', async () => {
    const r = await run(running.address, '/broken');
    assert.equal(r.code, 1);
    assert.equal(r.stdout.text, 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\npartial\n');
    assert.match(r.stderr.text, /the response was broken off: the connection closed after 52 bytes, before END_REQUEST/);
  });

  it('exits 1 when no response arrives within --timeout', async () => {
    const r = await run(running.address, '--timeout', '0.2', '/hangup');
    assert.equal(r.code, 1);
    assert.match(r.stderr.text, /no complete response within 0\.2 s/);
  });
});

describe('dualcgi request transport failures', { timeout: 60_000 }, () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it('exits 1 with "connection refused" for a socket nobody listens on', async () => {
    // A stale socket file: listen, keep a second name, close (Node unlinks only the first name).
    const server = createNetServer();
    const path = join(tmp.dir, 'live.sock');
    await new Promise<void>((done) => server.listen(path, done));
    linkSync(path, join(tmp.dir, 'stale.sock'));
    await new Promise((done) => server.close(done));
    const r = await run(`unix:${join(tmp.dir, 'stale.sock')}`, '/');
    assert.equal(r.code, 1);
    assert.match(r.stderr.text, /connection refused: is the FastCGI server running on unix:.*stale\.sock\?/);
  });

  it('exits 1 with "no socket at" for a missing socket path', async () => {
    const r = await run(`unix:${join(tmp.dir, 'none.sock')}`, '/');
    assert.equal(r.code, 1);
    assert.match(r.stderr.text, /no socket at unix:/);
  });
});

describe('dualcgi request against scripts', { timeout: 60_000 }, () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it('a dualcgi entry script: its app\'s stderr shows, not the lines of the clean stop request itself asked for', async () => {
    const d = deployment('apache-fcgid', "module.exports = (req, res) => { console.error('app says ' + req.url); res.end('ok'); };\n");
    try {
      const r = await run(d.script, '/x');
      assert.equal(r.code, 0, r.stderr.text);
      assert.match(r.stderr.text, /app says \/x/);
      assert.doesNotMatch(r.stderr.text, /SIGTERM/);
    } finally {
      d.cleanup();
    }
  });

  it('launches a .fcgi script on a listening socket, then stops it', async () => {
    const script = fastcgiScript(tmp.dir);
    const r = await run(script, '-d', 'x=1', '/foo/bar?y=2');
    assert.equal(r.code, 0, r.stderr.text);
    assert.match(r.stdout.text, /^Status: 200 OK\r\n/);
    const info = jsonBody(r.stdout) as { pid: number; url: string; method: string; body: string };
    assert.equal(info.method, 'POST');
    assert.equal(info.body, 'x=1');
    assert.match(r.stderr.text, /served /); // the script's own stderr
    assert.throws(() => process.kill(info.pid, 0), { code: 'ESRCH' });
  });

  it('runs a .cgi script with SCRIPT_NAME and DOCUMENT_ROOT from its place', async () => {
    const script = cgiScript(tmp.dir);
    const r = await run(script, '-d', 'hi', '/foo/bar?isindex');
    assert.equal(r.code, 0, r.stderr.text);
    const text = r.stdout.text;
    assert.match(text, /^Content-Type: text\/plain\nX-Argc: 1\n\n/);
    assert.match(text, /^SCRIPT_NAME=\/dispatch\.cgi$/m);
    assert.match(text, new RegExp(`^SCRIPT_FILENAME=${script}$`, 'm'));
    assert.match(text, new RegExp(`^DOCUMENT_ROOT=${tmp.dir}$`, 'm'));
    assert.match(text, /^PATH_INFO=\/foo\/bar$/m);
    assert.match(text, /^body=hi$/m);
    assert.equal(r.stderr.text, 'cgi says hello\n');
  });

  it('--param sets or replaces a CGI variable: in the environment of a CGI script', async () => {
    const script = cgiScript(tmp.dir);
    const r = await run(script, '--param', 'HTTPS=on', '--param', 'SERVER_PORT=8443', '--param', 'EMPTY=', '/p');
    assert.equal(r.code, 0, r.stderr.text);
    assert.match(r.stdout.text, /^HTTPS=on$/m);
    assert.match(r.stdout.text, /^SERVER_PORT=8443$/m);
    assert.doesNotMatch(r.stdout.text, /^SERVER_PORT=80$/m, 'replaced, not sent twice');
    assert.match(r.stdout.text, /^EMPTY=$/m);
  });

  it('derives the docroot above a mounted script', async () => {
    mkdirSync(join(tmp.dir, 'app'));
    const script = cgiScript(join(tmp.dir, 'app'));
    const r = await run(script, '--mount', '/app', '/x');
    assert.match(r.stdout.text, /^SCRIPT_NAME=\/app\/dispatch\.cgi$/m);
    assert.match(r.stdout.text, /^REQUEST_URI=\/app\/x$/m);
    assert.match(r.stdout.text, new RegExp(`^DOCUMENT_ROOT=${tmp.dir}$`, 'm'));
  });

  it('takes the mode from --cgi when the name does not tell', async () => {
    const script = cgiScript(tmp.dir, 'handler');
    assert.equal((await run(script, '/')).code, 2);
    assert.equal((await run('--cgi', script, '/')).code, 0);
  });

  it('exits 1 with the fix for a script that is not executable', async () => {
    const script = writeScript(tmp.dir, 'locked.fcgi', '#!/bin/sh\n', 0o644);
    const r = await run(script, '/');
    assert.equal(r.code, 1);
    assert.match(r.stderr.text, /script is not executable: chmod 0755 .*locked\.fcgi/);
  });

  it('exits 1 when a FastCGI script dies before answering', async () => {
    const r = await run(fastcgiScript(tmp.dir, 'dies.fcgi'), '/crash');
    assert.equal(r.code, 1);
    assert.match(r.stderr.text, /dies\.fcgi exited with code 3 before answering/);
  });

  it('exits 1 when a CGI script ends before its blank line', async () => {
    const script = writeScript(tmp.dir, 'short.cgi', '#!/bin/sh\necho "Content-Type: text/plain"\nexit 1\n');
    const r = await run(script, '/');
    assert.equal(r.code, 1);
    assert.match(r.stderr.text, /no blank line/);
    assert.match(r.stderr.text, /exited with code 1/);
  });
});

describe('dualcgi request usage errors exit 2', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown flag', ['unix:/x.sock', '--nope', '/'], /unknown flag --nope/],
    ['a missing PATH', ['unix:/x.sock'], /expected TARGET and PATH/],
    ['a PATH without a slash', ['unix:/x.sock', 'foo'], /PATH must start with/],
    ['a header without a colon', ['unix:/x.sock', '-H', 'NoColon', '/'], /-H expects "Name: value"/],
    ['both --cgi and --fcgi', ['--cgi', '--fcgi', 'unix:/x.sock', '/'], /not both/],
    ['--cgi with an address', ['--cgi', 'unix:/x.sock', '/'], /--cgi needs a script path/],
    ['-d with --data-file', ['-d', 'a', '--data-file', '/etc/hostname', 'unix:/x.sock', '/'], /not both/],
    ['a bad --timeout', ['--timeout', 'soon', 'unix:/x.sock', '/'], /--timeout expects seconds/],
    ['a bad --mount', ['--mount', 'app', 'unix:/x.sock', '/'], /--mount must start with/],
    ['a bad port', ['127.0.0.1:99999', '/'], /port out of range/],
  ];
  for (const [name, argv, message] of cases) {
    it(name, async () => {
      const r = await run(...argv);
      assert.equal(r.code, 2, r.stderr.text);
      assert.match(r.stderr.text, message);
      assert.match(r.stderr.text, /^dualcgi request: [^\n]+ \(usage: dualcgi request --help\)\n$/, 'one line, pointing at --help');
    });
  }
});
