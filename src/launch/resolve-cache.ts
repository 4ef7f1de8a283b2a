/**
 * A cache of CommonJS module resolution for CGI hits, kept in the compile cache's blob.
 *
 * Why: with the bytecode cached (launch/compile-cache), most of what is left of loading a big app
 * is finding its files: for every require() Node stats candidate paths, realpaths the result and
 * reads and parses the package.json of every package on the way (for "exports", "main", and for
 * the "type" of each file's package scope). Measured on the bench's Express app (159 modules): a
 * hit 92 -> 75 ms with a prototype of this cache (hyperfine, interleaved); see bench/README.md,
 * cgi suite, "dispatch.cgi (express app)" against "plain node CGI + express".
 *
 * What it answers, from a table written by an earlier hit:
 * - Module._resolveFilename(request, parent): the file for a relative or bare request from the
 *   parent's directory (absolute requests, require.resolve with options, builtins and failures go
 *   to Node every time);
 * - Module._extensions['.js']: for a file the table knows is CommonJS (its package scope has no
 *   "type" or "commonjs"), Node's package-scope lookup is skipped.
 *
 * When the table is trusted: it records the mtime of every directory whose entries could change an
 * answer (from the requiring module's directory up to where the answer was found, the answer's
 * own directories, each file's way up to its package.json) and of every package.json in them
 * (main, exports, imports, name, type). Adding, removing or renaming an entry, or retargeting a
 * symlink, changes its directory's mtime. Every hit stats them all first; one difference and the
 * whole table is ignored (Node resolves everything) and rewritten at exit. The table is also
 * ignored when Node's options that change resolution differ (flags, NODE_OPTIONS, NODE_PATH,
 * HOME's global folders), and it is not installed at all when something else already hooked
 * resolution or loading (a -r preload such as ts-node or a coverage tool: its answers depend on
 * files this table does not know).
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';

/** The parts of node:module's internals this hook uses (not in @types/node). */
export interface ResolverInternals {
  _resolveFilename(request: string, parent: ParentModule | undefined, isMain: boolean, options?: unknown): string;
  _nodeModulePaths(from: string): string[];
  _extensions: Record<string, (module: LoadingModule, filename: string) => void>;
  globalPaths?: string[];
}
interface ParentModule {
  filename?: string | null;
  paths?: string[];
}
interface LoadingModule {
  _compile(content: string, filename: string, format?: string): unknown;
}

/** The table as stored (JSON) under RESOLVE_ENTRY in the blob. */
interface StoredTable {
  v: 1;
  /** key: what else decides resolution (see optionsKey). */
  key: string;
  /** deps: path and mtimeMs (-1: did not exist). */
  deps: Array<[string, number]>;
  /** res: requiring directory, request, resolved file. */
  res: Array<[string, string, string]>;
  /** cjs: a .js file and its package scope's type: "commonjs", or "" for none. */
  cjs: Array<[string, string]>;
}

/** ResolveCacheState: what this process's resolution hook did (tests, the exit writer). */
export interface ResolveCacheState {
  /** trusted: the stored table was found valid. */
  trusted: boolean;
  /** hits: resolutions answered from the table; scopeHits: .js files loaded without a scope lookup. */
  hits: number;
  scopeHits: number;
  /** misses: resolutions Node did itself; scopeMisses: .js files whose scope Node looked up. */
  misses: number;
  scopeMisses: number;
}

interface Resolver {
  state: ResolveCacheState;
  /** table: the table to store (old entries still valid plus what this hit learned), or null if unchanged. */
  table(): Buffer | null;
}

/** optionsKey: the settings besides the files that decide how Node resolves (any change: table ignored). */
function optionsKey(internals: ResolverInternals): string {
  const env = process.env;
  return JSON.stringify([process.execArgv, env['NODE_OPTIONS'] ?? '', env['NODE_PATH'] ?? '', internals.globalPaths ?? []]);
}

const NO_THROW = { throwIfNoEntry: false } as const;

/** mtimeOf: -1 when the path does not exist (a hit checks ~200 of these for an Express app: ~1 ms). */
function mtimeOf(path: string): number {
  try {
    return statSync(path, NO_THROW)?.mtimeMs ?? -1;
  } catch {
    return -1;
  }
}

