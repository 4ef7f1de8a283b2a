// Every doctor check against a deliberately broken deployment: the problem is named by its code,
// with a fix, and the exit code is 1; the good deployment from `init` passes with exit 0.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../../src/cli/main';
import { createContext, runDoctor } from '../../src/deploy/doctor';
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

  it('CRLF line endings', () => expectProblems((d) => edit(d.script, (t) => t.replace(/\n/g, '\r\n')), ['DOCTOR_CRLF']));
  it('an interpreter that does not exist', () =>
    expectProblems((d) => edit(d.script, (t) => t.replace(/^#!.*/, '#!/opt/no-such/node')), ['DOCTOR_INTERPRETER']));
  it('#!/usr/bin/env with no such program on a bare PATH', () =>
    expectProblems((d) => edit(d.script, (t) => t.replace(/^#!.*/, '#!/usr/bin/env dualcgi-no-such-node')), ['DOCTOR_ENV_NODE']));
  it('a script that is not executable', () => expectProblems((d) => chmodSync(d.script, 0o644), ['DOCTOR_EXECUTABLE']));
  it('a script www-data cannot read', () => expectProblems((d) => chmodSync(d.script, 0o711), ['DOCTOR_USER_ACCESS']));
  it('a folder on the way www-data cannot search', () => expectProblems((d) => chmodSync(d.dir, 0o700), ['DOCTOR_FOLDER']));
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
