import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { checkHtaccess } from './htaccess';
import { checkCgi, checkFastCGI, checkLoad } from './requests';
import { checkScript } from './script';
import type { DoctorContext, Finding } from './types';
import { lookupUser } from './users';

export type { DoctorContext, Finding } from './types';

/** DoctorInput: the command line before normalising. */
export interface DoctorInput {
  target: string;
  server?: 'apache' | 'other';
  user?: string;
  path?: string;
  timeoutMs?: number;
}

/** findScript: DIR/dispatch.fcgi, else DIR/dispatch.cgi; a file is the script itself. */
export function findScript(target: string): string | null {
  const abs = resolve(target);
  if (!existsSync(abs)) return null;
  if (!statSync(abs).isDirectory()) return abs;
  for (const name of ['dispatch.fcgi', 'dispatch.cgi']) if (existsSync(join(abs, name))) return join(abs, name);
  return null;
}

/** createContext: null when there is no script to check. */
export function createContext(input: DoctorInput): DoctorContext | null {
  const script = findScript(input.target);
  if (!script) return null;
  return {
    script,
    dir: dirname(script),
    server: input.server ?? 'apache',
    user: lookupUser(input.user ?? 'www-data'),
    path: input.path ?? '/',
    timeoutMs: input.timeoutMs ?? 15_000,
  };
}

/**
 * runDoctor: every check, in the order a failure would show: the file, the .htaccess, the app
 * loading, then real requests (CGI, FastCGI on fd 0, mount point). Requests are skipped when the
 * script cannot run at all, so one cause gives one line.
 */
export async function runDoctor(ctx: DoctorContext): Promise<Finding[]> {
  const { findings, runnable } = checkScript(ctx);
  if (ctx.server === 'apache') findings.push(...checkHtaccess(ctx));
  if (!runnable) {
    findings.push({ code: 'DOCTOR_SKIPPED', ok: true, message: `no synthetic requests: ${basename(ctx.script)} cannot be started until the above is fixed` });
    return findings;
  }
  const load = await checkLoad(ctx);
  findings.push(...load);
  if (load.some((f) => f.code === 'DOCTOR_LOAD' && !f.ok)) return findings;
  findings.push(...await checkCgi(ctx));
  findings.push(...await checkFastCGI(ctx));
  return findings;
}

/** formatFindings: problems one line each (with the fix), then a summary; passes with `verbose`. */
export function formatFindings(findings: Finding[], verbose: boolean): string {
  const lines: string[] = [];
  for (const f of findings) {
    if (f.code === 'DOCTOR_SKIPPED') {
      lines.push(`skipped  ${f.message}`);
      continue;
    }
    if (f.ok) {
      if (verbose) lines.push(`ok       ${f.message}`);
      continue;
    }
    lines.push(`problem  ${f.message}; fix: ${f.fix} [${f.code}]`);
    if (f.detail) lines.push(f.detail);
  }
  // The skipped line is not a check: it neither passed nor failed.
  const checks = findings.filter((f) => f.code !== 'DOCTOR_SKIPPED');
  const bad = checks.filter((f) => !f.ok).length;
  lines.push(bad === 0 ? `all ${checks.length} checks passed` : `${bad} problem(s), ${checks.length - bad} check(s) passed`);
  return `${lines.join('\n')}\n`;
}
