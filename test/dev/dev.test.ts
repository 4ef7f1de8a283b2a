// dualcgi dev: static files and dispatch.fcgi/.cgi as Apache + mod_fcgid / mod_cgi with the classic
// .htaccess would serve them: the same SCRIPT_NAME / PATH_INFO / REQUEST_URI as FIELD-NOTES
// measured, fd 0 a listening socket for .fcgi (restarted if it dies), a process per hit for .cgi,
// and the trace socket wired.
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { request } from 'node:http';
import type { Server } from 'node:net';
import { listenForTraces } from '../../src/trace/listener';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RunningDev, startDev } from '../../src/dev/server';
import { deployment, type Deployment } from '../deploy/fixtures';

const ECHO_APP = `'use strict';
module.exports = (req, res) => {
  const p = req.dualcgi.params;
  const pick = ['SCRIPT_NAME', 'PATH_INFO', 'REQUEST_URI', 'CONTENT_LENGTH', 'HTTP_AUTHORIZATION', 'HTTP_PROXY', 'GATEWAY_INTERFACE', 'SERVER_PORT'];
  const vars = {};
  for (const k of pick) if (p.has(k)) vars[k] = p.get(k);
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    if (req.url === '/go') { res.writeHead(200, { Location: '/landed' }); return res.end(); }
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ vars, url: req.url, mode: req.dualcgi.mode, pid: process.pid, body: body.length }));
  });
};
`;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

interface Echo {
  vars: Record<string, string>;
  url: string;
  mode: string;
  pid: number;
  body: number;
}

const echo = async (port: number, path: string, opts = {}): Promise<Echo> => JSON.parse((await http(port, path, opts)).body) as Echo;

