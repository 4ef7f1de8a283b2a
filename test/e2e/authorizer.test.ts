// FastCGI Authorizer role (spec 6.3) behind real Apache + mod_fcgid: FcgidAuthenticator and
// FcgidAuthorizer run the same dualcgi app (FastCGI role 2, FCGI_APACHE_ROLE tells the phase) to
// protect a static file and a responder app.

import { describe, before, after, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { startApache, type RunningApache } from './harness/apache';
import {
  freePort, httpRequest, launch, makeWorld, mkdirp, nodeForWww, processesOf, removeWorld, which, writeFile,
  type HttpResponse, type RunningServer,
} from './harness/util';
import { fixturesDir, installDualcgi } from './fixtures/world';

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** entryScript: a dispatch script for an app given by absolute path. */
function entryScript(dualcgi: string, app: string): string {
  return `#!${nodeForWww()}\nrequire(${JSON.stringify(path.join(dualcgi, 'dist', 'src'))}).dispatch({ app: ${JSON.stringify(app)} });\n`;
}

/** installAuthApp: the world's dualcgi copy and the auth app with its entry script; returns the script. */
async function installAuthApp(world: string): Promise<{ dualcgi: string; app: string; script: string }> {
  const dualcgi = await installDualcgi(world);
  const authDir = path.join(world, 'auth');
  const app = await writeFile(path.join(authDir, 'app.js'), await fsp.readFile(path.join(fixturesDir(), 'auth', 'app.js')));
  const script = await writeFile(path.join(authDir, 'auth.fcgi'), entryScript(dualcgi, app), 0o755);
  return { dualcgi, app, script };
}

describe('e2e: Apache + mod_fcgid FcgidAuthenticator/FcgidAuthorizer -> a dualcgi app', () => {
  let world = '';
  let apache: RunningApache | undefined;
  const secret = 'the protected file\n';

  before(async () => {
    world = await makeWorld('e2e-authz');
    const { dualcgi, app, script: authScript } = await installAuthApp(world);
    const docroot = path.join(world, 'www');
    await writeFile(path.join(docroot, 'public.txt'), 'public\n');
    await writeFile(path.join(docroot, 'private', 'secret.txt'), secret);
    await writeFile(path.join(docroot, 'private', 'whoami.fcgi'), entryScript(dualcgi, app), 0o755);
    apache = await startApache({
      docroot,
      mode: 'fcgid',
      modules: ['authn_core', 'authz_user'],
      extraConfig: [
        `<Directory ${path.join(docroot, 'private')}>`,
        '    AuthType Basic',
        '    AuthName "dualcgi"',
        `    FcgidAuthenticator ${authScript}`,
        `    FcgidAuthorizer ${authScript}`,
        '    Require valid-user',
        // What the authorizer passed on, shown on the static file (mod_headers reads the environment).
        '    Header set X-Auth-Role "%{AUTH_ROLE}e" env=AUTH_ROLE',
        // Authorizer headers stay in the response unless removed (measured below).
        '    Header always unset Variable-AUTH_CHECKED_URI',
        '    AddHandler fcgid-script .fcgi',
        '</Directory>',
      ].join('\n'),
    });
  });

  after(async () => {
    await apache?.stop();
    const left = processesOf(undefined, [world]);
    assert.deepEqual(left.map((p) => `${p.pid} ${p.cmdline}`), [], 'processes left behind');
    await removeWorld(world);
  });

  async function get(urlPath: string, headers: Record<string, string> = {}): Promise<HttpResponse> {
    return httpRequest(apache?.port ?? 0, urlPath, { headers });
  }

  async function logs(): Promise<string> {
    return ((await apache?.readErrorLog()) ?? '').slice(-4000);
  }

  it('asks for credentials before the app runs (no Authorization: Apache\'s 401)', async () => {
    const r = await get('/private/secret.txt');
    assert.equal(r.status, 401);
    assert.match(await logs(), /authenticator requires basic HTTP auth credentials/);
    assert.equal((await get('/public.txt')).status, 200, 'files outside the protected folder are not affected');
  });

  it('allows: the static file is served and the Variable-* value reaches the environment', async () => {
    const r = await get('/private/secret.txt', { Authorization: basic('ann', 'secret') });
    assert.equal(r.status, 200, await logs());
    assert.equal(r.body.toString(), secret);
    // mod_headers' %{AUTH_ROLE}e: the authorizer's `Variable-AUTH_ROLE: admin` became AUTH_ROLE.
    assert.equal(r.headers['x-auth-role'], 'admin');
  });

  it('allows: a responder behind the authorizer sees the variables and REMOTE_USER as params', async () => {
    const r = await get('/private/whoami.fcgi', { Authorization: basic('ann', 'secret') });
    assert.equal(r.status, 200, await logs());
    assert.deepEqual(JSON.parse(r.body.toString()), { role: 'RESPONDER', user: 'ann', authRole: 'admin', checkedUri: '/private/whoami.fcgi' });
  });

  it('leaks Variable-* headers to the client unless the config unsets them (measured)', async () => {
    const r = await get('/private/secret.txt', { Authorization: basic('ann', 'secret') });
    assert.equal(r.headers['variable-auth_role'], 'admin', 'mod_fcgid leaves the authorizer\'s headers in err_headers_out');
    assert.equal(r.headers['variable-auth_checked_uri'], undefined, '`Header always unset Variable-AUTH_CHECKED_URI` removes one');
  });

  it('denies (authenticator 401, authorizer 403): the client gets 401 with Apache\'s body and the app\'s headers (measured)', async () => {
    const wrong = await get('/private/secret.txt', { Authorization: basic('ann', 'wrong') });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers['x-auth-app'], 'authenticator said no');
    assert.doesNotMatch(wrong.body.toString(), /wrong password/, 'mod_fcgid never passes an AAA body on');
    const denied = await get('/private/secret.txt', { Authorization: basic('bob', 'secret') });
    assert.equal(denied.status, 401, 'mod_fcgid turns every denial into HTTP_UNAUTHORIZED');
    assert.equal(denied.headers['x-auth-app'], 'authorizer said no');
    assert.doesNotMatch(denied.body.toString(), /may not see/);
    assert.match(await logs(), /Authorization of user bob to access \/private\/secret.txt failed, reason: script returned status 403/);
  });
});

