/**
 * Build step (`npm run build` runs it after tsc): dist/src/cgi-bundle.js, the compiled modules a CGI
 * hit loads, in one file.
 *
 * Why: a CGI hit is a fresh process per request; loading ~20 small files costs more than their
 * code (resolution, stat and realpath calls, package scope lookups, one read and one compile each).
 * One file measured ~10% of a hit faster on the bench/ cgi suite ("dispatch.cgi (plain app)", see
 * bench/README.md). No bundler dependency: the modules stay CommonJS functions, registered in
 * require.cache under their real file names when first required, so a module loaded later from
 * its file (tracing, FastCGI) shares the same instances.
 *
 * Which modules: the ones a real CGI hit of a trivial app that logs one line with req.log loads (a
 * child process records them), so the list follows the code, plus launch/compile-cache and
 * launch/resolve-cache (used with the compile cache on; launch/cgi-boot compiles the bundle). The bundle records each file's size and mtime; if any differs when it
 * is used (dist rebuilt by tsc alone), index.ts falls back to the files.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { callsDynamicImport } from './compile-cache';

import { BUNDLE_NAME } from './cgi-boot';

/** BUNDLE_NAME: next to dist/src/index.js (launch/cgi-boot loads it). */
export { BUNDLE_NAME };

/** hitModules: the dist/src files a CGI hit of a trivial app (one req.log line) loads, in load order (bundle and cache off). */
export function hitModules(distSrc: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'dualcgi-bundle-'));
  try {
    const out = join(dir, 'modules.json');
    const probe = [
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(Object.keys(require.cache))));`,
      `require(${JSON.stringify(distSrc)}).dispatch({ app: (req, res) => { req.log.info('probe'); res.end('ok'); }, scriptPath: ${JSON.stringify(join(dir, 'probe.cgi'))} });`,
    ].join('\n');
    const r = spawnSync(process.execPath, ['-e', probe], {
      env: {
        PATH: process.env['PATH'] ?? '', GATEWAY_INTERFACE: 'CGI/1.1', REQUEST_METHOD: 'GET', SERVER_PROTOCOL: 'HTTP/1.1',
        SCRIPT_NAME: '/probe.cgi', PATH_INFO: '/', QUERY_STRING: '', SERVER_NAME: 'localhost', SERVER_PORT: '80',
        REMOTE_ADDR: '127.0.0.1', DUALCGI_BUNDLE: 'off', DUALCGI_COMPILE_CACHE: 'off', DUALCGI_TRACE: 'off', DUALCGI_RUN_DIR: 'off',
      },
      stdio: ['ignore', 'pipe', 'pipe'], encoding: 'latin1', timeout: 30_000,
    });
    if (r.status !== 0 || !/^Status: 200/.test(r.stdout)) {
      throw new Error(`the probe CGI hit failed (exit ${r.status}): ${(r.stderr || r.stdout).slice(0, 500)}`);
    }
    const loaded = JSON.parse(readFileSync(out, 'utf8')) as string[];
    const prefix = distSrc + '/';
    const boot = ['index.js', 'launch/cgi-boot.js', 'launch/compile-cache.js', 'launch/resolve-cache.js'];
    const modules = loaded.filter((f) => f.startsWith(prefix) && f.endsWith('.js') && !boot.includes(relative(distSrc, f)));
    // With the compile cache on (the probe runs with it off) launch/cgi-boot also takes the
    // compile cache's hook and the resolution cache from the bundle; index.js and cgi-boot are
    // what loads the bundle.
    return [...modules, join(distSrc, 'launch', 'compile-cache.js'), join(distSrc, 'launch', 'resolve-cache.js')];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The loader part of the bundle (plain JS, runs as a CommonJS module). `F`: the files, by path
 * relative to dist/src: [size, mtimeMs, function]. `load(distSrc, rel)`: the exports of that
 * module, or null when any file changed since the bundle was built.
 */
const LOADER = `
const Module = module.constructor; // node:module's Module, without loading node:module (and the ESM loader)
const { statSync } = require('node:fs');
const { dirname, resolve } = require('node:path');
// Speed: index.ts calls load() twice a hit (resolve-cache, then dispatch); the files are checked
// once per distSrc, and a process keeps its first answer (a second check cost ~0.12 ms and ~45 KB
// of young-generation garbage of a hello hit: marks inside the process, 2026-11-26).
let checked = null;
let checkedOk = false;
function fresh(distSrc) {
  if (checked !== distSrc) {
    checkedOk = stale(distSrc) === false;
    checked = distSrc;
  }
  return checkedOk;
}
function stale(distSrc) {
  for (const rel of Object.keys(F)) {
    const st = statSync(distSrc + '/' + rel, { throwIfNoEntry: false });
    if (!st || st.size !== F[rel][0] || st.mtimeMs !== F[rel][1]) return true;
  }
  return false;
}
function instantiate(distSrc, rel, parent) {
  const filename = distSrc + '/' + rel;
  const cached = require.cache[filename];
  if (cached) return cached.exports;
  const dir = dirname(filename);
  const m = new Module(filename, parent);
  m.filename = filename;
  // Speed: the module's node_modules paths and a createRequire() for req.resolve are made only
  // when asked for (a hit's modules require builtins and each other): 24 of each cost ~0.45 ms
  // of a hit (measured in a fresh process, 2026-11-25).
  let paths;
  Object.defineProperty(m, 'paths', {
    configurable: true, enumerable: true,
    get() { return paths ??= Module._nodeModulePaths(dir); },
    set(value) { paths = value; },
  });
  let base;
  const baseRequire = () => base ??= Module.createRequire(filename);
  const req = function require(spec) {
    if (spec[0] === '.') {
      const abs = resolve(dir, spec);
      const target = abs.startsWith(distSrc + '/') ? abs.slice(distSrc.length + 1) : '';
      if (target && F[target + '.js']) return instantiate(distSrc, target + '.js', m);
      if (target && F[target + '/index.js']) return instantiate(distSrc, target + '/index.js', m);
    }
    return m.require(spec);
  };
  req.resolve = function resolveFilename(request, options) { return baseRequire().resolve(request, options); };
  req.resolve.paths = function lookupPaths(request) { return baseRequire().resolve.paths(request); };
  req.main = require.main;
  req.extensions = Module._extensions;
  req.cache = Module._cache;
  require.cache[filename] = m;
  try {
    F[rel][2].call(m.exports, m.exports, req, m, filename, dir);
  } catch (err) {
    delete require.cache[filename];
    throw err;
  }
  m.loaded = true;
  return m.exports;
}
module.exports = function load(distSrc, rel) {
  return fresh(distSrc) ? instantiate(distSrc, rel, module) : null;
};
`;

/**
 * asciiSource: every non-ASCII UTF-16 unit as a \uXXXX escape. Why: one non-ASCII character (a
 * "µs" in a comment) makes Node read the whole file as a two-byte string: twice the bytes to
 * decode and keep, and slower scanning for V8 when it compiles a lazy function. Measured: reading
 * the 126 KB bundle 0.32 -> 0.15 ms. The escape means the same character in a string, template
 * (cooked), regular expression or identifier, and nothing in a comment; only a template's raw text
 * would see the backslash: a module with non-ASCII text and String.raw fails the build (dualcgi's
 * modules use no other template tags).
 */
export function asciiSource(text: string): string {
  return text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * MIN_BUNDLE_CHARS: the bundle is padded with a trailing comment to at least this many characters.
 * Why: V8 allocates a string of 128 KiB or more (kMaxRegularHeapObjectSize) in its large-object
 * space, a smaller one in the young generation. A hit reads the bundle's source and V8 flattens it
 * once more with Node's module wrapper: as two one-byte strings of 126 KB they pushed a hello hit
 * past the young generation's first 1 MiB, and the scavenge that followed cost ~0.9 ms. (The
 * two-byte bundle before asciiSource was past 128 KiB by accident.) Measured, marks inside the
 * process of a hello hit, medians of 31: the ASCII source without padding 12.3-12.6 ms, with it
 * 11.4 (the two-byte bundle: 12.0-12.3); bench/README.md, cgi section, "examples/hello".
 */
export const MIN_BUNDLE_CHARS = 130 * 1024;

/** padSource: `text` with a comment line of spaces, if needed, to reach MIN_BUNDLE_CHARS. */
export function padSource(text: string): string {
  const missing = MIN_BUNDLE_CHARS - text.length;
  if (missing <= 0) return text;
  const head = '// padding: see MIN_BUNDLE_CHARS in src/launch/build-cgi-bundle.ts';
  return `${text}${head}${' '.repeat(Math.max(0, missing - head.length - 1))}\n`;
}

/** buildCgiBundle: write dist/src/cgi-bundle.js; returns its path and the modules in it. */
export function buildCgiBundle(distSrc: string): { file: string; modules: string[] } {
  const modules = hitModules(distSrc);
  let text = `'use strict';\n// Generated by src/launch/build-cgi-bundle.ts (npm run build): the modules of a CGI hit. Do not edit.\nconst F = Object.create(null);\n`;
  for (const file of modules) {
    const rel = relative(distSrc, file);
    const source = readFileSync(file, 'utf8');
    // The compile cache leaves modules with dynamic import to Node; the whole bundle must not be one.
    if (callsDynamicImport(source)) throw new Error(`${rel} calls import() (or seems to): keep that out of the CGI path`);
    if (/[^\x00-\x7f]/.test(source) && source.includes('String.raw')) {
      throw new Error(`${rel} has non-ASCII text and String.raw: the bundle's escapes would change its raw text`);
    }
    const st = statSync(file);
    text += `// ---- ${rel}\nF[${JSON.stringify(rel)}] = [${st.size}, ${st.mtimeMs}, function (exports, require, module, __filename, __dirname) {\n${source}\n}];\n`;
  }
  text += LOADER;
  const out = join(distSrc, BUNDLE_NAME);
  writeFileSync(out, padSource(asciiSource(text)));
  return { file: out, modules: modules.map((m) => relative(distSrc, m)) };
}

if (require.main === module) {
  const distSrc = resolve(__dirname, '..');
  const { file, modules } = buildCgiBundle(distSrc);
  process.stdout.write(`${relative(process.cwd(), file)}: ${modules.length} modules of a CGI hit\n`);
}
