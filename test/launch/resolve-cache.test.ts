// The resolution cache of the CGI path (launch/resolve-cache): a later hit answers require()
// from the table an earlier hit wrote, and any change that could alter an answer (a new file that
// shadows it, an edited package.json, a retargeted symlink, a changed module.paths) makes the hit
// ask Node again. Real CGI hits of a small app in a temp folder; no timing here (bench/ cgi suite).
import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readBlob } from '../../src/launch/cgi-boot';
import { RESOLVE_ENTRY } from '../../src/launch/compile-cache';
import type { ResolveCacheState } from '../../src/launch/resolve-cache';
import { cgiHitEnv } from './helpers';

const distSrc = resolve(__dirname, '../../src');
const work = mkdtempSync(join(tmpdir(), 'dualcgi-resolve-cache-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A preload that reports the compile cache's state at exit and hooks nothing. */
const probe = join(work, 'probe.js');
writeFileSync(probe, `process.on('exit', () => require('node:fs').writeFileSync(process.env.PROBE_OUT,
  JSON.stringify(require(${JSON.stringify(join(distSrc, 'launch', 'compile-cache'))}).compileCacheState())));\n`);

const app = join(work, 'app');
const cache = join(work, 'cache');
const OLD = 1_700_000_000;

/** settle: every file and folder of the app gets an old mtime (a table is kept only when nothing changed in the last 2 s). */
function settle(dir: string = app, at: number = OLD): void {
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, name.name);
    if (name.isSymbolicLink()) continue;
    if (name.isDirectory()) settle(p, at);
    else utimesSync(p, at, at);
  }
  utimesSync(dir, at, at);
}

function put(rel: string, body: string): void {
  const p = join(app, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, body);
}

interface Hit {
  stdout: string;
  state: { hits: number; misses: number; resolve: ResolveCacheState | null } | null;
}

