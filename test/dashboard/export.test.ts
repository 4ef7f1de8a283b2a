// The dashboard's `x`: the files it writes work as their own first lines say, from any folder.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportRequest } from '../../src/dashboard/export';

const params: Array<[string, string]> = [
  ['GATEWAY_INTERFACE', 'CGI/1.1'], ['REQUEST_METHOD', 'POST'], ['REQUEST_URI', '/form?x=1'], ['QUERY_STRING', 'x=1'],
  ['CONTENT_LENGTH', '11'], ['CONTENT_TYPE', 'text/plain'], ['HTTP_HOST', 'localhost'], ['SERVER_PORT', '80'],
];

/** entry: a traced POST whose body the trace kept (DUALCGI_SHOW_SECRETS=1), or not. */
function entry(body: string | null): Parameters<typeof exportRequest>[0] {
  return {
    rid: '4242-7', params,
    records: [
      { dir: 'in', type: 'BEGIN_REQUEST', contentLength: 8 },
      body === null ? { dir: 'in', type: 'STDIN', contentLength: 11, redacted: true } : { dir: 'in', type: 'STDIN', contentLength: body.length, preview: body },
      { dir: 'in', type: 'STDIN', contentLength: 0 },
    ],
  };
}

/** runLine: the env file's "# run:" command, run by sh in `cwd`. */
function runLine(envFile: string, cwd: string): string {
  const line = /^# run: (.*)$/m.exec(readFileSync(envFile, 'utf8'))![1]!;
  return execFileSync('/bin/sh', ['-c', line], { cwd, encoding: 'utf8' });
}

describe('dashboard export (x)', () => {
  it('a traced body: written next to the others (0600), read by the env file\'s run line and by curl', () => {
    const out = mkdtempSync(join(tmpdir(), 'dualcgi-export out-'));
    const site = mkdtempSync(join(tmpdir(), 'dualcgi-export-site-'));
    try {
      const lines = exportRequest(entry('hello world'), out);
      const files = readdirSync(out).sort();
      assert.deepEqual(files, ['dualcgi-4242-7.body', 'dualcgi-4242-7.curl.sh', 'dualcgi-4242-7.env', 'dualcgi-4242-7.replay.ndjson']);
      for (const f of files) assert.equal(statSync(join(out, f)).mode & 0o777, 0o600);
      assert.ok(lines.some((l) => l.endsWith('dualcgi-4242-7.body')), 'the popup names the body file');
      assert.equal(readFileSync(join(out, 'dualcgi-4242-7.body'), 'utf8'), 'hello world');
      // A stand-in for dispatch.cgi in the site's folder: the run line is run from there.
      writeFileSync(join(site, 'dispatch.cgi'), '#!/bin/sh\nprintf "%s %s %s|" "$REQUEST_METHOD" "$REQUEST_URI" "$CONTENT_LENGTH"; cat\n');
      chmodSync(join(site, 'dispatch.cgi'), 0o755);
      assert.equal(runLine(join(out, 'dualcgi-4242-7.env'), site), 'POST /form?x=1 11|hello world');
      const curl = readFileSync(join(out, 'dualcgi-4242-7.curl.sh'), 'utf8');
      assert.ok(curl.includes(`--data-binary '@${join(out, 'dualcgi-4242-7.body')}'`), curl);
    } finally {
      rmSync(out, { recursive: true, force: true });
      rmSync(site, { recursive: true, force: true });
    }
  });

  it('a body the trace did not keep: no body file, the run line sends none', () => {
    const out = mkdtempSync(join(tmpdir(), 'dualcgi-export-'));
    const site = mkdtempSync(join(tmpdir(), 'dualcgi-export-site-'));
    try {
      exportRequest(entry(null), out);
      assert.deepEqual(readdirSync(out).sort(), ['dualcgi-4242-7.curl.sh', 'dualcgi-4242-7.env', 'dualcgi-4242-7.replay.ndjson']);
      writeFileSync(join(site, 'dispatch.cgi'), '#!/bin/sh\nprintf "%s|" "$REQUEST_METHOD"; cat\n');
      chmodSync(join(site, 'dispatch.cgi'), 0o755);
      assert.equal(runLine(join(out, 'dualcgi-4242-7.env'), site), 'POST|');
    } finally {
      rmSync(out, { recursive: true, force: true });
      rmSync(site, { recursive: true, force: true });
    }
  });

  it('secret values a producer sent (DUALCGI_SHOW_SECRETS=1) go into the files only with --show-secrets, as on screen', () => {
    const secrets: Array<[string, string]> = [['HTTP_COOKIE', 'sid=s3cret-cookie'], ['HTTP_AUTHORIZATION', 'Bearer s3cret-token'], ['PHP_AUTH_PW', 's3cret-pw']];
    const traced = { ...entry('hello world'), params: [...params, ...secrets] };
    const out = mkdtempSync(join(tmpdir(), 'dualcgi-export-'));
    try {
      const lines = exportRequest(traced, out);
      const text = readdirSync(out).map((f) => readFileSync(join(out, f), 'latin1')).join('\n');
      const decoded = (JSON.parse(readFileSync(join(out, 'dualcgi-4242-7.replay.ndjson'), 'utf8').split('\n')[1]!) as { data: string }).data;
      for (const all of [text, Buffer.from(decoded, 'base64').toString('latin1')]) assert.doesNotMatch(all, /s3cret/);
      assert.match(text, /HTTP_COOKIE='\[redacted\]'/);
      assert.ok(lines.some((l) => /--show-secrets/.test(l)), 'the popup says how to keep them');
      exportRequest(traced, out, { showSecrets: true });
      assert.match(readFileSync(join(out, 'dualcgi-4242-7.env'), 'utf8'), /HTTP_COOKIE='sid=s3cret-cookie'/);
      assert.match(readFileSync(join(out, 'dualcgi-4242-7.curl.sh'), 'utf8'), /Authorization: Bearer s3cret-token/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