function parseTable(data: Buffer | undefined, key: string): StoredTable | null {
  if (!data) return null;
  try {
    const t = JSON.parse(data.toString('utf8')) as StoredTable;
    return t.v === 1 && t.key === key && Array.isArray(t.deps) && Array.isArray(t.res) && Array.isArray(t.cjs) ? t : null;
  } catch {
    return null;
  }
}

/** isNodes: is this function still Node's own (not wrapped by a preload)? Judged by what its source calls. */
function isNodes(fn: unknown, marker: string): boolean {
  return typeof fn === 'function' && Function.prototype.toString.call(fn).includes(marker);
}

const isBare = (request: string): boolean => request[0] !== '.' && request[0] !== '/';
const isRelative = (request: string): boolean => request === '.' || request === '..' || request.startsWith('./') || request.startsWith('../');

/** ancestors: dir and its parents, up to and including `stop` when dir is under it, else up to the root. */
function addAncestors(into: Set<string>, dir: string, stop: string | null): void {
  for (let d = dir; ; d = dirname(d)) {
    into.add(d);
    if (d === stop || dirname(d) === d) return;
  }
}

function commonAncestor(a: string, b: string): string {
  let d = a;
  while (!(b === d || b.startsWith(d.endsWith('/') ? d : `${d}/`))) {
    const up = dirname(d);
    if (up === d) return d;
    d = up;
  }
  return d;
}

/**
 * scopeOf: what Node's package-scope lookup would find for a .js file: the nearest package.json
 * on the way up (stopping at a node_modules folder, like Node), its folder, and its "type".
 * undefined: a package.json that cannot be parsed (Node reports it; not cached).
 */
function scopeOf(file: string): { dir: string | null; pkg: string | null; type: string } | undefined {
  for (let d = dirname(file); ; d = dirname(d)) {
    if (d.endsWith('/node_modules')) return { dir: d, pkg: null, type: '' };
    const pkg = `${d}/package.json`;
    let text: string | null = null;
    try {
      text = readFileSync(pkg, 'utf8');
    } catch {
      text = null;
    }
    if (text !== null) {
      try {
        const type = (JSON.parse(text) as { type?: unknown }).type;
        return { dir: d, pkg, type: typeof type === 'string' ? type : '' };
      } catch {
        return undefined;
      }
    }
    if (dirname(d) === d) return { dir: null, pkg: null, type: '' };
  }
}

/**
 * installResolveCache: hook resolution and .js loading for the rest of this process with the
 * stored table (the blob entry's data, if any). null when something else hooked them first.
 */
