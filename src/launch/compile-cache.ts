/**
 * A V8 code cache for the CommonJS modules of a CGI hit (dualcgi's own, the app's, node_modules).
 *
 * Why: a CGI hit is a fresh process per request, and Node 20 has no module.enableCompileCache
 * (22.1+). Without a cache every hit parses and compiles the same files again; with it V8
 * deserializes bytecode, including the functions compiled lazily during the last uncached hit
 * (the cache is taken at exit, after the request ran). Measured in the bench/ cgi suite:
 * "dispatch.cgi (express app)" against "plain node CGI + express" (see bench/README.md).
 *
 * How: launch/cgi-boot reads the blob (one per entry script and Node version: one read per hit)
 * and compiles the CGI bundle from it; this module, from the bundle, hooks
 * Module.prototype._compile so that every other CommonJS module compiles through vm.Script with
 * `cachedData` from the same blob. A module whose cache was missing or rejected marks the blob
 * dirty; at exit the blob is rewritten (temp file + rename) with every script of this run plus the
 * entries of modules it did not load whose files are unchanged, unless another hit rewrote it
 * meanwhile or is writing it now (no thundering herd of rewrites under load).
 *
 * Safety: bytecode in the cache runs as the app, so the folder must be private: owned by this uid,
 * not writable by group or others (else the cache is off: cgi-boot). V8 checks only the source
 * length, so each entry also records the file's mtime and length, compared on use. Modules that
 * call dynamic import() (they need a callback a plain vm.Script cannot give without an
 * experimental flag or warning) and ES modules go through Node's own compile, uncached.
 *
 * DUALCGI_COMPILE_CACHE: off disables it; a path puts the cache there. Default:
 * $TMPDIR (or /tmp)/dualcgi-compile-cache-<uid>.
 */
import { closeSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { Script } from 'node:vm';
import type { BlobEntry as Entry, CompiledScript, LoadedBlob } from './cgi-boot';
import type * as ResolveCache from './resolve-cache';

/** The parts of node:module's internals the hook uses (not in @types/node). */
interface CjsModule {
  filename: string;
  paths?: string[];
  exports: unknown;
  require(id: string): unknown;
}
type Compile = (this: CjsModule, content: string, filename: string, format?: string) => unknown;
interface ModuleInternals extends ResolveCache.ResolverInternals {
  prototype: { _compile: Compile };
  wrap(code: string): string;
  _resolveLookupPaths(request: string, parent: CjsModule): string[] | null;
  _cache: NodeJS.Dict<NodeJS.Module>;
}

/** MAGIC: the blob's first bytes, as launch/cgi-boot reads them. */
const MAGIC = 'DCC1';
/** RESOLVE_ENTRY: the blob entry holding launch/resolve-cache's table (a NUL byte: never a file name). */
export const RESOLVE_ENTRY = '\0resolve';
const DYNAMIC_IMPORT = /\bimport\s*\(/g;

/**
 * callsDynamicImport: does the source (maybe) call import()? Matches in comments (JSDoc
 * `@type {import('./x')}`, common in node_modules: a comment line, or after an unclosed \/* on the
 * same line) do not count; any other match does, so a doubt costs only the cache of that module.
 */
export function callsDynamicImport(source: string): boolean {
  DYNAMIC_IMPORT.lastIndex = 0;
  for (let m = DYNAMIC_IMPORT.exec(source); m !== null; m = DYNAMIC_IMPORT.exec(source)) {
    const lineStart = source.lastIndexOf('\n', m.index) + 1;
    const head = source.slice(lineStart, m.index);
    const trimmed = head.trimStart();
    const comment = trimmed.startsWith('*') || trimmed.startsWith('//') || head.lastIndexOf('/*') > head.lastIndexOf('*/');
    if (!comment) return true;
  }
  return false;
}

/** CompileCacheState: what a process's hook did, for tests and the exit writer. */
export interface CompileCacheState {
  file: string;
  /** hits: modules compiled from the cache; misses: compiled from source (cache missing, stale or rejected). */
  hits: number;
  misses: number;
  /** skipped: modules left to Node (ESM, dynamic import, syntax Node handles itself). */
  skipped: number;
  /** resolve: the resolution cache kept in the same blob (launch/resolve-cache), null when not installed. */
  resolve: ResolveCache.ResolveCacheState | null;
}

let state: CompileCacheState | null = null;
/** attach: set while the hook is installed; hands the blob's table to launch/resolve-cache. */
let attach: ((mod: typeof ResolveCache) => void) | null = null;

function encodeBlob(entries: Map<string, Entry>): Buffer {
  const parts: Buffer[] = [Buffer.from(MAGIC, 'latin1')];
  for (const [name, e] of entries) {
    const nameBuf = Buffer.from(name, 'utf8');
    const head = Buffer.alloc(4 + nameBuf.length + 16);
    head.writeUInt32LE(nameBuf.length, 0);
    nameBuf.copy(head, 4);
    head.writeDoubleLE(e.mtimeMs, 4 + nameBuf.length);
    head.writeUInt32LE(e.length, 12 + nameBuf.length);
    head.writeUInt32LE(e.data.length, 16 + nameBuf.length);
    parts.push(head, e.data);
  }
  return Buffer.concat(parts);
}

const STALE_LOCK_MS = 30_000;

/**
 * writeBlob: whole or not at all (temp file + rename). Many hits that missed at once (a cold cache
 * under load, or a file just edited) would all rewrite it: the temp file, created exclusively, is
 * also a lock, so one writes and the others skip (a lock left by a killed process is removed after
 * 30 s). `build` runs only for the writer (createCachedData is not free). A writer then keeps the
 * folder bounded (launch/cache-prune, at most once an hour).
 */
function writeBlob(file: string, build: () => Map<string, Entry>): void {
  const tmp = `${file}.tmp`;
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o600);
  } catch {
    try {
      if (Date.now() - statSync(tmp).mtimeMs > STALE_LOCK_MS) unlinkSync(tmp);
    } catch {
      // gone meanwhile
    }
    return;
  }
  try {
    try {
      writeSync(fd, encodeBlob(build()));
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    // Blobs of scripts that moved stay behind: the writer tidies the folder now and then.
    (require('./cache-prune') as typeof import('./cache-prune')).maybePrune(dirname(file));
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing to clean up
    }
  }
}

