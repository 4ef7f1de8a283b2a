/**
 * The boot of a CGI hit with the compile cache on: find and read the blob, compile the CGI bundle
 * from it, and hand both to launch/compile-cache, which comes from the bundle.
 *
 * Why a file of its own: this one and index.js are the only dualcgi files a hit compiles from
 * source, so it holds only what must run before the bundle. The hook, the exit writer and the
 * resolution cache live in the bundle, whose bytecode comes from the blob. Before, the whole
 * compile cache (13 KB) was compiled from source each hit and the bundle went through Node's
 * loader (resolution, package scope, a stat more): measured in instructions, bench/README.md, cgi
 * section, "seventh session".
 *
 * The blob: MAGIC, then per entry: u32 name bytes, name, f64 mtimeMs, u32 source length, u32 data
 * bytes, data (V8 cachedData). One per entry script and Node version, in a folder that must be
 * private (owned by this uid, not writable by group or others), else the cache is off.
 */
import { closeSync, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Script } from 'node:vm';
import type * as CompileCache from './compile-cache';

/** BlobEntry: one module's cache as stored: its file's mtime and source length when it was taken. */
export interface BlobEntry {
  mtimeMs: number;
  length: number;
  data: Buffer;
}

/** LoadedBlob: the blob of this hit as read at its start. */
export interface LoadedBlob {
  file: string;
  /** mtimeMs: the blob's mtime when read (-1: none); the exit writer leaves a blob rewritten since. */
  mtimeMs: number;
  entries: Map<string, BlobEntry>;
}

/** CompiledScript: a module compiled through vm.Script, as the exit writer needs it. */
export interface CompiledScript {
  script: Script;
  mtimeMs: number;
  length: number;
  /** hit: compiled from the blob's bytecode (else from source: the blob is rewritten at exit). */
  hit: boolean;
}

/** BundleLoad: the bundle's export: a module's exports, or null when a bundled file changed. */
export type BundleLoad = (distSrc: string, rel: string) => unknown;

/** MAGIC: the blob's first bytes (launch/compile-cache writes the same; kept apart so that the bundled writer needs no require of this file). */
export const MAGIC = 'DCC1';
/** BUNDLE_NAME: the CGI bundle next to index.js (launch/build-cgi-bundle). */
export const BUNDLE_NAME = 'cgi-bundle.js';

/** fnv1a: a short stable name for the blob of one entry script (not a security measure). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** privateDir: the cache folder, created 0700 if missing; null when it is not ours alone. */
function privateDir(dir: string): string | null {
  try {
    let st = lstatSync(dir, { throwIfNoEntry: false });
    if (!st) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      st = lstatSync(dir);
    }
    const uid = process.getuid?.();
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) return null;
    return dir;
  } catch {
    return null;
  }
}

/** cacheFile: where the blob of this entry script lives, or null when the cache is off. */
export function cacheFile(env: NodeJS.ProcessEnv, scriptPath: string | undefined): string | null {
  const setting = env['DUALCGI_COMPILE_CACHE'];
  if (setting === 'off' || setting === '0') return null;
  const dir = privateDir(setting && setting !== '1' && setting !== 'on'
    ? setting
    : join(env['TMPDIR'] || '/tmp', `dualcgi-compile-cache-${process.getuid?.() ?? 'u'}`));
  if (dir === null) return null;
  return join(dir, `${fnv1a(`${process.version} ${process.arch} ${scriptPath ?? ''}`)}.bin`);
}

/** parseBlob: the entries of a blob's bytes (none when the magic is wrong; a truncated tail is dropped). */
function parseBlob(buf: Buffer): Map<string, BlobEntry> {
  const entries = new Map<string, BlobEntry>();
  if (buf.length < 4 || buf.toString('latin1', 0, 4) !== MAGIC) return entries;
  let o = 4;
  try {
    while (o < buf.length) {
      const nameLen = buf.readUInt32LE(o);
      const name = buf.toString('utf8', o + 4, o + 4 + nameLen);
      o += 4 + nameLen;
      const mtimeMs = buf.readDoubleLE(o);
      const length = buf.readUInt32LE(o + 8);
      const dataLen = buf.readUInt32LE(o + 12);
      o += 16;
      if (o + dataLen > buf.length) break;
      entries.set(name, { mtimeMs, length, data: buf.subarray(o, o + dataLen) });
      o += dataLen;
    }
  } catch {
    // a truncated blob: keep what was read
  }
  return entries;
}

