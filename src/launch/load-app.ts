import { readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as ImportEsm from './import-esm';
import type { NodeListener } from '../handlers/node';

/** FetchApp: an object with `fetch(request, env)` (Hono and other WinterCG-style apps); env: handlers/fetch FetchEnv. */
export interface FetchApp {
  fetch(request: Request, ...rest: unknown[]): Response | Promise<Response>;
}

/** LoadedApp: what an app module turned out to be. */
export type LoadedApp =
  | { kind: 'node'; listener: NodeListener }
  | { kind: 'fetch'; app: FetchApp };

/** AppLoadError: the app module cannot be loaded or has no usable export. code: APP_ERR_*. */
export class AppLoadError extends Error {
  readonly code: 'APP_ERR_LOAD' | 'APP_ERR_EXPORT';

  constructor(code: 'APP_ERR_LOAD' | 'APP_ERR_EXPORT', message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'AppLoadError';
    this.code = code;
  }
}

const EXPECTED = 'expected a (req, res) listener, an object with fetch(request), or a zero-argument factory returning one';

/** isFetchApp: has a callable `fetch`. */
function isFetchApp(value: unknown): value is FetchApp {
  return typeof value === 'object' && value !== null && typeof (value as { fetch?: unknown }).fetch === 'function';
}

/**
 * classify: the export's shape decides (DESIGN "The app"): a function of 2+ parameters is a
 * listener (Express apps have 3); a function of none is a factory, run once per process; an
 * object with fetch() is a fetch app.
 */
async function classify(value: unknown, where: string, viaFactory: boolean): Promise<LoadedApp> {
  if (isFetchApp(value)) return { kind: 'fetch', app: value };
  if (typeof value === 'function') {
    if (value.length >= 2) return { kind: 'node', listener: value as NodeListener };
    if (value.length === 0 && !viaFactory) {
      const made: unknown = await (value as () => unknown)();
      return classify(made, `${where} (factory result)`, true);
    }
    throw new AppLoadError('APP_ERR_EXPORT',
      `${where} is a function of ${value.length} parameter(s): ${EXPECTED}`);
  }
  throw new AppLoadError('APP_ERR_EXPORT', `${where} is ${value === null ? 'null' : typeof value}: ${EXPECTED}`);
}

/** unwrapDefault: `export default` from ESM, or a transpiled CJS module's `exports.default`. */
function unwrapDefault(ns: Record<string, unknown>): unknown {
  let value: unknown = 'default' in ns ? ns['default'] : ns;
  if (typeof value === 'object' && value !== null && !isFetchApp(value) && 'default' in value) {
    value = (value as { default: unknown }).default;
  }
  return value;
}

/**
 * isCommonJs: would Node load this file as CommonJS? `.cjs` yes, `.mjs` no; anything else follows
 * the `type` of the nearest package.json (no package.json, or no `type`: CommonJS).
 */
export function isCommonJs(file: string): boolean {
  const ext = extname(file);
  if (ext === '.cjs') return true;
  if (ext === '.mjs') return false;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    let text: string | undefined;
    try {
      text = readFileSync(join(dir, 'package.json'), 'utf8');
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      try {
        return (JSON.parse(text) as { type?: unknown }).type !== 'module';
      } catch {
        return true; // Node itself fails on a broken package.json; require() reports it
      }
    }
    if (dirname(dir) === dir) return true;
  }
}

/**
 * importModule: a CommonJS app is require()d, an ES module goes through the ESM loader. Speed: the
 * ESM loader, even for a CommonJS file, starts (about 15 internal modules plus the cjs-module-lexer
 * parse of the app) which a CGI hit pays on every request; require() skips all that (bench/ cgi
 * suite, "dispatch.cgi (examples/hello)"; see bench/README.md).
 */
function importModule(file: string): Promise<Record<string, unknown>> {
  if (isCommonJs(file)) {
    try {
      // Shaped as the ESM loader's namespace of a CommonJS module, so unwrapDefault treats both alike.
      return Promise.resolve({ default: require(file) as unknown });
    } catch (err) {
      // An ESM-syntax .js in a CommonJS scope, on a Node without require(esm): the ESM loader takes it.
      if ((err as { code?: unknown }).code !== 'ERR_REQUIRE_ESM') return Promise.reject(err);
    }
  }
  return (require('./import-esm') as typeof ImportEsm).importEsm(pathToFileURL(file).href);
}

/**
 * loadApp: load an app module (CommonJS or ESM, by path) and classify its export. Relative paths
 * resolve against `base` (the entry script's folder), since a web server's cwd is not the app's.
 */
export async function loadApp(path: string, base = process.cwd()): Promise<LoadedApp> {
  const file = isAbsolute(path) ? path : resolve(base, path);
  let ns: Record<string, unknown>;
  try {
    ns = await importModule(file);
  } catch (err) {
    const e = err as Error;
    throw new AppLoadError('APP_ERR_LOAD', `cannot load app ${file}: ${e.message}`, err);
  }
  return classify(unwrapDefault(ns), `the export of ${file}`, false);
}

/** fromValue: an app given as a value (dispatch({ app: listener })) instead of a path. */
export function appFromValue(value: unknown): Promise<LoadedApp> {
  return classify(value, 'the app option', false);
}