/**
 * installCompileCache: hook CommonJS compilation for the rest of this process (idempotent), with
 * the blob launch/cgi-boot read. `preloaded`: modules the boot compiled itself (the CGI bundle),
 * counted and kept like the hook's own. Returns the state.
 */
export function installCompileCache(blob: LoadedBlob, preloaded: Array<[string, CompiledScript]> = []): CompileCacheState {
  if (state) return state;
  const { file, mtimeMs: blobMtime, entries: old } = blob;
  // module.constructor is node:module's Module; requiring node:module itself would also load the
  // ESM loader's modules, which a CGI hit of a CommonJS app never needs.
  const internals = module.constructor as unknown as ModuleInternals;
  const original = internals.prototype._compile;
  const scripts = new Map<string, CompiledScript>(preloaded);
  const st: CompileCacheState = { file, hits: 0, misses: 0, skipped: 0, resolve: null };
  for (const [, s] of preloaded) {
    if (s.hit) st.hits++;
    else st.misses++;
  }
  state = st;

  internals.prototype._compile = function compile(this: CjsModule, content: string, filename: string, format?: string): unknown {
    if ((format !== undefined && format !== 'commonjs') || callsDynamicImport(content)) {
      st.skipped++;
      return original.call(this, content, filename, format);
    }
    let mtimeMs: number;
    try {
      mtimeMs = statSync(filename).mtimeMs;
    } catch {
      st.skipped++;
      return original.call(this, content, filename, format);
    }
    const entry = old.get(filename);
    const cachedData = entry && entry.mtimeMs === mtimeMs && entry.length === content.length ? entry.data : undefined;
    let script: Script;
    try {
      script = new Script(internals.wrap(content), { filename, cachedData });
    } catch {
      // ESM syntax in a .js file (Node detects and retries as ESM) or a real SyntaxError: Node reports it.
      st.skipped++;
      return original.call(this, content, filename, format);
    }
    const hit = cachedData !== undefined && script.cachedDataRejected === false;
    if (hit) st.hits++;
    else st.misses++;
    scripts.set(filename, { script, mtimeMs, length: content.length, hit });
    const fn = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    const mod = this;
    // What Node's makeRequireFunction gives a module.
    const req = ((id: string) => mod.require(id)) as NodeJS.Require;
    const resolve = ((request: string, options?: { paths?: string[] }) => internals._resolveFilename(request, mod, false, options)) as NodeJS.RequireResolve;
    resolve.paths = (request: string) => internals._resolveLookupPaths(request, mod);
    req.resolve = resolve;
    req.main = require.main;
    req.extensions = internals._extensions as unknown as NodeJS.RequireExtensions;
    req.cache = internals._cache;
    return fn.call(mod.exports, mod.exports, req, mod, filename, dirname(filename));
  };

  let resolver: ReturnType<typeof ResolveCache.installResolveCache> = null;
  attach = (mod) => {
    attach = null;
    resolver = mod.installResolveCache(internals, old.get(RESOLVE_ENTRY)?.data);
    st.resolve = resolver?.state ?? null;
  };

  process.once('exit', () => {
    const table = resolver?.table() ?? null;
    if (st.misses === 0 && table === null) return;
    // Another hit rewrote the blob since this one read it: leave it (it has what this one missed, or
    // the next hit will add it).
    if ((statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? -1) !== blobMtime) return;
    writeBlob(file, () => {
      // Modules this hit did not load keep their entries (another route of the app needs them),
      // unless their file is gone or has changed since: without this the blob would only grow,
      // with every removed or rewritten module, and every hit reads all of it.
      const entries = new Map<string, Entry>();
      for (const [name, e] of old) {
        if (scripts.has(name) || name === RESOLVE_ENTRY) continue;
        if (statSync(name, { throwIfNoEntry: false })?.mtimeMs === e.mtimeMs) entries.set(name, e);
      }
      for (const [name, s] of scripts) {
        // Only the resolution table changed: the bytecode read at start is still what V8 accepted.
        const prev = old.get(name);
        if (st.misses === 0 && s.hit && prev) {
          entries.set(name, prev);
          continue;
        }
        try {
          entries.set(name, { mtimeMs: s.mtimeMs, length: s.length, data: s.script.createCachedData() });
        } catch {
          entries.delete(name);
        }
      }
      const keep = table ?? old.get(RESOLVE_ENTRY)?.data;
      if (keep) entries.set(RESOLVE_ENTRY, { mtimeMs: 0, length: 0, data: keep });
      return entries;
    });
  });
  return st;
}

/**
 * attachResolveCache: start launch/resolve-cache with the table in this process's blob (once, and
 * only with the cache installed). index.ts passes the module from the CGI bundle (its bytecode
 * comes with the bundle's: a separate file cost ~0.7 ms of a hit).
 */
export function attachResolveCache(mod: typeof ResolveCache): void {
  attach?.(mod);
}

/** compileCacheState: this process's hook, or null when none was installed. */
export function compileCacheState(): CompileCacheState | null {
  return state;
}
