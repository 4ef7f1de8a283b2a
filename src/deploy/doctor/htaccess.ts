import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { type DoctorContext, type Finding, pass, problem } from './types';

/** Directive: one .htaccess line split into its name (lower case) and arguments. */
interface Directive {
  name: string;
  args: string[];
}

/** parseHtaccess: directives in order; comments and blank lines dropped, continuation lines joined. */
export function parseHtaccess(text: string): Directive[] {
  const out: Directive[] = [];
  for (const raw of text.replace(/\\\r?\n/g, ' ').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('<')) continue;
    const [name = '', ...args] = line.split(/\s+/);
    out.push({ name: name.toLowerCase(), args });
  }
  return out;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * loopGuard: what keeps the catch-all from rewriting /SCRIPT/... again (Apache's 500
 * "exceeded the limit of 10 internal redirects")? The classic guard rule `RewriteRule
 * ^(dispatch\.fcgi/.*)$ - [L]`; or, on the catch-all itself, the [END] flag, or a condition right
 * before it that a request for the script fails: `%{REQUEST_FILENAME} !-f` (Flask's and Django's
 * recipe: the script is a file) or `%{REQUEST_URI} !...dispatch\.fcgi...`. Each measured behind
 * Apache 2.4 + mod_fcgid (test/e2e/deploy.test.ts).
 */
function loopGuard(directives: Directive[], script: string, catchAll: number): 'rule' | 'end' | 'not-a-file' | 'uri' | null {
  const escaped = script.replace('.', '\\.');
  if (directives.some((d) => d.name === 'rewriterule' && (d.args[0] ?? '').includes(escaped) && d.args[1] === '-')) return 'rule';
  if (catchAll === -1) return null;
  if (/^\[(.*,)?end(,.*)?\]$/i.test(directives[catchAll]!.args[2] ?? '')) return 'end';
  const conditions: string[][] = [];
  for (let i = catchAll - 1; i >= 0 && directives[i]!.name === 'rewritecond'; i--) conditions.push(directives[i]!.args);
  // With [OR] another condition can let the script's own URL through: no verdict from conditions.
  if (conditions.some((args) => /^\[.*\bOR\b.*\]$/i.test(args[2] ?? ''))) return null;
  if (conditions.some(([test = '', pattern = '']) => /^%\{REQUEST_FILENAME\}$/i.test(test) && pattern === '!-f')) return 'not-a-file';
  return conditions.some(([test = '', pattern = '']) => /^%\{REQUEST_URI\}$/i.test(test) && pattern.startsWith('!')
    && (pattern.includes(escaped) || pattern.includes(script))) ? 'uri' : null;
}

/**
 * exposedFiles: under `RewriteCond %{REQUEST_FILENAME} !-f` Apache serves every existing file of
 * the folder as it is (measured: GET /app.js sent the app's source): what, besides the script,
 * the .htaccess and static/, would go out that way.
 */
function exposedFiles(dir: string, script: string): string[] {
  try {
    return readdirSync(dir).filter((name) => name !== script && name !== 'static' && !name.startsWith('.ht')).sort();
  } catch {
    return [];
  }
}

/**
 * checkHtaccess: the classic rules (the seed's), one finding each: ExecCGI, the handler for the
 * script's extension, RewriteEngine, the guard rule for the script itself, the catch-all rewrite
 * to it, and CGIPassAuth (else Apache drops Authorization, FIELD-NOTES "Requests").
 */
export function checkHtaccess(ctx: DoctorContext): Finding[] {
  const file = join(ctx.dir, '.htaccess');
  const script = basename(ctx.script);
  const fcgi = script.endsWith('.fcgi');
  let directives: Directive[];
  try {
    directives = parseHtaccess(readFileSync(file, 'utf8'));
  } catch {
    return [problem('DOCTOR_HTACCESS', `no ${file}: Apache will not send requests to ${script}`,
      `dualcgi init --server ${fcgi ? 'apache-fcgid' : 'apache-cgi'} ${ctx.dir}`)];
  }
  const has = (name: string, test: (args: string[]) => boolean): boolean =>
    directives.some((d) => d.name === name && test(d.args));
  const findings: Finding[] = [pass('DOCTOR_HTACCESS', `${file} found`)];
  const ext = fcgi ? '.fcgi' : '.cgi';
  const handlers = fcgi ? ['fcgid-script', 'fastcgi-script'] : ['cgi-script'];
  const check = (code: string, ok: boolean, good: string, bad: string, fix: string): void => {
    findings.push(ok ? pass(code, good) : problem(code, bad, fix));
  };
  check('DOCTOR_HTACCESS_EXECCGI', has('options', (a) => a.some((x) => /^\+?execcgi$/i.test(x))),
    'Options +ExecCGI', `.htaccess has no "Options +ExecCGI": Apache refuses to run ${script} (403)`,
    'add the line: Options +ExecCGI');
  check('DOCTOR_HTACCESS_HANDLER',
    has('addhandler', (a) => handlers.includes((a[0] ?? '').toLowerCase()) && a.slice(1).some((e) => e === ext || e === ext.slice(1)))
      || has('sethandler', (a) => handlers.includes((a[0] ?? '').toLowerCase())),
    `handler for ${ext}`, `.htaccess maps no handler to ${ext}: Apache serves ${script} as a file or 404s (mod_fcgid not loaded looks the same)`,
    `add the line: AddHandler ${handlers[0]} ${ext}`);
  const catchAll = directives.findIndex((d) => d.name === 'rewriterule' && new RegExp(`^/?${escapeRe(script)}/\\$1$`).test(d.args[1] ?? ''));
  check('DOCTOR_HTACCESS_REWRITE', has('rewriteengine', (a) => (a[0] ?? '').toLowerCase() === 'on') && catchAll !== -1,
    `rewrites to ${script}`, `.htaccess does not send requests to ${script} (RewriteEngine On + RewriteRule ^(.*)$ ${script}/$1 [L,B=%?#])`,
    `add: RewriteEngine On, then RewriteRule ^(.*)$ ${script}/$1 [L,B=%?#]`);
  const guard = loopGuard(directives, script, catchAll);
  check('DOCTOR_HTACCESS_GUARD', guard !== null,
    'guard rule for the script itself', `.htaccess has no guard rule for ${script}/...: the catch-all rewrites it again (500 "exceeded the limit of 10 internal redirects")`,
    `add before the catch-all: RewriteRule ^(${script.replace('.', '\\.')}/.*)$ - [L]`);
  const exposed = guard === 'not-a-file' ? exposedFiles(ctx.dir, script) : [];
  if (exposed.length > 0) {
    const shown = `${exposed.slice(0, 4).join(', ')}${exposed.length > 4 ? ', ...' : ''}`;
    findings.push(problem('DOCTOR_HTACCESS_EXPOSED', `with RewriteCond %{REQUEST_FILENAME} !-f Apache sends every file here as it is (${shown}): ` +
      'the app\'s source and secrets to anyone who asks', `replace the condition with the guard rule RewriteRule ^(${script.replace('.', '\\.')}/.*)$ - [L] ` +
      '(files to serve go in static/), or keep the app out of the docroot'));
  }
  check('DOCTOR_AUTH', has('cgipassauth', (a) => (a[0] ?? '').toLowerCase() === 'on'),
    'CGIPassAuth On', 'Authorization is not passed: Apache drops the header before CGI/FastCGI apps',
    'add the line: CGIPassAuth On (Apache 2.4.13+, needs AllowOverride AuthConfig)');
  return findings;
}
