// Every doctor check against a deliberately broken deployment: the problem is named by its code,
// with a fix, and the exit code is 1; the good deployment from `init` passes with exit 0.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main';
import { createContext, type Finding, runDoctor } from '../../src/deploy/doctor';
import { deployment, type Deployment } from './fixtures';

async function problems(d: Deployment, server: 'apache' | 'other' = 'apache'): Promise<string[]> {
  const ctx = createContext({ target: d.dir, server, timeoutMs: 10_000 });
  assert.ok(ctx);
  return (await runDoctor(ctx)).filter((f) => !f.ok).map((f) => f.code);
}

function edit(file: string, fn: (text: string) => string): void {
  writeFileSync(file, fn(readFileSync(file, 'utf8')));
}

/** broken: a fresh good deployment, broken by `breakIt`, expected to show exactly `codes`. */
async function expectProblems(breakIt: (d: Deployment) => void, codes: string[], app?: string): Promise<void> {
  const d = deployment('apache-fcgid', app);
  try {
    breakIt(d);
    assert.deepEqual(await problems(d), codes);
  } finally {
    d.cleanup();
  }
}

/** doctorOutput: what `dualcgi doctor DIR` prints, and its exit code. */
async function doctorOutput(d: Deployment): Promise<{ code: number; out: string }> {
  let out = '';
  const code = await main(['doctor', d.dir], { stdout: { write: (s: string) => { out += s; return true; } } as NodeJS.WritableStream, stderr: process.stderr });
  return { code, out };
}

/** loadFinding: the DOCTOR_LOAD finding of a deployment broken by `breakIt`. */
async function loadFinding(breakIt: (d: Deployment) => void, app?: string): Promise<Finding> {
  const d = deployment('apache-fcgid', app);
  try {
    breakIt(d);
    const ctx = createContext({ target: d.dir, server: 'apache', timeoutMs: 10_000 });
    assert.ok(ctx);
    const found = (await runDoctor(ctx)).find((f) => f.code === 'DOCTOR_LOAD');
    assert.ok(found && !found.ok, 'no DOCTOR_LOAD problem');
    return found;
  } finally {
    d.cleanup();
  }
}

const htaccess = (d: Deployment): string => join(d.dir, '.htaccess');
const dropLine = (pattern: RegExp) => (d: Deployment): void => edit(htaccess(d), (t) => t.split('\n').filter((l) => !pattern.test(l)).join('\n'));

