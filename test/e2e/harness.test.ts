// Self-test of the e2e harness with real servers and no dualcgi code: shell CGI scripts,
// node-fastcgi as a foreign FastCGI app, and php-fpm.

import { describe, it, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as fsp from 'node:fs/promises';
import { startApache } from './harness/apache';
import { startNginx } from './harness/nginx';
import { startLighttpd, startLighttpdCgi } from './harness/lighttpd';
import { startPhpFpm } from './harness/php-fpm';
import {
  copyNodeModules,
  httpRequest,
  isAlive,
  makeWorld,
  nodeForWww,
  parseEnvLines,
  processesOf,
  removeWorld,
  sha256,
  stopAll,
  writeFile,
  RunningServer,
} from './harness/util';

const started: RunningServer[] = [];
const worlds: string[] = [];

async function world(prefix: string): Promise<string> {
  const w = await makeWorld(prefix);
  worlds.push(w);
  return w;
}

function track<T extends RunningServer>(s: T): T {
  started.push(s);
  return s;
}

// Drains its body first: under mod_cgid a script that exits with unread input resets the
// socket and Apache aborts the client connection (AH00574 ... Connection reset by peer).
const ENV_CGI = [
  '#!/bin/sh',
  'if [ -n "$CONTENT_LENGTH" ]; then head -c "$CONTENT_LENGTH" >/dev/null; fi',
  "printf 'Content-Type: text/plain\\n\\n'",
  'env',
  '',
].join('\n');

const htaccess = (script: string, handler: string, ext: string): string =>
  [
    `AddHandler ${handler} ${ext}`,
    'Options +ExecCGI +FollowSymLinks',
    'RewriteEngine On',
    // Without this guard the rewritten /dispatch.x/foo would be rewritten again, and again.
    `RewriteRule ^${script.replace('.', '\\.')}(/.*)?$ - [L]`,
    `RewriteRule ^(.*)$ ${script}/$1 [L]`,
    '',
  ].join('\n');

/** A FastCGI app on fd 0 (node-fastcgi) that answers with its params as JSON. */
async function nodeFastcgiApp(file: string, modulesDir: string): Promise<void> {
  const src = [
    `#!${nodeForWww()}`,
    `const fcgi = require(${JSON.stringify(path.join(modulesDir, 'node-fastcgi'))});`,
    'fcgi.createServer((req, res) => {',
    '  const chunks = [];',
    '  req.on("data", (c) => chunks.push(c));',
    '  req.on("end", () => {',
    '    const body = JSON.stringify({ pid: process.pid, params: req.cgiParams, bodyLength: Buffer.concat(chunks).length });',
    '    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });',
    '    res.end(body);',
    '  });',
    '}).listen();',
    '',
  ].join('\n');
  await writeFile(file, src, 0o755);
}

async function readText(file: string): Promise<string> {
  return fsp.readFile(file, 'utf8').catch(() => '');
}

interface ParamsReply {
  pid: number;
  params: Record<string, string>;
  bodyLength: number;
}

describe('e2e harness (no dualcgi)', () => {
  after(async () => {
    await stopAll();
    for (const s of started) {
      assert.equal(isAlive(s.pid), false, `master ${s.pid} still alive`);
      const left = processesOf(s.pid, [s.dir]);
      assert.deepEqual(left.map((p) => `${p.pid} ${p.cmdline}`), [], 'processes left behind');
    }
    // Nothing whose cwd or command line is in a world (FastCGI apps, CGI daemons) survives.
    assert.deepEqual(processesOf(undefined, worlds).map((p) => `${p.pid} ${p.cmdline}`), []);
    for (const w of worlds) await removeWorld(w);
  });

  for (const mode of ['cgi', 'cgid'] as const) {
    it(`Apache mod_${mode} runs a shell CGI under the classic .htaccess`, async () => {
      const w = await world(`apache-${mode}`);
      const docroot = path.join(w, 'www');
      await writeFile(path.join(docroot, 'dispatch.cgi'), ENV_CGI, 0o755);
      await writeFile(path.join(docroot, '.htaccess'), htaccess('dispatch.cgi', 'cgi-script', '.cgi'));
      const apache = track(await startApache({ docroot, mode }));
      try {
        const res = await httpRequest(apache.port, '/foo/bar?x=1');
        assert.equal(res.status, 200, await apache.readErrorLog());
        const env = parseEnvLines(res.body.toString('utf8'));
        assert.equal(env.PATH_INFO, '/foo/bar');
        assert.equal(env.REQUEST_URI, '/foo/bar?x=1');
        assert.equal(env.SCRIPT_NAME, '/dispatch.cgi');
        assert.equal(env.QUERY_STRING, 'x=1');
        assert.equal(env.GATEWAY_INTERFACE, 'CGI/1.1');
        // A POST body reaches the script.
        const post = await httpRequest(apache.port, '/up', { method: 'POST', body: 'a=1' });
        assert.equal(post.status, 200);
        assert.equal(parseEnvLines(post.body.toString()).CONTENT_LENGTH, '3');
      } finally {
        await apache.stop();
      }
      assert.equal(isAlive(apache.pid), false);
      assert.deepEqual(processesOf(apache.pid, [apache.dir, docroot]), []);
    });
  }

  it('Apache mod_fcgid spawns a node-fastcgi app on fd 0', async () => {
    const w = await world('apache-fcgid');
    const docroot = path.join(w, 'www');
    const modules = await copyNodeModules(w, ['node-fastcgi']);
    await nodeFastcgiApp(path.join(docroot, 'dispatch.fcgi'), modules);
    await writeFile(path.join(docroot, '.htaccess'), htaccess('dispatch.fcgi', 'fcgid-script', '.fcgi'));
    const apache = track(await startApache({ docroot, mode: 'fcgid' }));
    try {
      const res = await httpRequest(apache.port, '/foo/bar?x=1');
      assert.equal(res.status, 200, await apache.readErrorLog());
      const reply = JSON.parse(res.body.toString('utf8')) as ParamsReply;
      assert.equal(reply.params.PATH_INFO, '/foo/bar');
      assert.equal(reply.params.REQUEST_URI, '/foo/bar?x=1');
      assert.equal(reply.params.SCRIPT_NAME, '/dispatch.fcgi');
      // The app process lives on between requests (FastCGI, not CGI).
      const again = JSON.parse((await httpRequest(apache.port, '/again')).body.toString('utf8')) as ParamsReply;
      assert.equal(again.pid, reply.pid);
      assert.equal(isAlive(reply.pid), true);
      // 5 MB POST passes FcgidMaxRequestLen.
      const big = Buffer.alloc(5 * 1024 * 1024, 'x');
      const post = await httpRequest(apache.port, '/upload', { method: 'POST', body: big });
      assert.equal(post.status, 200);
      assert.equal((JSON.parse(post.body.toString('utf8')) as ParamsReply).bodyLength, big.length);
      await apache.stop();
      assert.equal(isAlive(reply.pid), false, 'the FastCGI app outlived Apache');
    } finally {
      await apache.stop();
    }
  });

  it('nginx passes to php-fpm on a Unix socket', async () => {
    const w = await world('nginx-php');
    const docroot = path.join(w, 'www');
    await writeFile(path.join(docroot, 'index.php'), "<?php header('Content-Type: text/plain'); echo $_SERVER['REQUEST_URI'];\n");
    await writeFile(path.join(docroot, 'static', 'hello.txt'), 'hello static\n');
    const fpm = track(await startPhpFpm({ listen: path.join(w, 'php-fpm', 'sock', 'php.sock'), dir: path.join(w, 'php-fpm') }));
    try {
      const nginx = track(
        await startNginx({
          docroot,
          fastcgiPass: fpm.address,
          params: 'php',
          staticPrefix: '/static/',
          // Every URL runs index.php, front-controller style.
          locationConfig: `fastcgi_param SCRIPT_FILENAME ${docroot}/index.php;`,
        }),
      );
      try {
        const res = await httpRequest(nginx.port, '/foo/bar?x=1');
        assert.equal(res.status, 200, (await nginx.readErrorLog()) + (await fpm.readErrorLog()));
        assert.equal(res.body.toString('utf8'), '/foo/bar?x=1');
        const st = await httpRequest(nginx.port, '/static/hello.txt');
        assert.equal(st.status, 200);
        assert.equal(sha256(st.body), sha256('hello static\n'));
      } finally {
        await nginx.stop();
      }
    } finally {
      await fpm.stop();
    }
  });

  it('lighttpd mod_cgi runs a shell CGI, rewritten like the .htaccess', async () => {
    const w = await world('lighttpd-cgi');
    const docroot = path.join(w, 'www');
    await writeFile(path.join(docroot, 'dispatch.cgi'), ENV_CGI, 0o755);
    await writeFile(path.join(docroot, 'static', 'a.txt'), 'A\n');
    const lh = track(await startLighttpdCgi({ docroot, rewriteTo: 'dispatch.cgi', staticPrefix: '/static/' }));
    try {
      const res = await httpRequest(lh.port, '/foo/bar?x=1');
      assert.equal(res.status, 200, await lh.readErrorLog());
      const env = parseEnvLines(res.body.toString('utf8'));
      assert.equal(env.SCRIPT_NAME, '/dispatch.cgi');
      assert.equal(env.PATH_INFO, '/foo/bar');
      assert.equal(env.REQUEST_URI, '/foo/bar?x=1');
      assert.equal((await httpRequest(lh.port, '/static/a.txt')).body.toString(), 'A\n');
    } finally {
      await lh.stop();
    }
  });

  for (const fix of [true, false]) {
    it(`lighttpd bin-path spawns a node-fastcgi app (fix-root-scriptname ${fix ? 'on' : 'off'})`, async () => {
      const w = await world('lighttpd');
      const docroot = path.join(w, 'www');
      const modules = await copyNodeModules(w, ['node-fastcgi']);
      const app = path.join(w, 'app', 'dispatch.fcgi');
      await nodeFastcgiApp(app, modules);
      await writeFile(path.join(docroot, 'static', 'a.txt'), 'static a\n');
      const lh = track(await startLighttpd({ docroot, binPath: app, fixRootScriptname: fix, staticPrefix: '/static/' }));
      try {
        const res = await httpRequest(lh.port, '/foo/bar?x=1');
        assert.equal(res.status, 200, (await lh.readErrorLog()) + (await readText(lh.breakageLog)));
        const reply = JSON.parse(res.body.toString('utf8')) as ParamsReply;
        assert.equal(reply.params.REQUEST_URI, '/foo/bar?x=1');
        if (fix) {
          assert.equal(reply.params.SCRIPT_NAME, '');
          assert.equal(reply.params.PATH_INFO, '/foo/bar');
        } else {
          assert.equal(reply.params.SCRIPT_NAME, '/foo');
          assert.equal(reply.params.PATH_INFO, '/bar');
        }
        const st = await httpRequest(lh.port, '/static/a.txt');
        assert.equal(st.body.toString(), 'static a\n');
        await lh.stop();
        assert.equal(isAlive(reply.pid), false, 'the FastCGI app outlived lighttpd');
      } finally {
        await lh.stop();
      }
    });
  }
});