function hit(preload: string[] = [], extra: Record<string, string> = {}): Hit {
  const out = join(work, `state-${process.hrtime.bigint()}.json`);
  const r = spawnSync(process.execPath, ['-r', probe, ...preload, join(app, 'dispatch.cgi')], {
    env: cgiHitEnv({ PROBE_OUT: out, DUALCGI_COMPILE_CACHE: cache, ...extra }), input: '', encoding: 'utf8', timeout: 20_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return { stdout: r.stdout.slice(r.stdout.indexOf('\r\n\r\n') + 4), state: JSON.parse(readFileSync(out, 'utf8')) as Hit['state'] };
}

/** warm: two hits, the second answered from the table. */
function warm(expected: string): Hit {
  const first = hit();
  assert.equal(first.stdout, expected);
  const second = hit();
  assert.equal(second.stdout, expected);
  assert.equal(second.state?.resolve?.trusted, true, 'the second hit trusts the table');
  return second;
}

describe('resolution cache', () => {
  // dualcgi's own folders are in the table too: right after a build they are "changing" (see the
  // 2 s rule), so wait until they have settled.
  before(async () => {
    const newest = Math.max(...[distSrc, join(distSrc, 'launch'), resolve(distSrc, '..')].map((d) => statSync(d).mtimeMs));
    const wait = newest + 2100 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  });

  beforeEach(() => {
    rmSync(app, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
    put('package.json', '{"name":"app"}\n');
    put('dispatch.cgi', `require(${JSON.stringify(distSrc)}).dispatch({ app: './app.js' });\n`);
    put('app.js', `const a = require('./lib/a'); const pkg = require('pkg');
module.exports = (req, res) => res.end(a + '-' + pkg);\n`);
    put('lib/a.js', 'module.exports = "a1";\n');
    put('node_modules/pkg/package.json', '{"name":"pkg","main":"main.js"}\n');
    put('node_modules/pkg/main.js', 'module.exports = "pkg1";\n');
    put('node_modules/pkg/other.js', 'module.exports = "pkg2";\n');
    settle();
  });

  it('a later hit answers require() and package scopes from the table', () => {
    const first = hit();
    assert.equal(first.stdout, 'a1-pkg1');
    assert.equal(first.state?.resolve?.trusted, false);
    assert.ok((first.state?.resolve?.misses ?? 0) > 0);
    const second = warm('a1-pkg1');
    assert.ok((second.state?.resolve?.hits ?? 0) >= 2, 'app.js\'s two requires came from the table');
    assert.ok((second.state?.resolve?.scopeHits ?? 0) >= 3, 'app.js, lib/a.js and pkg/main.js skipped the scope lookup');
    assert.equal(second.state?.resolve?.misses, 0);
    assert.equal(second.state?.resolve?.scopeMisses, 0);
  });

  it('a new file that shadows an answer is found (relative and package requests)', () => {
    warm('a1-pkg1');
    put('lib/a', 'module.exports = "a2";\n'); // an exact name wins over a.js
    put('node_modules/pkg.js', 'module.exports = "pkg3";\n'); // a file wins over the folder
    const r = hit();
    assert.equal(r.stdout, 'a2-pkg3');
    assert.equal(r.state?.resolve?.trusted, false);
  });

  it('an edited package.json is read again (its folder unchanged)', () => {
    warm('a1-pkg1');
    const dir = join(app, 'node_modules', 'pkg');
    const before = statSync(dir).mtimeMs / 1000;
    writeFileSync(join(dir, 'package.json'), '{"name":"pkg","main":"other.js"}\n');
    utimesSync(dir, before, before);
    assert.equal(hit().stdout, 'a1-pkg2');
  });

  it('a retargeted symlink is followed', () => {
    rmSync(join(app, 'node_modules', 'pkg'), { recursive: true });
    for (const v of ['1', '2']) {
      put(`vendor/pkg${v}/package.json`, '{"name":"pkg"}\n');
      put(`vendor/pkg${v}/index.js`, `module.exports = "v${v}";\n`);
    }
    symlinkSync('../vendor/pkg1', join(app, 'node_modules', 'pkg'));
    settle();
    warm('a1-v1');
    rmSync(join(app, 'node_modules', 'pkg'));
    symlinkSync('../vendor/pkg2', join(app, 'node_modules', 'pkg'));
    assert.equal(hit().stdout, 'a1-v2');
  });

  it('a module whose module.paths the app changed is resolved by Node', () => {
    for (const v of ['1', '2']) put(`extra${v}/pkg/index.js`, `module.exports = "x${v}";\n`);
    put('app.js', `module.paths.unshift(require('node:path').join(__dirname, process.env.EXTRA));
const pkg = require('pkg');
module.exports = (req, res) => res.end(pkg);\n`);
    settle();
    assert.equal(hit([], { EXTRA: 'extra1' }).stdout, 'x1');
    assert.equal(hit([], { EXTRA: 'extra1' }).stdout, 'x1');
    assert.equal(hit([], { EXTRA: 'extra2' }).stdout, 'x2');
  });

  it('a folder changed in the last seconds: no table is kept (it may still be changing)', () => {
    put('lib/b.js', 'module.exports = 1;\n'); // lib's mtime is now
    const r = hit();
    assert.equal(r.stdout, 'a1-pkg1');
    assert.equal(readBlob(join(cache, readdirSync(cache)[0] ?? '')).has(RESOLVE_ENTRY), false);
  });

  it('only the table changed: the blob is rewritten with the same bytecode', () => {
    const warmHit = warm('a1-pkg1');
    utimesSync(join(app, 'lib'), OLD + 10, OLD + 10); // a folder's mtime only
    const r = hit();
    assert.equal(r.state?.resolve?.trusted, false);
    assert.equal(r.state?.misses, 0, 'no module was compiled from source');
    const next = hit();
    assert.equal(next.state?.resolve?.trusted, true);
    assert.equal(next.state?.hits, warmHit.state?.hits, 'every module still comes from the cache');
  });

  it('is not installed when a preload hooked resolution first (its answers depend on files the table does not know)', () => {
    const hook = join(work, 'hook.js');
    writeFileSync(hook, `const M = require('node:module'); const r = M._resolveFilename;
M._resolveFilename = function (...a) { return r.apply(this, a); };\n`);
    hit([ '-r', hook ]);
    const r = hit(['-r', hook]);
    assert.equal(r.stdout, 'a1-pkg1');
    assert.equal(r.state?.resolve, null);
    assert.ok((r.state?.hits ?? 0) > 0, 'the bytecode cache still works');
  });
});
