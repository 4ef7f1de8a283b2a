import { writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { guardStdout } from '../../cgi/stdout-guard';
import { resolveApp } from '../../launch/app-server';
import type { DispatchOptions } from '../../launch/dispatch';

/** PROBE_ENV: set to "load" by `dualcgi doctor`: the entry script loads its app, reports, exits. */
export const PROBE_ENV = 'DUALCGI_DOCTOR';
/** PROBE_MARK: prefixes the report line on stderr (the app may print anything around it). */
export const PROBE_MARK = 'DUALCGI_DOCTOR_REPORT ';

/** ProbeReport: what the load probe found. */
export interface ProbeReport {
  ok: boolean;
  code?: string;
  message?: string;
  stack?: string;
}

/**
 * runLoadProbe: inside the entry script, started by `dualcgi doctor` with DUALCGI_DOCTOR=load:
 * load the app exactly as dispatch() would, with stdout guarded as in CGI mode, so whatever still
 * reaches the real fd 1 is what would corrupt a CGI response head. Reports on stderr and exits.
 */
export async function runLoadProbe(options: DispatchOptions, scriptPath: string | undefined): Promise<never> {
  guardStdout();
  const base = scriptPath ? dirname(scriptPath) : process.cwd();
  let report: ProbeReport;
  try {
    await resolveApp(options, base);
    report = { ok: true };
  } catch (err) {
    const e = err as Error & { code?: unknown };
    const cause = e.cause instanceof Error ? e.cause : e;
    report = { ok: false, message: e.message, ...(typeof e.code === 'string' ? { code: e.code } : {}), ...(cause.stack ? { stack: cause.stack } : {}) };
  }
  // Synchronous: the app may have left timers or sockets that would keep the process alive.
  writeSync(2, `\n${PROBE_MARK}${JSON.stringify(report)}\n`);
  process.exit(0);
}
