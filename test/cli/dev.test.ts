// `dualcgi dev` as a command: the banner, a request through it, a clean stop on SIGINT, usage errors.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import { main } from '../../src/cli/main';
import { deployment } from '../deploy/fixtures';
import { repoRoot } from '../launch/helpers';

describe('dualcgi dev (command)', { timeout: 30_000 }, () => {
  it('prints where to browse, serves, stops on SIGINT with exit 0', async () => {
    const d = deployment();
    const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'dualcgi'), 'dev', '--port', '0', '--trace', 'off', d.dir], {
      env: { ...process.env, DUALCGI_RUN_DIR: 'off' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', () => {
          const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', () => reject(new Error(`exited: ${out}`)));
      });
      assert.match(out, /dispatch\.fcgi \(FastCGI, a listening socket on fd 0, as mod_fcgid\)/);
      const body = await new Promise<string>((resolve, reject) => {
        httpGet({ host: '127.0.0.1', port, path: '/hi' }, (res) => {
          let b = '';
          res.on('data', (c: Buffer) => { b += c.toString(); });
          res.on('end', () => resolve(b));
        }).on('error', reject);
      });
      assert.equal(body, 'hello /hi');
      child.kill('SIGINT');
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      d.cleanup();
    }
  });

  it('a script\'s failure of several lines: every line of it marked dev:', async () => {
    const d = deployment('apache-fcgid', "'use strict';\nmodule.exports = (req, res) => { res.end( };\n");
    const child = spawn(process.execPath, [join(repoRoot(), 'bin', 'dualcgi'), 'dev', '--port', '0', '--trace', 'off', d.dir], {
      env: { ...process.env, DUALCGI_RUN_DIR: 'off' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
      child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.on('data', () => {
          const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
          if (m) resolve(Number(m[1]));
        });
        child.once('exit', () => reject(new Error(`exited: ${out}${err}`)));
      });
      await new Promise<void>((resolve, reject) => { httpGet({ host: '127.0.0.1', port, path: '/x' }, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject); });
      const deadline = Date.now() + 5000;
      while (!/SyntaxError/.test(err) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.match(err, /^dev: {5}SyntaxError: Unexpected token/m);
      for (const line of err.trimEnd().split('\n')) assert.match(line, /^dev: /, line);
    } finally {
      child.kill('SIGINT');
      await new Promise((resolve) => child.once('exit', resolve));
      d.cleanup();
    }
  });

  it('usage errors exit 2; a docroot that is not a folder exits 1', async () => {
    const io = { stdout: { write: () => true } as unknown as NodeJS.WritableStream, stderr: { write: () => true } as unknown as NodeJS.WritableStream };
    assert.equal(await main(['dev'], io), 2);
    assert.equal(await main(['dev', '--mode', 'scgi', '/tmp'], io), 2);
    assert.equal(await main(['dev', '/no/such/docroot'], io), 1);
  });

  it('--port is digits: 0x50, 1e3 and an empty value are usage errors, not ports 80, 1000 and any', () => {
    const d = deployment();
    try {
      for (const port of ['0x50', '1e3', '', '65536']) {
        // In a child: a port read wrongly would serve until the timeout.
        const r = spawnSync(process.execPath, [join(repoRoot(), 'bin', 'dualcgi'), 'dev', '--port', port, '--trace', 'off', d.dir], {
          encoding: 'utf8', timeout: 5000, env: { ...process.env, DUALCGI_RUN_DIR: 'off' },
        });
        assert.equal(r.status, 2, `--port ${JSON.stringify(port)}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /^dualcgi dev: --port takes a port number/);
      }
    } finally {
      d.cleanup();
    }
  });
});
