// dualcgi lint against two real responders: `dualcgi serve` and php-fpm. The scorecards go to the
// test output (diagnostics); the assertions pin what must hold whatever php-fpm does: the lint runs
// to the end, php-fpm still answers afterwards, and dualcgi passes every check.

import { describe, before, after, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { runCli } from '../client/cli-io';
import { startPhpFpm, RunningPhpFpm } from './harness/php-fpm';
import { launch, makeWorld, mkdirp, removeWorld, writeFile, RunningServer } from './harness/util';
import { fixturesDir, repoRoot } from './fixtures/world';

/** scorecard: the lint's lines by check name, and its score line. */
function scorecard(stdout: string): { verdicts: Record<string, string>; score: string } {
  const verdicts: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^(PASS|WARN|FAIL) +(\S+) /.exec(line);
    if (m) verdicts[m[2]!] = m[1]!;
  }
  return { verdicts, score: /^score (.*)$/m.exec(stdout)?.[1] ?? '' };
}

describe('e2e: dualcgi lint', { timeout: 120_000 }, () => {
  let world = '';
  let fpm: RunningPhpFpm | undefined;
  let serve: RunningServer | undefined;
  let docroot = '';
  let serveSock = '';

  before(async () => {
    world = await makeWorld('e2e-lint');
    docroot = path.join(world, 'www');
    await writeFile(path.join(docroot, 'index.php'), [
      '<?php',
      "header('Content-Type: text/plain');",
      "$body = file_get_contents('php://input');",
      "echo $_SERVER['REQUEST_METHOD'], ' ', $_SERVER['REQUEST_URI'], ' ', strlen($body), \"\\n\";",
      '',
    ].join('\n'));
    fpm = await startPhpFpm({ listen: path.join(world, 'sock', 'php.sock'), dir: path.join(world, 'php-fpm') });
    const serveDir = await mkdirp(path.join(world, 'serve'));
    serveSock = path.join(serveDir, 'app.sock');
    serve = await launch({
      name: 'dualcgi serve', bin: process.execPath,
      args: [path.join(repoRoot(), 'bin', 'dualcgi'), 'serve', '--bind', `unix:${serveSock}`, path.join(fixturesDir(), 'app.js')],
      dir: serveDir, configFile: '', errorLog: path.join(serveDir, 'none.log'), port: 0, readyOn: serveSock,
    });
  });

  after(async () => {
    await serve?.stop();
    await fpm?.stop();
    await removeWorld(world);
  });

  it('dualcgi serve: every check passes', async (t) => {
    const r = await runCli('lint', `unix:${serveSock}`, '--path', '/info');
    t.diagnostic(`\n${r.stdout.text}`);
    const { verdicts, score } = scorecard(r.stdout.text);
    assert.equal(Object.keys(verdicts).length, 11);
    assert.equal(score, '11/11', r.stdout.text);
    assert.equal(r.code, 0);
  });

  it('php-fpm: the lint survives what php-fpm does, and php-fpm still answers afterwards', async (t) => {
    const r = await runCli('lint', fpm!.address, '--docroot', docroot, '--path', '/index.php');
    t.diagnostic(`\n${r.stdout.text}`);
    const { verdicts, score } = scorecard(r.stdout.text);
    assert.equal(Object.keys(verdicts).length, 11, r.stdout.text);
    assert.match(score, /^\d+(\.5)?\/11$/);
    assert.equal(verdicts['request'], 'PASS');
    assert.equal(verdicts['keep-conn'], 'PASS');
    assert.equal(verdicts['garbage'], 'PASS');
    // Measured with php-fpm 8.2: it decodes each PARAMS record alone, like fastcgi-stream.
    assert.equal(verdicts['split-pairs'], 'FAIL');
    const ping = await runCli('ping', fpm!.address);
    assert.equal(ping.code, 0, ping.stderr.text);
    const after = await runCli('request', fpm!.address, '--profile', 'nginx', '--docroot', docroot, '/index.php');
    assert.equal(after.stdout.text.split('\r\n\r\n')[1], 'GET /index.php 0\n');
  });
});
