import { posix } from 'node:path';

/** RewriteRule: one `RewriteRule PATTERN TARGET [FLAGS]` of the .htaccess, as dev applies it. */
export interface RewriteRule {
  pattern: RegExp;
  /** target: "-" (no rewrite), or the script's name followed by `/$1`. */
  target: string;
}

/** FrontRules: what dev emulates of Apache's per-folder rewriting. */
export interface FrontRules {
  rules: RewriteRule[];
  /** script: the file everything is rewritten to (dispatch.fcgi). */
  script: string;
  /** ignored: .htaccess lines dev does not emulate (shown once at start). */
  ignored: string[];
}

/** classicRules: the .htaccess `dualcgi init` writes (the seed's rules plus the static passthrough). */
export function classicRules(script = 'dispatch.fcgi'): FrontRules {
  const escaped = script.replace('.', '\\.');
  return {
    script,
    ignored: [],
    rules: [
      { pattern: /^(static\/.*)$/, target: '-' },
      { pattern: new RegExp(`^(${escaped}/.*)$`), target: '-' },
      { pattern: /^(.*)$/, target: `${script}/$1` },
    ],
  };
}

/** Directives that change nothing dev emulates. */
const HARMLESS = /^(options|addhandler|sethandler|cgipassauth|rewriteengine|directoryindex)$/i;

/**
 * parseRules: the RewriteRule lines of an .htaccess (mod_rewrite patterns are PCRE; the simple ones
 * used here read the same as JavaScript regular expressions). Null when it rewrites to no script.
 */
export function parseRules(text: string): FrontRules | null {
  const rules: RewriteRule[] = [];
  const ignored: string[] = [];
  let script: string | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [name = '', pattern, target] = line.split(/\s+/);
    if (name.toLowerCase() !== 'rewriterule' || pattern === undefined || target === undefined) {
      if (!HARMLESS.test(name)) ignored.push(line);
      continue;
    }
    let re: RegExp;
    try {
      re = new RegExp(pattern.startsWith('!') ? '(?!)' : pattern);
    } catch {
      ignored.push(line);
      continue;
    }
    rules.push({ pattern: re, target });
    const m = /^([^/$]+)\/\$1$/.exec(target);
    if (m) script = m[1]!;
  }
  return script ? { rules, script, ignored } : null;
}

/** Routed: a static file (by URL path) or the script (with the request's own URI). */
export type Routed = { kind: 'file'; path: string } | { kind: 'script' };

/**
 * route: what Apache does with a URL path under these rules. In a per-folder context the pattern
 * sees the decoded path without its leading slash; the first matching rule wins ([L]); "-" keeps
 * the URL (a static file, or the script named in the URL itself).
 */
export function route(rules: FrontRules, decodedPath: string): Routed {
  const rel = decodedPath.replace(/^\/+/, '');
  for (const rule of rules.rules) {
    if (!rule.pattern.test(rel)) continue;
    if (rule.target !== '-') return { kind: 'script' };
    break;
  }
  const first = rel.split('/')[0];
  if (first === rules.script) return { kind: 'script' };
  return { kind: 'file', path: posix.normalize(`/${rel}`) };
}
