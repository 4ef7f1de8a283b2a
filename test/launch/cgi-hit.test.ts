// What a CGI hit loads, and the two speed tricks of the CGI path (the CGI bundle and the compile
// cache): they must stay correct when files change. No timing here (shared, noisy machines):
// bench/ cgi suite measures the time.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { asciiSource, BUNDLE_NAME, buildCgiBundle, MIN_BUNDLE_CHARS, padSource } from '../../src/launch/build-cgi-bundle';
import { readBlob } from '../../src/launch/cgi-boot';
import { callsDynamicImport } from '../../src/launch/compile-cache';
import { cgiHitEnv } from './helpers';

const distSrc = resolve(__dirname, '../../src');
const repo = resolve(distSrc, '../..');
const hello = join(repo, 'examples', 'hello', 'dispatch.cgi');
const work = mkdtempSync(join(tmpdir(), 'dualcgi-cgi-hit-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** PROBE: preloaded into a hit; at exit writes what was loaded (files read by the CJS loader, builtins). */
const probe = join(work, 'probe.js');
writeFileSync(probe, `
const Module = require('node:module');
const fromDisk = [];
const js = Module._extensions['.js'];
Module._extensions['.js'] = function (m, f) { fromDisk.push(f); return js.call(this, m, f); };
process.on('exit', () => {
  const st = require(${JSON.stringify(join(distSrc, 'launch', 'compile-cache'))}).compileCacheState();
  require('node:fs').writeFileSync(process.env.PROBE_OUT, JSON.stringify({
    fromDisk, cache: Object.keys(require.cache), builtins: process.moduleLoadList, compileCache: st,
    stdio: require(${JSON.stringify(join(distSrc, 'trace', 'stdio'))}).stdioStreamsBuilt(),
  }));
});
`);

interface Loaded {
  fromDisk: string[];
  cache: string[];
  builtins: string[];
  compileCache: { file: string; hits: number; misses: number } | null;
  stdio: { stdout: boolean; stderr: boolean };
}

const cgiEnv = cgiHitEnv;

/** hit: one CGI hit of `script` (run by node, so the probe can be preloaded). */
function hit(script: string, extra: Record<string, string> = {}): { stdout: string; loaded: Loaded } {
  const out = join(work, `loaded-${process.hrtime.bigint()}.json`);
  const r = spawnSync(process.execPath, ['-r', probe, script], {
    env: cgiEnv({ PROBE_OUT: out, DUALCGI_COMPILE_CACHE: join(work, 'cache'), ...extra }),
    input: '', encoding: 'latin1', timeout: 20_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return { stdout: r.stdout, loaded: JSON.parse(readFileSync(out, 'utf8')) as Loaded };
}

const FORBIDDEN = [/node_modules\/blessed\//, /node_modules\/pino-pretty\//, /dist\/src\/fastcgi\//, /dist\/src\/protocol\//,
  /dist\/src\/dashboard\//, /dist\/src\/trace\/sink/, /dist\/src\/trace\/console-capture/,
  // with tracing off a hit builds no request events (handlers/serve loads them on the first traced request)
  /dist\/src\/trace\/request-events/, /dist\/src\/trace\/json-line/];
const FORBIDDEN_BUILTINS = ['NativeModule cluster', 'NativeModule internal/modules/esm/translators', 'NativeModule internal/deps/cjs-module-lexer/lexer'];

describe('a CGI hit of examples/hello', () => {
  it('answers, and loads neither the FastCGI side, the dashboard, pino-pretty, the request events, node:cluster nor the ESM loader', () => {
    const { stdout, loaded } = hit(hello);
    assert.match(stdout, /"hello": "world"/);
    for (const f of loaded.cache) for (const re of FORBIDDEN) assert.doesNotMatch(f, re);
    for (const b of FORBIDDEN_BUILTINS) assert.ok(!loaded.builtins.includes(b), `${b} loaded`);
  });

  it('writes the response to fd 1 and the req.log line to fd 2 without building process.stdout or process.stderr', () => {
    const r = spawnSync(process.execPath, ['-r', probe, hello], {
      env: cgiEnv({ PROBE_OUT: join(work, 'stdio.json'), DUALCGI_COMPILE_CACHE: join(work, 'cache') }),
      input: '', encoding: 'latin1', timeout: 20_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Status: 200 OK\r\n[^]*"hello": "world"/);
    assert.match(r.stderr, /"msg":"hello handled"/);
    const loaded = JSON.parse(readFileSync(join(work, 'stdio.json'), 'utf8')) as Loaded;
    assert.deepEqual(loaded.stdio, { stdout: false, stderr: false });
  });

  it('loads two dualcgi files through Node\'s loader with the bundle (index, cgi-boot, which compiles the bundle), at most 28 without', () => {
    const ours = (l: Loaded): string[] => l.fromDisk.filter((f) => f.startsWith(distSrc + '/')).map((f) => f.slice(distSrc.length + 1));
    const withBundle = hit(hello).loaded;
    assert.deepEqual(ours(withBundle).sort(), ['index.js', 'launch/cgi-boot.js']);
    // The compile cache's hook and the resolution cache come from the bundle.
    assert.ok(withBundle.cache.includes(join(distSrc, BUNDLE_NAME)));
    assert.ok(withBundle.cache.includes(join(distSrc, 'launch', 'compile-cache.js')));
    const files = ours(hit(hello, { DUALCGI_BUNDLE: 'off', DUALCGI_COMPILE_CACHE: 'off' }).loaded);
    assert.ok(files.length <= 28, `${files.length} files: ${files.join(' ')}`);
    assert.ok(!files.includes(BUNDLE_NAME));
  });

  it('the second hit compiles from the cache: no misses, the same reply', () => {
    const cache = join(work, 'cache-2');
    const first = hit(hello, { DUALCGI_COMPILE_CACHE: cache });
    assert.ok(first.loaded.compileCache && first.loaded.compileCache.misses > 0);
    const second = hit(hello, { DUALCGI_COMPILE_CACHE: cache });
    assert.equal(second.loaded.compileCache?.misses, 0);
    assert.ok((second.loaded.compileCache?.hits ?? 0) > 0);
    const strip = (s: string): string => s.replace(/"pid": \d+/, '');
    assert.equal(strip(second.stdout), strip(first.stdout));
  });
});

describe('a CGI hit with a request body', () => {
  it('answers 1 MiB before reading a 1 MiB body while the server writes the whole body first (as mod_cgi does)', async () => {
    const dir = join(work, 'app-early');
    mkdirSync(dir, { recursive: true });
    // The app answers at once and never reads the body: dualcgi drains stdin itself.
    writeFileSync(join(dir, 'app.js'), `module.exports = (req, res) => res.end(Buffer.alloc(1 << 20, 120));\n`);
    const script = join(dir, 'dispatch.cgi');
    writeFileSync(script, `require(${JSON.stringify(distSrc)}).dispatch({ app: './app.js' });\n`);
    const size = 1 << 20;
    const { spawn } = await import('node:child_process');
    const env = cgiEnv({ DUALCGI_COMPILE_CACHE: 'off' });
    env['REQUEST_METHOD'] = 'POST';
    env['CONTENT_LENGTH'] = String(size);
    env['CONTENT_TYPE'] = 'application/octet-stream';
    const child = spawn(process.execPath, [script], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    // Like Apache's mod_cgi: the whole body goes in first; the response is read only after that.
    child.stdout.pause();
    const bodyIn = new Promise<void>((resolve, reject) => {
      child.stdin.on('error', reject);
      child.stdin.end(Buffer.alloc(size, 121), resolve);
    });
    const timeout = setTimeout(() => child.kill('SIGKILL'), 15_000);
    try {
      await bodyIn;
      const chunks: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => chunks.push(b));
      child.stdout.resume();
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      assert.equal(code, 0, stderr);
      const out = Buffer.concat(chunks);
      const headEnd = out.indexOf('\r\n\r\n');
      assert.match(out.subarray(0, headEnd).toString('latin1'), /^Status: 200 OK\r\n/);
      assert.equal(out.length - headEnd - 4, size);
    } finally {
      clearTimeout(timeout);
    }
  });
});

describe('compile cache', () => {
  const app = join(work, 'app-cc');
  const script = join(work, 'cc.cgi');
  writeFileSync(script, `require(${JSON.stringify(distSrc)}).dispatch({ app: ${JSON.stringify(join(app, 'app.js'))} });\n`);
  const write = (word: string, mtime: number): void => {
    rmSync(app, { recursive: true, force: true });
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'app.js'), `module.exports = (req, res) => res.end(${JSON.stringify(word)});\n`);
    utimesSync(join(app, 'app.js'), mtime, mtime);
  };

  it('a changed module of the same length is compiled again, never run from stale bytecode', () => {
    const cache = join(work, 'cache-3');
    write('AAAA', 1_700_000_000);
    assert.match(hit(script, { DUALCGI_COMPILE_CACHE: cache }).stdout, /AAAA$/);
    assert.match(hit(script, { DUALCGI_COMPILE_CACHE: cache }).stdout, /AAAA$/);
    write('BBBB', 1_700_000_100);
    const r = hit(script, { DUALCGI_COMPILE_CACHE: cache });
    assert.match(r.stdout, /BBBB$/);
    assert.ok((r.loaded.compileCache?.misses ?? 0) >= 1);
  });

  it('is off when the folder is writable by others (bytecode in it would run as the app)', () => {
    const cache = join(work, 'cache-open');
    mkdirSync(cache);
    chmodSync(cache, 0o777);
    write('CCCC', 1_700_000_200);
    const r = hit(script, { DUALCGI_COMPILE_CACHE: cache });
    assert.match(r.stdout, /CCCC$/);
    assert.equal(r.loaded.compileCache, null);
  });

  it('a hit that writes its blob removes blobs of scripts not hit for a week (launch/cache-prune)', () => {
    const cache = join(work, 'cache-prune');
    mkdirSync(cache, { mode: 0o700 });
    const stale = join(cache, '0badf00d.bin');
    writeFileSync(stale, 'a blob of a script that moved');
    const month = Date.now() / 1000 - 30 * 24 * 3600;
    utimesSync(stale, month, month);
    write('PPPP', 1_700_000_250);
    const r = hit(script, { DUALCGI_COMPILE_CACHE: cache });
    assert.match(r.stdout, /PPPP$/);
    assert.ok(r.loaded.compileCache?.file && existsSync(r.loaded.compileCache.file), 'the hit wrote its blob');
    assert.ok(!existsSync(stale), 'the stale blob is gone');
  });

  it('the blob holds one entry per compiled module', () => {
    const cache = join(work, 'cache-4');
    write('DDDD', 1_700_000_300);
    const r = hit(script, { DUALCGI_COMPILE_CACHE: cache });
    const st = r.loaded.compileCache;
    assert.ok(st && st.file);
    const blob = readBlob(st.file);
    assert.ok(blob.has(join(app, 'app.js')));
    assert.ok(blob.has(join(distSrc, BUNDLE_NAME)));
  });

  it('a rewrite keeps entries of unchanged modules the hit did not load, and drops removed or changed ones', () => {
    const cache = join(work, 'cache-prune');
    const dir = join(work, 'app-prune');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const at = (f: string, body: string, t: number): void => {
      writeFileSync(join(dir, f), body);
      utimesSync(join(dir, f), t, t);
    };
    at('gone.js', 'module.exports = "gone";\n', 1_700_000_000);
    at('route.js', 'module.exports = "route";\n', 1_700_000_000);
    at('app.js', `module.exports = (req, res) => res.end(require('./gone') + (process.env.ROUTE ? require('./route') : ''));\n`, 1_700_000_000);
    const pruneScript = join(dir, 'dispatch.cgi');
    writeFileSync(pruneScript, `require(${JSON.stringify(distSrc)}).dispatch({ app: './app.js' });\n`);
    const first = hit(pruneScript, { DUALCGI_COMPILE_CACHE: cache, ROUTE: '1' });
    assert.match(first.stdout, /goneroute$/);
    const blobFile = first.loaded.compileCache!.file;
    assert.ok(readBlob(blobFile).has(join(dir, 'gone.js')) && readBlob(blobFile).has(join(dir, 'route.js')));
    // gone.js is removed and app.js changed (a miss, so the blob is rewritten); route.js is not loaded.
    rmSync(join(dir, 'gone.js'));
    at('app.js', `module.exports = (req, res) => res.end('v2');\n`, 1_700_000_100);
    const second = hit(pruneScript, { DUALCGI_COMPILE_CACHE: cache });
    assert.match(second.stdout, /v2$/);
    const blob = readBlob(blobFile);
    assert.ok(!blob.has(join(dir, 'gone.js')), 'the removed module\'s entry is dropped');
    assert.ok(blob.has(join(dir, 'route.js')), 'an unchanged module the hit did not load keeps its entry');
    assert.equal(blob.get(join(dir, 'app.js'))?.mtimeMs, 1_700_000_100_000);
  });

  it('a hit that missed does not rewrite the blob while another hit is writing it (the temp file is the lock)', () => {
    const cache = join(work, 'cache-5');
    write('EEEE', 1_700_000_400);
    const first = hit(script, { DUALCGI_COMPILE_CACHE: cache });
    const file = first.loaded.compileCache?.file ?? '';
    rmSync(file);
    writeFileSync(`${file}.tmp`, '');
    hit(script, { DUALCGI_COMPILE_CACHE: cache });
    assert.ok(!existsSync(file), 'written despite the lock');
    rmSync(`${file}.tmp`);
    hit(script, { DUALCGI_COMPILE_CACHE: cache });
    assert.ok(existsSync(file));
  });

  it('callsDynamicImport: code counts, comments do not', () => {
    assert.equal(callsDynamicImport('const m = await import("x");'), true);
    assert.equal(callsDynamicImport('/** @type {import(\'./x\')} */\nmodule.exports = 1;'), false);
    assert.equal(callsDynamicImport('const c = /** @type {import(".").T} */ (f);'), false);
    assert.equal(callsDynamicImport(' * returns import("x")\n// import("y")\nexports.a = 1;'), false);
    assert.equal(callsDynamicImport('f(); import("z")'), true);
  });
});

describe('CGI bundle', () => {
  it('is used only while every bundled file is unchanged', () => {
    const copy = join(work, 'dist-copy');
    cpSync(distSrc, copy, { recursive: true });
    const { modules } = buildCgiBundle(copy);
    assert.ok(modules.includes('launch/dispatch.js') && modules.includes('cgi/runner.js'));
    assert.ok(!modules.some((m) => m.startsWith('fastcgi/') || m.startsWith('protocol/')), modules.join(' '));
    const load = require(join(copy, BUNDLE_NAME)) as (distSrc: string, rel: string) => { dispatch?: unknown } | null;
    const now = Date.now() / 1000;
    utimesSync(join(copy, 'cgi', 'params.js'), now + 10, now + 10);
    assert.equal(load(copy, 'launch/dispatch.js'), null);
    const rebuilt = buildCgiBundle(copy);
    delete require.cache[join(copy, BUNDLE_NAME)];
    const load2 = require(rebuilt.file) as typeof load;
    assert.equal(typeof load2(copy, 'launch/dispatch.js')?.dispatch, 'function');
    assert.ok(require.cache[join(copy, 'cgi', 'params.js')], 'bundled modules are registered under their file names');
  });

  it('with the compile cache on, a changed bundled file or a missing bundle makes the hit use the files', () => {
    const copy = join(work, 'dist-boot');
    cpSync(distSrc, copy, { recursive: true });
    buildCgiBundle(copy);
    const app = join(work, 'app-boot');
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'app.js'), `module.exports = (req, res) => { req.log.info('boot'); res.end('boot ok'); };\n`);
    const script = join(app, 'dispatch.cgi');
    writeFileSync(script, `require(${JSON.stringify(copy)}).dispatch({ app: './app.js' });\n`);
    const cache = join(work, 'cache-boot');
    const ours = (l: Loaded): string[] => l.fromDisk.filter((f) => f.startsWith(copy + '/')).map((f) => f.slice(copy.length + 1)).sort();
    hit(script, { DUALCGI_COMPILE_CACHE: cache });
    const bundled = hit(script, { DUALCGI_COMPILE_CACHE: cache });
    assert.match(bundled.stdout, /boot ok$/);
    assert.deepEqual(ours(bundled.loaded), ['index.js', 'launch/cgi-boot.js']);
    const now = Date.now() / 1000;
    utimesSync(join(copy, 'cgi', 'params.js'), now + 10, now + 10);
    const changed = hit(script, { DUALCGI_COMPILE_CACHE: cache });
    assert.match(changed.stdout, /boot ok$/);
    assert.ok(ours(changed.loaded).includes('launch/compile-cache.js') && ours(changed.loaded).includes('cgi/params.js'),
      ours(changed.loaded).join(' '));
    rmSync(join(copy, BUNDLE_NAME));
    const unbuilt = hit(script, { DUALCGI_COMPILE_CACHE: cache });
    assert.match(unbuilt.stdout, /boot ok$/);
    assert.ok(ours(unbuilt.loaded).includes('launch/dispatch.js'));
  });

  it('is ASCII and at least MIN_BUNDLE_CHARS long (V8 keeps its source out of the young generation)', () => {
    const text = readFileSync(join(distSrc, BUNDLE_NAME), 'latin1');
    assert.ok(text.length >= MIN_BUNDLE_CHARS, `${text.length} < ${MIN_BUNDLE_CHARS}`);
    assert.equal(/[^\x00-\x7f]/.test(text), false);
  });

  it('asciiSource: escapes mean the same characters in strings, templates and regular expressions', () => {
    const src = 'module.exports = [\'5 \u00b5s\', `${1}\u2026`, /\u00e9+/.test(\'\u00e9\u00e9\'), \'\u{1f600}\']; // \u00b5s';
    const ascii = asciiSource(src);
    assert.equal(/[^\x00-\x7f]/.test(ascii), false);
    const run = (code: string): unknown => {
      const m = { exports: undefined as unknown };
      new Function('module', code)(m);
      return m.exports;
    };
    assert.deepEqual(run(ascii), run(src));
    assert.equal(padSource('x').length, MIN_BUNDLE_CHARS);
    assert.equal(padSource('x'.repeat(MIN_BUNDLE_CHARS + 1)).length, MIN_BUNDLE_CHARS + 1);
  });

  it('a bundled module still finds packages in node_modules (its paths are made when first asked for)', () => {
    // req.log.child is real pino's: the bundled light logger requires pino from node_modules.
    const dir = join(work, 'app-pino');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'app.js'), `module.exports = (req, res) => {
      req.log.child({ sub: 1 }).warn('from a child logger');
      res.end('ok');
    };\n`);
    const script = join(dir, 'dispatch.cgi');
    writeFileSync(script, `require(${JSON.stringify(distSrc)}).dispatch({ app: './app.js' });\n`);
    const r = spawnSync(process.execPath, ['-r', probe, script], {
      env: cgiEnv({ PROBE_OUT: join(dir, 'loaded.json'), DUALCGI_COMPILE_CACHE: 'off' }),
      input: '', encoding: 'latin1', timeout: 20_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\r\n\r\nok$/);
    assert.match(r.stderr, /"sub":1,"msg":"from a child logger"/);
    const loaded = JSON.parse(readFileSync(join(dir, 'loaded.json'), 'utf8')) as Loaded;
    assert.ok(loaded.fromDisk.includes(join(distSrc, BUNDLE_NAME)), 'the hit used the bundle');
    assert.ok(loaded.cache.some((f) => f.includes('/node_modules/pino/')), 'pino came from node_modules');
  });
});
