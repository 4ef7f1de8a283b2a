import { resolve } from 'node:path';
import { parseArgs, secondsMs } from '../args';
import type { Command, CommandIo } from '../command';
import { CliError, UsageError } from '../errors';
import { userName } from '../../launch/proc';
import { type ProcessStatus, readStatuses } from '../../launch/registry';

const flags = {
  timeout: { type: 'string' },
} as const;

/** selectProcesses: by pid (of the owner or of one of its workers), by app/script path or folder, or all. */
export function selectProcesses(statuses: ProcessStatus[], selector: string | undefined, cwd = process.cwd()): ProcessStatus[] {
  if (selector === undefined) return statuses;
  if (/^\d+$/.test(selector)) {
    const pid = Number(selector);
    return statuses.filter((s) => s.pid === pid || s.workers.some((w) => w.pid === pid));
  }
  const path = resolve(cwd, selector);
  const matches = (p: string | undefined): boolean => p !== undefined && (p === path || p.startsWith(`${path}/`));
  return statuses.filter((s) => matches(s.app) || matches(s.script));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Outcome: what happened to one process. */
interface Outcome {
  ok: boolean;
  line: string;
}

function current(pid: number): ProcessStatus | undefined {
  return readStatuses().find((s) => s.pid === pid);
}

/** reloadOne: SIGHUP, then watch its status file until the new generation serves (or the reload failed). */
async function reloadOne(s: ProcessStatus, timeoutMs: number): Promise<Outcome> {
  const who = `pid ${s.pid} (${s.app})`;
  const sent = Date.now();
  try {
    process.kill(s.pid, 'SIGHUP');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return { ok: false, line: `${who}: gone before it could be reloaded` };
    const fix = s.restartFile ? `touch ${s.restartFile}` : 'give it a restart file (--restart-file / restartFile) and touch that';
    return { ok: false, line: `${who}: cannot signal it (runs as ${userName(s.uid)}): run as root or as that user, or ${fix}` };
  }
  for (let now = Date.now(); now - sent < timeoutMs; now = Date.now()) {
    await sleep(50);
    const t = current(s.pid);
    if (!t) return { ok: false, line: `${who}: exited during the reload` };
    const last = t.lastReload;
    if (last && !last.ok && Date.parse(last.at) >= sent - 1000) {
      return { ok: false, line: `${who}: reload FAILED, generation ${t.generation} keeps serving: ${last.error}` };
    }
    if (!t.reloading && t.generation > s.generation) {
      const pids = t.workers.filter((w) => w.generation === t.generation && w.state === 'ready').map((w) => w.pid);
      const took = last?.ms !== undefined ? ` in ${(last.ms / 1000).toFixed(2)} s` : '';
      return {
        ok: true,
        line: `${who}: reloaded, generation ${s.generation} -> ${t.generation}${took}, now served by pid ${pids.join(', ') || '?'}` +
          `${t.version ? `, version ${t.version}` : ''}`,
      };
    }
  }
  return { ok: false, line: `${who}: no new generation after ${timeoutMs / 1000} s (see its error log)` };
}

/** report: one line per process, to stdout when it worked and stderr when not. */
function report(outcomes: Outcome[], io: CommandIo): number {
  for (const o of outcomes) (o.ok ? io.stdout : io.stderr).write(`${o.line}\n`);
  return outcomes.every((o) => o.ok) ? 0 : 1;
}

/**
 * reload: graceful reload of matching FastCGI processes (SIGHUP: new workers take over the
 * listening socket, the old ones drain), reporting each one's outcome.
 */
export const reload: Command = {
  summary: 'gracefully reload running FastCGI processes (by app, script, folder or pid) and report',
  usage: 'dualcgi reload [--timeout SECONDS (default 30)] [APP|SCRIPT|FOLDER|PID]',
  async run(argv, io) {
    const args = parseArgs(argv, flags);
    if (args.positionals.length > 1) throw new UsageError('expected at most one APP, SCRIPT, FOLDER or PID');
    const timeoutMs = secondsMs(args, 'timeout', '30');
    const selector = args.positionals[0];
    const chosen = selectProcesses(readStatuses(), selector);
    if (chosen.length === 0) {
      throw new CliError('RELOAD_ERR_NONE', selector === undefined
        ? 'no running dualcgi FastCGI process found (see dualcgi ps; as another user, run as root)'
        : `no running dualcgi FastCGI process matches ${selector} (see dualcgi ps)`);
    }
    return report(await Promise.all(chosen.map((s) => reloadOne(s, timeoutMs))), io);
  },
};