/** loadBlob: the blob's entries and its mtime (one open, fstat and read; empty when missing or unreadable). */
export function loadBlob(file: string): LoadedBlob {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return { file, mtimeMs: -1, entries: new Map() };
  }
  try {
    const mtimeMs = fstatSync(fd).mtimeMs;
    return { file, mtimeMs, entries: parseBlob(readFileSync(fd)) };
  } catch {
    return { file, mtimeMs: -1, entries: new Map() };
  } finally {
    closeSync(fd);
  }
}

/** readBlob: the entries of the blob in `file` (tests, tools). */
export function readBlob(file: string): Map<string, BlobEntry> {
  return loadBlob(file).entries;
}

/** The parts of node:module's Module the boot uses (not in @types/node). */
interface ModuleClass {
  new (id: string, parent?: unknown): BootModule;
  wrap(code: string): string;
  _cache: NodeJS.Dict<unknown>;
}
interface BootModule {
  filename: string;
  exports: unknown;
  loaded: boolean;
  require(id: string): unknown;
}

/**
 * compileBundle: the CGI bundle compiled with its bytecode from the blob and run as a CommonJS
 * module registered under its file name, as require() would; null when it is not built. The
 * bundle requires only builtins, so its require is the module's own. It is not scanned for
 * import() (the compile hook scans other modules): its build refuses a module that calls it.
 */
function compileBundle(distSrc: string, blob: LoadedBlob): { load: BundleLoad; compiled: CompiledScript } | null {
  const filename = `${distSrc}/${BUNDLE_NAME}`;
  let source: string;
  let mtimeMs: number;
  try {
    mtimeMs = statSync(filename).mtimeMs;
    source = readFileSync(filename, 'latin1'); // ASCII by construction (build-cgi-bundle asciiSource)
  } catch {
    return null; // not built (tsc alone): the files
  }
  const Module = module.constructor as unknown as ModuleClass;
  const entry = blob.entries.get(filename);
  const cachedData = entry && entry.mtimeMs === mtimeMs && entry.length === source.length ? entry.data : undefined;
  const script = new Script(Module.wrap(source), { filename, cachedData });
  const m = new Module(filename, module);
  m.filename = filename;
  const req = ((id: string) => m.require(id)) as NodeJS.Require;
  req.cache = Module._cache as NodeJS.Require['cache'];
  req.main = require.main;
  Module._cache[filename] = m;
  const fn = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
  fn.call(m.exports, m.exports, req, m, filename, distSrc);
  m.loaded = true;
  const hit = cachedData !== undefined && script.cachedDataRejected === false;
  return { load: m.exports as BundleLoad, compiled: { script, mtimeMs, length: source.length, hit } };
}

/**
 * bootCgi: install the compile cache (and with it the resolution cache) for this hit, the bundle
 * included when `useBundle`. Returns the bundle's loader, or undefined when the hit must use the
 * files (bundle off, not built, or a bundled file changed). With the cache off (setting, folder
 * not private, source maps on) only the bundle is loaded, through require().
 */
export function bootCgi(distSrc: string, scriptPath: string | undefined, useBundle: boolean,
  env: NodeJS.ProcessEnv = process.env): BundleLoad | undefined {
  // Node's own compile maps stack traces through source maps; a vm.Script would not.
  const file = (process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled ? null : cacheFile(env, scriptPath);
  if (file === null) return useBundle ? requireBundle(distSrc) : undefined;
  const blob = loadBlob(file);
  const bundle = useBundle ? compileBundle(distSrc, blob) : null;
  const fromBundle = bundle?.load(distSrc, 'launch/compile-cache.js') as typeof CompileCache | null | undefined;
  const cache = fromBundle ?? (require('./compile-cache.js') as typeof CompileCache);
  const state = cache.installCompileCache(blob, bundle ? [[`${distSrc}/${BUNDLE_NAME}`, bundle.compiled]] : []);
  // A bundle whose files changed answers null: the hit uses the files (its bytecode is kept).
  const load = fromBundle ? bundle!.load : undefined;
  if (state) cache.attachResolveCache((load?.(distSrc, 'launch/resolve-cache.js') ?? require('./resolve-cache.js')) as Parameters<typeof cache.attachResolveCache>[0]);
  return load;
}

/** requireBundle: the bundle through require(), or undefined when not built. */
function requireBundle(distSrc: string): BundleLoad | undefined {
  try {
    return require(`${distSrc}/${BUNDLE_NAME}`) as BundleLoad;
  } catch {
    return undefined;
  }
}