describe('dualcgi dev: FastCGI (as mod_fcgid)', { timeout: 60_000 }, () => {
  let d: Deployment;
  let dev: RunningDev;
  let traceServer: Server;
  const traceLines: string[] = [];
  const logs: string[] = [];

  before(async () => {
    d = deployment('apache-fcgid', ECHO_APP);
    mkdirSync(join(d.dir, 'static'));
    writeFileSync(join(d.dir, 'static', 'hello.txt'), 'hello\n');
    const sock = join(d.dir, 'trace.sock');
    // Read as the dashboard reads (a request's grouped line comes out as its events).
    traceServer = await listenForTraces(sock, (item) => traceLines.push(item.kind === 'event' ? item.line ?? JSON.stringify(item.event) : item.text));
    dev = await startDev({ docroot: d.dir, port: 0, host: '127.0.0.1', env: { DUALCGI_TRACE: `unix:${sock}`, DUALCGI_RUN_DIR: 'off' }, log: (l) => logs.push(l) });
  });

  after(async () => {
    await dev.close();
    traceServer.close();
    d.cleanup();
  });

  it('the rewrite: SCRIPT_NAME /dispatch.fcgi, PATH_INFO the path, REQUEST_URI what the browser asked', async () => {
    const e = await echo(dev.port, '/foo/bar?x=1');
    assert.equal(e.mode, 'fcgi');
    assert.deepEqual([e.vars['SCRIPT_NAME'], e.vars['PATH_INFO'], e.vars['REQUEST_URI']], ['/dispatch.fcgi', '/foo/bar', '/foo/bar?x=1']);
    assert.equal(e.vars['CONTENT_LENGTH'], '0'); // mod_fcgid sends it on every GET
    assert.equal(e.url, '/foo/bar?x=1');
    assert.equal(e.vars['SERVER_PORT'], String(dev.port));
  });

  it('the script in the URL: REQUEST_URI keeps it, the app routes without it', async () => {
    const e = await echo(dev.port, '/dispatch.fcgi/foo/bar?x=1');
    assert.deepEqual([e.vars['SCRIPT_NAME'], e.vars['PATH_INFO'], e.vars['REQUEST_URI']], ['/dispatch.fcgi', '/foo/bar', '/dispatch.fcgi/foo/bar?x=1']);
    assert.equal(e.url, '/foo/bar?x=1');
  });

  it('static/ is served as files (Last-Modified), a missing one is a 404 not from the app, .htaccess is 403', async () => {
    const ok = await http(dev.port, '/static/hello.txt');
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'hello\n');
    assert.ok(ok.headers['last-modified']);
    const missing = await http(dev.port, '/static/nope.txt');
    assert.equal(missing.status, 404);
    assert.doesNotMatch(missing.body, /vars/);
    assert.equal((await http(dev.port, '/.htaccess')).status, 200, '/.htaccess goes to the app under the classic rules');
    assert.equal((await http(dev.port, '/static/.htaccess')).status, 403);
  });

  it('Authorization reaches the app (CGIPassAuth On), Proxy does not (httpoxy); bodies arrive', async () => {
    const e = await echo(dev.port, '/auth', { method: 'POST', headers: { Authorization: 'Basic eDp5', Proxy: 'http://evil', 'Content-Type': 'text/plain' }, body: 'abc' });
    assert.equal(e.vars['HTTP_AUTHORIZATION'], 'Basic eDp5');
    assert.equal(e.vars['HTTP_PROXY'], undefined);
    assert.equal(e.body, 3);
    assert.equal(e.vars['CONTENT_LENGTH'], '3');
  });

  it('follows a local redirect (Location: /path without a status), as Apache does', async () => {
    const e = await echo(dev.port, '/go');
    assert.equal(e.url, '/landed');
  });

  it('one process across hits, restarted when it dies', async () => {
    const a = await echo(dev.port, '/a');
    const b = await echo(dev.port, '/b');
    assert.equal(a.pid, b.pid);
    process.kill(a.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const c = await echo(dev.port, '/c');
    assert.notEqual(c.pid, a.pid);
    assert.ok(logs.some((l) => /exited \(SIGKILL\); the next request starts it again/.test(l)), logs.join('\n'));
  });

  it('the trace socket gets the app\'s events', async () => {
    await echo(dev.port, '/traced');
    const deadline = Date.now() + 3000;
    while (!traceLines.some((l) => l.includes('"request.start"') && l.includes('/traced')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(traceLines.some((l) => l.includes('"request.start"') && l.includes('/traced')), traceLines.slice(-5).join('\n'));
  });
});

describe('dualcgi dev: CGI (as mod_cgi)', { timeout: 60_000 }, () => {
  it('a process per hit, SCRIPT_NAME /dispatch.cgi, no CONTENT_LENGTH on a GET', async () => {
    const d = deployment('apache-cgi', ECHO_APP);
    const dev = await startDev({ docroot: d.dir, port: 0, host: '127.0.0.1', env: {}, log: () => {} });
    try {
      const a = await echo(dev.port, '/foo/bar?x=1');
      const b = await echo(dev.port, '/foo/bar?x=1');
      assert.equal(a.mode, 'cgi');
      assert.notEqual(a.pid, b.pid);
      assert.deepEqual([a.vars['SCRIPT_NAME'], a.vars['PATH_INFO'], a.vars['REQUEST_URI']], ['/dispatch.cgi', '/foo/bar', '/foo/bar?x=1']);
      assert.equal(a.vars['CONTENT_LENGTH'], undefined);
      assert.equal(a.vars['GATEWAY_INTERFACE'], 'CGI/1.1');
    } finally {
      await dev.close();
      d.cleanup();
    }
  });

  it('--mode cgi runs dispatch.fcgi as CGI (the rename-to-debug workflow without renaming)', async () => {
    const d = deployment('apache-fcgid', ECHO_APP);
    const dev = await startDev({ docroot: d.dir, port: 0, host: '127.0.0.1', mode: 'cgi', env: {}, log: () => {} });
    try {
      assert.equal((await echo(dev.port, '/x')).mode, 'cgi');
    } finally {
      await dev.close();
      d.cleanup();
    }
  });
});

describe('dualcgi dev: an app that does not load', { timeout: 60_000 }, () => {
  it('a 500, and the log says what failed and where (the file:line of a syntax error), not only stack frames', async () => {
    const d = deployment('apache-fcgid', "'use strict';\nmodule.exports = (req, res) => { res.end( };\n");
    const logs: string[] = [];
    const dev = await startDev({ docroot: d.dir, port: 0, host: '127.0.0.1', env: { DUALCGI_RUN_DIR: 'off' }, log: (l) => logs.push(l) });
    try {
      assert.equal((await http(dev.port, '/x')).status, 500);
      const deadline = Date.now() + 5000;
      while (!logs.some((l) => l.includes('its stderr')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const report = logs.find((l) => l.includes('its stderr')) ?? logs.join('\n');
      assert.match(report, /APP_ERR_LOAD: cannot load app .*app\.js: Unexpected token/);
      assert.match(report, /app\.js:2\n {4}module\.exports = \(req, res\) => \{ res\.end\( \};\n {4}\s+\^\n {4}SyntaxError: Unexpected token/);
    } finally {
      await dev.close();
      d.cleanup();
    }
  });
});
