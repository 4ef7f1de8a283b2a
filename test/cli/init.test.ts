// dualcgi init: the files, their modes, the absolute paths, idempotence and --force.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runText } from '../client/cli-io';

const run = runText;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'dualcgi-init-test-'));
}

describe('dualcgi init', () => {
  it('writes dispatch.fcgi (0755, absolute node and dualcgi), .htaccess and tmp/', async () => {
    const dir = tempDir();
    try {
      const r = await run(['init', dir]);
      assert.equal(r.code, 0, r.err);
      const script = readFileSync(join(dir, 'dispatch.fcgi'), 'utf8');
      assert.equal(script.split('\n')[0], `#!${process.execPath}`);
      assert.match(script, /require\("\/[^"]+"\)\.dispatch\(\{\n {2}app: "\.\/app\.js",\n {2}restartFile: "tmp\/restart\.txt",\n\}\);/);
      assert.equal(statSync(join(dir, 'dispatch.fcgi')).mode & 0o777, 0o755);
      const ht = readFileSync(join(dir, '.htaccess'), 'utf8');
      for (const line of ['Options +ExecCGI +FollowSymLinks', 'AddHandler fcgid-script .fcgi', 'CGIPassAuth On', 'RewriteEngine On',
        'RewriteRule ^(static/.*)$ - [L]', 'RewriteRule ^(dispatch\\.fcgi/.*)$ - [L]', 'RewriteRule ^(.*)$ dispatch.fcgi/$1 [L,B=%?#]']) {
        assert.ok(ht.split('\n').includes(line), `missing: ${line}`);
      }
      assert.ok(statSync(join(dir, 'tmp')).isDirectory());
      assert.match(r.out, /created {5}dispatch\.fcgi/);
      assert.match(r.out, /touching dispatch\.fcgi does nothing under mod_fcgid/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is idempotent: the second run changes nothing and says so', async () => {
    const dir = tempDir();
    try {
      const first = await run(['init', dir]);
      const before = readFileSync(join(dir, 'dispatch.fcgi'), 'utf8');
      const second = await run(['init', dir]);
      assert.equal(second.code, 0);
      assert.match(second.out, /unchanged {3}dispatch\.fcgi/);
      assert.match(second.out, /unchanged {3}\.htaccess/);
      assert.equal(readFileSync(join(dir, 'dispatch.fcgi'), 'utf8'), before);
      // Stable output: the same lines but for the actions.
      assert.equal(second.out.replace(/unchanged/g, 'created  ').replace(/\n {2}created {5}tmp.*\n/, '\n'), first.out.replace(/\n {2}created {5}tmp.*\n/, '\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a changed file (exit 1) unless --force; repairs a lost x bit', async () => {
    const dir = tempDir();
    try {
      await run(['init', dir]);
      writeFileSync(join(dir, '.htaccess'), '# mine\n');
      const kept = await run(['init', dir]);
      assert.equal(kept.code, 1);
      assert.match(kept.out, /kept {8}\.htaccess {2}\(differs from what init writes \(--force overwrites it\)\)/);
      assert.equal(readFileSync(join(dir, '.htaccess'), 'utf8'), '# mine\n');
      const forced = await run(['init', '--force', dir]);
      assert.equal(forced.code, 0);
      assert.match(forced.out, /overwritten .htaccess/);
      chmodSync(join(dir, 'dispatch.fcgi'), 0o644);
      const fixed = await run(['init', dir]);
      assert.match(fixed.out, /mode fixed {2}dispatch\.fcgi/);
      assert.equal(statSync(join(dir, 'dispatch.fcgi')).mode & 0o777, 0o755);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('apache-cgi writes dispatch.cgi and a cgi-script handler', async () => {
    const dir = tempDir();
    try {
      const r = await run(['init', '--server', 'apache-cgi', dir]);
      assert.equal(r.code, 0);
      assert.match(r.out, /^ {2}after a deploy: nothing to do \(every hit runs the code on disk\)$/m, 'mod_cgi has nothing to reload');
      assert.doesNotMatch(r.out, /after a deploy: touch/);
      assert.match(readFileSync(join(dir, '.htaccess'), 'utf8'), /AddHandler cgi-script \.cgi\n[^]*RewriteRule \^\(dispatch\\\.cgi\/\.\*\)\$ - \[L\]/);
      assert.ok(statSync(join(dir, 'dispatch.cgi')).isFile());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('nginx prints the server block, the systemd unit and spawn-fcgi; no .htaccess', async () => {
    const dir = tempDir();
    try {
      const r = await run(['init', '--server', 'nginx', '--bind', 'unix:/run/x/app.sock', '--app', join(dir, 'srv.js'), dir]);
      assert.equal(r.code, 0);
      assert.throws(() => statSync(join(dir, '.htaccess')));
      for (const s of ['fastcgi_param HTTP_PROXY "";', 'fastcgi_param SCRIPT_NAME "";', 'fastcgi_param PATH_INFO $uri;',
        'fastcgi_keep_conn on;', 'keepalive 8;', 'server unix:/run/x/app.sock;', 'ExecReload=/bin/kill -HUP $MAINPID',
        'KillMode=mixed', 'spawn-fcgi -n -s /run/x/app.sock']) assert.ok(r.out.includes(s), `missing: ${s}`);
      assert.match(readFileSync(join(dir, 'dispatch.fcgi'), 'utf8'), /app: "\.\/srv\.js"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lighttpd prints bin-path with fix-root-scriptname', async () => {
    const dir = tempDir();
    try {
      const r = await run(['init', '--server', 'lighttpd', dir]);
      assert.match(r.out, new RegExp(`"bin-path" => "${dir}/dispatch.fcgi"`));
      assert.match(r.out, /"fix-root-scriptname" => "enable"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects an unknown server (exit 2)', async () => {
    assert.equal((await run(['init', '--server', 'iis', '/tmp/x'])).code, 2);
  });
});
