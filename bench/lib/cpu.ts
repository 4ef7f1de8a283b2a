// CPU time of a process and its descendants, from /proc: what one request costs each side (the
// backend, nginx) independently of how busy the shared machine is. wrk's req/s says how fast the
// whole chain went; these say where the time went, and explain ratios a 2-core machine caps.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clockTicks: number | undefined;

/** ticksPerSecond: the unit of utime/stime in /proc/PID/stat (getconf CLK_TCK, 100 on Linux). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** childrenOf: direct children of `pid` (all its threads' children files). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSafe(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** ownTicks: utime + stime of one process (all its threads), 0 if it is gone. */
function ownTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  } catch {
    return 0;
  }
}

/** cpuSeconds: CPU seconds used so far by `pid` and its descendants alive now (php-fpm, nginx workers). */
export function cpuSeconds(pid: number): number {
  let ticks = 0;
  const todo = [pid];
  const seen = new Set<number>();
  while (todo.length > 0) {
    const p = todo.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    ticks += ownTicks(p);
    todo.push(...childrenOf(p));
  }
  return ticks / ticksPerSecond();
}
