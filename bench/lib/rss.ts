// Resident set size of a process, from /proc/<pid>/status, sampled alone or continuously.
import { readFileSync } from 'node:fs';

/** rssMiB: VmRSS of `pid` in MiB (NaN when the process is gone). */
export function rssMiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** RssSampler: samples every `intervalMs` until stopped; reports the peak and the samples. */
export interface RssSampler {
  stop(): { peak: number; samples: number[] };
}

/** sampleRss: start sampling `pid`. */
export function sampleRss(pid: number, intervalMs = 50): RssSampler {
  const samples: number[] = [rssMiB(pid)];
  const timer = setInterval(() => samples.push(rssMiB(pid)), intervalMs);
  return {
    stop() {
      clearInterval(timer);
      samples.push(rssMiB(pid));
      const ok = samples.filter(Number.isFinite);
      return { peak: ok.length ? Math.max(...ok) : NaN, samples };
    },
  };
}