describe('dualcgi doctor', { timeout: 120_000 }, () => {
  it('passes what init wrote (exit 0)', async () => {
    const d = deployment();
    try {
      let out = '';
      const code = await main(['doctor', d.dir], { stdout: { write: (s: string) => { out += s; return true; } } as NodeJS.WritableStream, stderr: process.stderr });
      assert.equal(code, 0, out);
      assert.match(out, /all \d+ checks passed/);
    } finally {
      d.cleanup();
    }
  });

  it('names each problem on one line with its fix, exit 1', async () => {
    const d = deployment();
    try {
      chmodSync(d.script, 0o644);
      let out = '';
      const code = await main(['doctor', d.dir], { stdout: { write: (s: string) => { out += s; return true; } } as NodeJS.WritableStream, stderr: process.stderr });
      assert.equal(code, 1);
      assert.match(out, /^problem {2}dispatch\.fcgi is not executable .*; fix: chmod 0755 .*\[DOCTOR_EXECUTABLE\]$/m);
    } finally {
      d.cleanup();
    }
  });

  it('a script that cannot start: one problem line, the skipped requests said once and not counted', async () => {
    const d = deployment();
    try {
      edit(d.script, (t) => t.replace(/^#!.*/, '#!/opt/no-such/node'));
      const { code, out } = await doctorOutput(d);
      assert.equal(code, 1);
      assert.equal(out.match(/^problem /gm)?.length, 1, out);
      assert.equal(out.match(/^skipped {2}no synthetic requests/gm)?.length, 1, out);
      assert.doesNotMatch(out, /undefined|DOCTOR_SKIPPED/);
      const summary = /^1 problem\(s\), (\d+) check\(s\) passed$/m.exec(out);
      assert.ok(summary, out);
      const ctx = createContext({ target: d.dir, server: 'apache', timeoutMs: 10_000 });
      const checks = (await runDoctor(ctx!)).filter((f) => f.code !== 'DOCTOR_SKIPPED').length;
      assert.equal(Number(summary[1]), checks - 1);
    } finally {
      d.cleanup();
    }
  });

  it('an app path that does not exist: says so, and where to correct it', async () => {
    const f = await loadFinding((d) => edit(d.script, (t) => t.replace('"./app.js"', '"./nope.js"')));
    assert.match(f.message, /^the app \/.*\/nope\.js does not exist$/);
    assert.match(f.fix!, /^create it, or correct app: in dispatch\.fcgi/);
  });

  it('a syntax error: one problem line, then where it is (file:line, source, caret)', async () => {
    const f = await loadFinding(() => {}, "'use strict';\nmodule.exports = (req, res) => { res.end( };\n");
    assert.doesNotMatch(f.message, /\n/);
    assert.match(f.detail!, /app\.js:2\n {4}module\.exports = \(req, res\) => \{ res\.end\( \};\n {4}\s+\^\n {4}SyntaxError: Unexpected token/);
    assert.doesNotMatch(f.detail!, /node:internal/);
  });

  it('a missing module: the problem line is one line; the Require stack is in the detail', async () => {
    const f = await loadFinding(() => {}, "require('dualcgi-no-such-module');\n");
    assert.match(f.message, /Cannot find module 'dualcgi-no-such-module'$/);
    assert.match(f.detail!, /Error: Cannot find module 'dualcgi-no-such-module'\n {4}Require stack:/);
    assert.match(f.detail!, /at Object\.<anonymous> \(.*app\.js:1:1\)/);
  });

  it('dualcgi not where the script requires it: shows Node\'s error, not the tail of its dump', async () => {
    const f = await loadFinding((d) => edit(d.script, (t) => t.replace(/require\("[^"]+"\)/, 'require("/nonexistent/dualcgi")')));
    assert.match(f.detail!, /^ {4}Error: Cannot find module '\/nonexistent\/dualcgi'$/m);
    assert.doesNotMatch(f.detail!, /Node\.js v|requireStack|throw err/);
  });

  it('CRLF line endings', () => expectProblems((d) => edit(d.script, (t) => t.replace(/\n/g, '\r\n')), ['DOCTOR_CRLF']));
  it('an interpreter that does not exist', () =>
    expectProblems((d) => edit(d.script, (t) => t.replace(/^#!.*/, '#!/opt/no-such/node')), ['DOCTOR_INTERPRETER']));
  it('#!/usr/bin/env with no such program on a bare PATH', () =>
    expectProblems((d) => edit(d.script, (t) => t.replace(/^#!.*/, '#!/usr/bin/env dualcgi-no-such-node')), ['DOCTOR_ENV_NODE']));
  it('a script that is not executable', () => expectProblems((d) => chmodSync(d.script, 0o644), ['DOCTOR_EXECUTABLE']));
  it('a script www-data cannot read', () => expectProblems((d) => chmodSync(d.script, 0o711), ['DOCTOR_USER_ACCESS']));
  it('a folder on the way www-data cannot search', () => expectProblems((d) => chmodSync(d.dir, 0o700), ['DOCTOR_FOLDER']));

  it('says what an unsearchable folder does behind Apache, and behind nginx or lighttpd', async () => {
    const d = deployment('apache-fcgid');
    try {
      chmodSync(d.dir, 0o700);
      for (const [server, shows] of [['apache', /Apache: 403 AH00529/], ['other', /cannot be started: the web server answers 502 or 503/]] as const) {
        const ctx = createContext({ target: d.dir, server, timeoutMs: 10_000 });
        assert.ok(ctx);
        const found = (await runDoctor(ctx)).find((f) => f.code === 'DOCTOR_FOLDER');
        assert.match(found?.message ?? '', shows, server);
        if (server === 'other') assert.doesNotMatch(found?.message ?? '', /Apache/);
      }
    } finally {
      d.cleanup();
    }
  });
  it('an app with a syntax error', () => expectProblems(() => {}, ['DOCTOR_LOAD'], 'module.exports = (req, res) => {;\n'));
  it('an app with a missing module', () => expectProblems(() => {}, ['DOCTOR_LOAD'], "require('dualcgi-no-such-module');\n"));
  it('an app that throws while loading', () => expectProblems(() => {}, ['DOCTOR_LOAD'], "throw new Error('no database');\n"));
  it('an app that writes to fd 1 while loading', () =>
    // ... and the CGI request shows the consequence: the bytes land before the head.
    expectProblems(() => {}, ['DOCTOR_STDOUT', 'DOCTOR_CGI'], "require('fs').writeSync(1, 'hello\\n');\nmodule.exports = (req, res) => res.end('x');\n"));
  it('no .htaccess', () => expectProblems((d) => require('node:fs').rmSync(htaccess(d)), ['DOCTOR_HTACCESS']));
  it('.htaccess without ExecCGI', () => expectProblems(dropLine(/^Options/), ['DOCTOR_HTACCESS_EXECCGI']));
  it('.htaccess without the handler', () => expectProblems(dropLine(/^AddHandler/), ['DOCTOR_HTACCESS_HANDLER']));
  it('.htaccess without the rewrite', () => expectProblems(dropLine(/^RewriteRule \^\(\.\*\)/), ['DOCTOR_HTACCESS_REWRITE']));
  it('.htaccess without the guard rule', () => expectProblems(dropLine(/^RewriteRule \^\(dispatch/), ['DOCTOR_HTACCESS_GUARD']));
  // Other ways to stop the loop that real Apache honours (test/e2e/deploy.test.ts): not a problem.
  const withoutGuard = (catchAll: string) => (d: Deployment): void => edit(htaccess(d), (t) => t.split('\n')
    .filter((l) => !/^RewriteRule \^\(dispatch/.test(l)).map((l) => (/^RewriteRule \^\(\.\*\)/.test(l) ? catchAll : l)).join('\n'));
  it('no guard rule but RewriteCond %{REQUEST_FILENAME} !-f (the Flask recipe): no loop, but app.js goes out as a file', async () => {
    const d = deployment();
    try {
      withoutGuard('RewriteCond %{REQUEST_FILENAME} !-f\nRewriteRule ^(.*)$ dispatch.fcgi/$1 [QSA,L]')(d);
      writeFileSync(join(d.dir, '.env'), 'SECRET=1\n');
      const ctx = createContext({ target: d.dir, server: 'apache', timeoutMs: 10_000 });
      const bad = (await runDoctor(ctx!)).filter((f) => !f.ok);
      assert.deepEqual(bad.map((f) => f.code), ['DOCTOR_HTACCESS_EXPOSED']);
      assert.match(bad[0]!.message, /Apache sends every file here as it is \(\.env, app\.js, tmp\)/);
      assert.match(bad[0]!.fix!, /^replace the condition with the guard rule RewriteRule \^\(dispatch\\\.fcgi\/\.\*\)\$ - \[L\]/);
    } finally {
      d.cleanup();
    }
  });
  it('no guard rule, but the catch-all has [END]', () => expectProblems(withoutGuard('RewriteRule ^(.*)$ dispatch.fcgi/$1 [END]'), []));
  it('no guard rule, but a REQUEST_URI condition that excludes the script', () =>
    expectProblems(withoutGuard('RewriteCond %{REQUEST_URI} !^/dispatch\\.fcgi\nRewriteRule ^(.*)$ dispatch.fcgi/$1 [L]'), []));
  it('no guard rule, and the !-f condition ORed with another: still a problem', () =>
    expectProblems(withoutGuard('RewriteCond %{HTTP_HOST} ^x [OR]\nRewriteCond %{REQUEST_FILENAME} !-f\nRewriteRule ^(.*)$ dispatch.fcgi/$1 [L]'),
      ['DOCTOR_HTACCESS_GUARD']));
  it('.htaccess without CGIPassAuth (Authorization not passed)', () => expectProblems(dropLine(/^CGIPassAuth/), ['DOCTOR_AUTH']));
  it('a CGI request with a malformed head', () =>
    expectProblems(() => {}, ['DOCTOR_CGI'], "module.exports = (req, res) => { require('fs').writeSync(1, 'oops\\n'); res.end('x'); };\n"));
  it('a FastCGI request that fails (the process dies)', () =>
    expectProblems(() => {}, ['DOCTOR_FCGI'], "module.exports = (req, res) => { if (req.dualcgi.mode === 'fcgi') process.exit(3); res.end('x'); };\n"));
  it('a request that answers 500', () =>
    expectProblems(() => {}, ['DOCTOR_CGI', 'DOCTOR_FCGI'], "module.exports = (req, res) => { throw new Error('boom'); };\n"));
  it('mount point mismatch: the app routes on /dispatch.fcgi', () =>
    expectProblems((d) => edit(d.script, (t) => t.replace('restartFile:', 'stripMountPoint: false, restartFile:')), ['DOCTOR_MOUNT'],
      "module.exports = (req, res) => { res.statusCode = req.url === '/' ? 200 : 404; res.end('x'); };\n"));
  it('mount point mismatch: the app links to SCRIPT_NAME', () =>
    expectProblems(() => {}, ['DOCTOR_MOUNT'],
      "module.exports = (req, res) => { res.writeHead(302, { Location: req.dualcgi.params.get('SCRIPT_NAME') + '/login' }); res.end(); };\n"));
  it('skips the .htaccess checks for nginx and lighttpd', async () => {
    const d = deployment('nginx');
    try {
      assert.deepEqual(await problems(d, 'other'), []);
    } finally {
      d.cleanup();
    }
  });
});
