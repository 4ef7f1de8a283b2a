import { readFileSync } from 'node:fs';
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
  check('DOCTOR_HTACCESS_REWRITE', has('rewriteengine', (a) => (a[0] ?? '').toLowerCase() === 'on')
      && has('rewriterule', (a) => new RegExp(`^/?${escapeRe(script)}/\\$1$`).test(a[1] ?? '')),
    `rewrites to ${script}`, `.htaccess does not send requests to ${script} (RewriteEngine On + RewriteRule ^(.*)$ ${script}/$1 [L])`,
    `add: RewriteEngine On, then RewriteRule ^(.*)$ ${script}/$1 [L]`);
  check('DOCTOR_HTACCESS_GUARD', has('rewriterule', (a) => (a[0] ?? '').includes(script.replace('.', '\\.')) && a[1] === '-'),
    'guard rule for the script itself', `.htaccess has no guard rule for ${script}/...: the catch-all rewrites it again (500 "exceeded the limit of 10 internal redirects")`,
    `add before the catch-all: RewriteRule ^(${script.replace('.', '\\.')}/.*)$ - [L]`);
  check('DOCTOR_AUTH', has('cgipassauth', (a) => (a[0] ?? '').toLowerCase() === 'on'),
    'CGIPassAuth On', 'Authorization is not passed: Apache drops the header before CGI/FastCGI apps',
    'add the line: CGIPassAuth On (Apache 2.4.13+, needs AllowOverride AuthConfig)');
  return findings;
}
