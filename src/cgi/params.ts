import { readFileSync } from 'node:fs';
import type { NameValuePair } from '../protocol/pairs';

/**
 * Params: the CGI meta-variables of one request (RFC 3875 section 4.1), whichever transport brought
 * them: the process environment in CGI mode, the PARAMS stream in FastCGI mode. Values are latin-1
 * strings of the bytes the server sent. A duplicate name: the last one wins (nginx sends SCRIPT_NAME
 * twice when a config overrides the stock fastcgi_params).
 */
export type Params = Map<string, string>;

/**
 * ParamLookup: what reading params needs (a Params map is one). A FastCGI request hands its params
 * to the request mapping in this form, without building the Map (fastcgi/param-list.ts says why).
 */
export interface ParamLookup {
  get(name: string): string | undefined;
  /** forEach: each name once, in first-seen order, with its last value (Map semantics). */
  forEach(fn: (value: string, name: string) => void): void;
}

/** paramsFromPairs: FastCGI PARAMS pairs to Params; later duplicates replace earlier ones. */
export function paramsFromPairs(pairs: readonly NameValuePair[]): Params {
  const params: Params = new Map();
  for (const [name, value] of pairs) params.set(name, value);
  return params;
}

/**
 * paramsFromEnv: CGI mode's environment to Params. Node decodes the environment as UTF-8; the
 * FastCGI side decodes bytes as latin-1. Re-encoding here makes both transports hand the same
 * strings to the shared mapping (a UTF-8 path arrives as the same latin-1 string either way).
 * Bytes that are not UTF-8 (a request for /%FF) do not survive process.env; `raw`, the environment
 * as the kernel holds it (readRawEnviron, or that function to call only when needed), supplies
 * them where it agrees with process.env.
 */
export function paramsFromEnv(env: NodeJS.ProcessEnv, raw?: Map<string, string> | (() => Map<string, string> | undefined)): Params {
  const params: Params = new Map();
  // raw may be a function: /proc/self/environ is read only if some value is not ASCII (rare).
  let rawMap: Map<string, string> | undefined | null = typeof raw === 'function' ? null : raw;
  for (const name of Object.keys(env)) {
    const value = env[name];
    if (value === undefined) continue;
    if (isAscii(value)) {
      params.set(name, value);
      continue;
    }
    const bytes = Buffer.from(value, 'utf8').toString('latin1');
    if (rawMap === null) rawMap = (raw as () => Map<string, string> | undefined)();
    const original = rawMap?.get(name);
    // Take the kernel's bytes only if they are what process.env decoded (it may have been changed since).
    const useRaw = original !== undefined && original !== bytes && Buffer.from(original, 'latin1').toString('utf8') === value;
    params.set(name, useRaw ? original : bytes);
  }
  return params;
}

/**
 * readRawEnviron: this process's initial environment as latin-1 strings of its exact bytes
 * (/proc/self/environ, Linux), or undefined where there is none.
 */
export function readRawEnviron(): Map<string, string> | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync('/proc/self/environ');
  } catch {
    return undefined;
  }
  const raw = new Map<string, string>();
  for (const entry of buf.toString('latin1').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) raw.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return raw;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