/**
 * startLighttpdAuthorizer: lighttpd with `"mode" => "authorizer"` in front of /private/ (it spawns
 * auth.fcgi itself, a listening socket on fd 0), static files and mod_cgi behind it.
 */
async function startLighttpdAuthorizer(world: string, docroot: string, script: string): Promise<RunningServer> {
  const dir = await mkdirp(path.join(world, 'lighttpd'));
  // lighttpd drops privileges before opening its logs and spawning backends: www-data owns both folders.
  const logs = await mkdirp(path.join(dir, 'logs'), { owner: 'www-data' });
  const sock = await mkdirp(path.join(dir, 'sock'), { owner: 'www-data' });
  const port = await freePort();
  const configFile = await writeFile(path.join(dir, 'lighttpd.conf'), [
    'server.modules = ( "mod_access", "mod_fastcgi", "mod_cgi" )',
    `server.document-root = "${docroot}"`,
    'server.bind = "127.0.0.1"',
    `server.port = ${port}`,
    'server.username = "www-data"',
    'server.groupname = "www-data"',
    `server.errorlog = "${path.join(logs, 'error.log')}"`,
    `server.breakagelog = "${path.join(logs, 'breakage.log')}"`,
    'mimetype.assign = ( ".txt" => "text/plain" )',
    'cgi.assign = ( ".cgi" => "" )',
    '$HTTP["url"] =^ "/private/" {',
    '  fastcgi.server = ( "" => ((',
    `    "bin-path" => "${script}", "socket" => "${path.join(sock, 'auth.sock')}", "check-local" => "disable",`,
    `    "mode" => "authorizer", "docroot" => "${docroot}", "max-procs" => 1,`,
    '  )) )',
    '}',
    '',
  ].join('\n'));
  return launch({
    name: 'lighttpd (authorizer)', bin: which('/usr/sbin/lighttpd'), args: ['-D', '-f', configFile], dir, configFile,
    errorLog: path.join(logs, 'error.log'), port, readyOn: port, extraDirs: [docroot, path.dirname(script)],
  });
}

describe('e2e: lighttpd mod_fastcgi "mode" => "authorizer" -> a dualcgi app', () => {
  let world = '';
  let lighttpd: RunningServer | undefined;

  before(async () => {
    world = await makeWorld('e2e-authz-lighttpd');
    const { script } = await installAuthApp(world);
    const docroot = path.join(world, 'www');
    await writeFile(path.join(docroot, 'private', 'secret.txt'), 'the protected file\n');
    await writeFile(path.join(docroot, 'private', 'env.cgi'), '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n"\nenv\n', 0o755);
    lighttpd = await startLighttpdAuthorizer(world, docroot, script);
  });

  after(async () => {
    await lighttpd?.stop();
    const left = processesOf(undefined, [world]);
    assert.deepEqual(left.map((p) => `${p.pid} ${p.cmdline}`), [], 'processes left behind');
    await removeWorld(world);
  });

  // lighttpd sends no FCGI_APACHE_ROLE and checks no password itself: the app authorizes on REMOTE_USER,
  // which lighttpd sets from a Basic header only with mod_auth; here the app sees the header instead.
  const as = (user: string): Record<string, string> => ({ Authorization: basic(user, 'secret') });

  it('allows: the file is served, Variable-* becomes the environment of a CGI script, and no header leaks', async () => {
    const file = await httpRequest(lighttpd?.port ?? 0, '/private/secret.txt', { headers: as('ann') });
    assert.equal(file.status, 200, await lighttpd?.readErrorLog());
    assert.equal(file.body.toString(), 'the protected file\n');
    assert.equal(file.headers['variable-auth_role'], undefined);
    const env = await httpRequest(lighttpd?.port ?? 0, '/private/env.cgi', { headers: as('ann') });
    assert.match(env.body.toString(), /^AUTH_ROLE=admin$/m);
  });

  it("denies with the app's status, headers and body (spec 6.3)", async () => {
    const r = await httpRequest(lighttpd?.port ?? 0, '/private/secret.txt', { headers: as('bob') });
    assert.equal(r.status, 403);
    assert.equal(r.headers['x-auth-app'], 'authorizer said no');
    assert.equal(r.body.toString(), 'authorizer: bob may not see /private/secret.txt\n');
  });
});
