import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { launchFastCGIScript } from '../../src/client/launch';
import { profileByName } from '../../src/client/profiles';
import type { FcgiRequest } from '../../src/fastcgi/request';
import { parseAddress } from '../../src/net/address';
import { type LintReport, runLint } from '../../src/lint/run';
import { fastcgiScript, readBody, respond, startServer, tempDir } from '../client/fixtures';

const params = profileByName('nginx')!.params({ method: 'GET', target: '/', headers: [], bodyLength: null, mountPoint: '' });

function app(request: FcgiRequest): void {
  readBody(request, () => respond(request, 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n', 'ok'));
}

const verdicts = (report: LintReport): Record<string, string> => Object.fromEntries(report.results.map((r) => [r.name, r.verdict]));

describe('lint: the conformance scorecard', { timeout: 60_000 }, () => {
  it('dualcgi\'s responder passes every check', async () => {
    const running = await startServer(app);
    try {
      const report = await runLint({ address: parseAddress(running.address), params });
      assert.deepEqual(report.results.map((r) => r.name), [
        'request', 'get-values', 'split-pairs', 'padding', 'large-streams', 'unknown-type', 'unknown-role', 'abort', 'keep-conn', 'multiplexing', 'garbage',
      ]);
      assert.deepEqual(report.results.filter((r) => r.verdict !== 'pass'), []);
      assert.equal(report.score, 11);
    } finally {
      await running.stop();
    }
  });

  it('without multiplexing: CANT_MPX_CONN is a pass when GET_VALUES says FCGI_MPXS_CONNS=0', async () => {
    const running = await startServer(app, { multiplex: false });
    try {
      const report = await runLint({ address: parseAddress(running.address), params, only: ['get-values', 'multiplexing'] });
      assert.deepEqual(verdicts(report), { 'get-values': 'pass', multiplexing: 'pass' });
      assert.match(report.results[1]!.detail, /CANT_MPX_CONN/);
    } finally {
      await running.stop();
    }
  });

  it('survives a responder that crashes (node-fastcgi on split pairs, FIELD-NOTES) and scores it', async () => {
    const { dir, cleanup } = tempDir();
    const launched = await launchFastCGIScript(fastcgiScript(dir));
    try {
      const report = await runLint({ address: launched.address, params, timeoutMs: 1000 });
      const v = verdicts(report);
      assert.equal(v['request'], 'pass');
      assert.equal(v['unknown-type'], 'fail', 'an unknown record type throws inside fastcgi-stream: the process dies');
      assert.equal(v['garbage'], 'fail');
      assert.ok(report.score < 6, `score ${report.score}`);
      assert.ok(report.results.some((r) => /ECONNREFUSED/.test(r.detail)), 'later checks find it gone');
    } finally {
      await launched.stop();
      cleanup();
    }
  });

  it('a responder that never answers fails every check, each within its time limit', async () => {
    const { dir, cleanup } = tempDir();
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(join(dir, 'silent.sock'), r));
    try {
      const started = Date.now();
      const report = await runLint({ address: { kind: 'unix', path: join(dir, 'silent.sock') }, params, timeoutMs: 100 });
      assert.equal(report.score, 0);
      assert.match(report.results[0]!.detail, /no END_REQUEST within 100 ms/);
      assert.ok(Date.now() - started < 10_000);
    } finally {
      silent.close();
      cleanup();
    }
  });

  it('an HTTP server (the wrong port): each check says so, not just "closed by the responder"', async () => {
    const { dir, cleanup } = tempDir();
    const http = createServer((s) => s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')));
    await new Promise<void>((r) => http.listen(join(dir, 'http.sock'), r));
    try {
      const report = await runLint({ address: { kind: 'unix', path: join(dir, 'http.sock') }, params, timeoutMs: 500, only: ['request', 'keep-conn'] });
      for (const r of report.results) {
        assert.match(r.detail, /closed before END_REQUEST \(it answered HTTP, not FastCGI: is this an HTTP port\?\)/, r.name);
      }
    } finally {
      http.close();
      cleanup();
    }
  });
});