export function installResolveCache(internals: ResolverInternals, stored: Buffer | undefined): Resolver | null {
  const originalResolve = internals._resolveFilename;
  const originalJs = internals._extensions['.js'];
  if (!isNodes(originalResolve, 'trySelf') || !isNodes(originalJs, 'readPackageScope') || !originalJs) return null;
  const nodeJs = originalJs;
  const key = optionsKey(internals);
  const old = parseTable(stored, key);
  let trusted = old !== null;
  if (old) {
    for (const [path, mtimeMs] of old.deps) {
      if (mtimeOf(path) !== mtimeMs) {
        trusted = false;
        break;
      }
    }
  }
  const answers = new Map<string, string>();
  const scopes = new Map<string, string>();
  if (old && trusted) {
    for (const [dir, request, file] of old.res) answers.set(`${dir}\0${request}`, file);
    for (const [file, type] of old.cjs) scopes.set(file, type);
  }
  const learned = new Map<string, [string, string, string]>();
  const loadedJs = new Set<string>();
  const state: ResolveCacheState = { trusted, hits: 0, scopeHits: 0, misses: 0, scopeMisses: 0 };
  // A folder changed this recently may still be changing (a deploy copying files while this hit
  // runs; mtimes as coarse as 1 s): a table learned now could hold answers older than its mtimes.
  const settledBefore = Date.now() - 2000;

  // A parent whose module.paths the app changed looks elsewhere than its directory says: not cached.
  const dirOf = new WeakMap<object, string | null>();
  const parentDir = (parent: ParentModule): string | null => {
    let dir = dirOf.get(parent);
    if (dir === undefined) {
      dir = parent.filename ? dirname(parent.filename) : null;
      const expected = dir === null ? null : internals._nodeModulePaths(dir);
      const paths = parent.paths;
      if (expected === null || !paths || paths.length !== expected.length || paths.some((p, i) => p !== expected[i])) dir = null;
      dirOf.set(parent, dir);
    }
    return dir;
  };

  internals._resolveFilename = function resolveFilename(request, parent, isMain, options) {
    const dir = options === undefined && parent && !isMain && request[0] !== '/' && !request.startsWith('node:') ? parentDir(parent) : null;
    if (dir === null) return originalResolve.call(this, request, parent, isMain, options);
    const k = `${dir}\0${request}`;
    const hit = answers.get(k);
    if (hit !== undefined) {
      state.hits++;
      return hit;
    }
    const file = originalResolve.call(this, request, parent, isMain, options);
    if (file[0] === '/') {
      state.misses++;
      answers.set(k, file);
      learned.set(k, [dir, request, file]);
    }
    return file;
  };

  internals._extensions['.js'] = function loadJs(module, filename) {
    const type = scopes.get(filename);
    if (type === undefined) {
      if (filename.endsWith('.js') && !loadedJs.has(filename)) {
        loadedJs.add(filename);
        state.scopeMisses++;
      }
      return nodeJs.call(this, module, filename);
    }
    state.scopeHits++;
    module._compile(readFileSync(filename, 'utf8'), filename, type === '' ? undefined : type);
  };

  return {
    state,
    table(): Buffer | null {
      const newJs = [...loadedJs].filter((f) => !scopes.has(f));
      if (trusted && learned.size === 0 && newJs.length === 0) return null;
      const dirs = new Set<string>();
      const files = new Set<string>();
      const res: Array<[string, string, string]> = [];
      for (const [k, file] of answers) {
        const at = k.indexOf('\0');
        const dir = k.slice(0, at);
        const request = k.slice(at + 1);
        res.push([dir, request, file]);
        const meet = commonAncestor(dir, dirname(file));
        addAncestors(dirs, dirname(file), meet);
        addAncestors(dirs, dir, meet);
        if (isRelative(request)) {
          const target = resolvePath(dir, request);
          if (file.startsWith(`${target}/`)) dirs.add(target); // a folder's index.js or "main"
          addAncestors(dirs, dirname(target), commonAncestor(dir, dirname(target)));
        } else if (isBare(request)) {
          // Each node_modules folder looked in on the way up (a symlinked package lives in one),
          // and the requiring module's package scope (self-reference, "#imports").
          for (let d = dir; ; d = dirname(d)) {
            if (!d.endsWith('/node_modules')) dirs.add(d === '/' ? '/node_modules' : `${d}/node_modules`);
            if (d === meet || dirname(d) === d) break;
          }
          const scope = scopeOf(`${dir}/x.js`);
          addAncestors(dirs, dir, scope?.dir ?? null);
        }
      }
      const cjs: Array<[string, string]> = [];
      for (const file of [...scopes.keys(), ...newJs]) {
        const scope = scopeOf(file);
        if (!scope || (scope.type !== '' && scope.type !== 'commonjs')) continue;
        cjs.push([file, scope.type]);
        addAncestors(dirs, dirname(file), scope.dir);
        if (scope.pkg) files.add(scope.pkg);
      }
      for (const d of dirs) files.add(`${d}/package.json`);
      const deps: Array<[string, number]> = [];
      for (const d of dirs) deps.push([d, mtimeOf(d)]);
      // A package.json that does not exist is covered by its folder's mtime.
      for (const f of files) {
        const m = mtimeOf(f);
        if (m !== -1) deps.push([f, m]);
      }
      for (const [, m] of deps) if (m > settledBefore) return null;
      const t: StoredTable = { v: 1, key, deps, res, cjs };
      return Buffer.from(JSON.stringify(t), 'utf8');
    },
  };
}
