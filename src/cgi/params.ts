import type { NameValuePair } from '../protocol/pairs';

/**
 * Params: the CGI meta-variables of one request (RFC 3875 section 4.1), whichever transport brought
 * them: the process environment in CGI mode, the PARAMS stream in FastCGI mode. Values are latin-1
 * strings of the bytes the server sent. A duplicate name: the last one wins (nginx sends SCRIPT_NAME
 * twice when a config overrides the stock fastcgi_params).
 */
export type Params = Map<string, string>;

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
 */
export function paramsFromEnv(env: NodeJS.ProcessEnv): Params {
  const params: Params = new Map();
  for (const name of Object.keys(env)) {
    const value = env[name];
    if (value === undefined) continue;
    params.set(name, isAscii(value) ? value : Buffer.from(value, 'utf8').toString('latin1'));
  }
  return params;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
