// Interleaved wrk rounds through the front nginx: every variant of every workload is checked once
// (status and body), warmed up, then measured once per round in the order A B C, A B C, ...
import { httpRequest } from '../../test/e2e/harness/util';
import type { SuiteContext } from './context';
import type { Front } from './front';
import { createGroup, seriesOf, type Group, type Series, type SuiteName } from './results';
import { cpuSeconds } from './cpu';
import { median } from './stats';
import { runWrk, type WrkResult } from './wrk';

/** HttpWorkload: one request shape measured across variants (backends by name). */
export interface HttpWorkload {
  id: string;
  title: string;
  path: string;
  /** connections: wrk -c. */
  connections: number;
  postBytes?: number;
  /** metric: 'rps' (throughput, higher is better) or 'latency' (p50 in ms, lower is better). */
  metric: 'rps' | 'latency';
  variants: string[];
  refs: string[];
  /** expect: what a correct response body looks like (checked once before measuring). */
  expect: (body: Buffer) => boolean;
}

/** checkVariant: one request; undefined when fine, else why the variant is skipped. */
async function checkVariant(front: Front, variant: string, w: HttpWorkload): Promise<string | undefined> {
  const port = front.ports.get(variant);
  if (port === undefined) return 'not running';
  try {
    const body = w.postBytes === undefined ? undefined : Buffer.alloc(w.postBytes, 'x');
    const res = await httpRequest(port, w.path, body ? { method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream' } } : {});
    if (res.status !== 200) return `status ${res.status}: ${res.body.toString('utf8').slice(0, 200)}`;
    if (!w.expect(res.body)) return `unexpected body: ${JSON.stringify(res.body.toString('utf8').slice(0, 80))}`;
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function wrkOnce(ctx: SuiteContext, front: Front, variant: string, w: HttpWorkload, seconds: number): Promise<WrkResult> {
  return runWrk({
    url: front.url(variant, w.path), connections: w.connections, seconds, dir: ctx.world,
    ...(w.postBytes !== undefined ? { postBytes: w.postBytes } : {}),
  });
}

/** CpuWatch: processes whose CPU time per request is reported: each backend by variant, and nginx. */
export interface CpuWatch {
  front: number;
  backends: Map<string, number>;
}

/** CpuRun: CPU seconds used during one wrk run. */
interface CpuRun {
  backend: number;
  front: number;
}

function record(series: Series, w: HttpWorkload, r: WrkResult, all: WrkResult[], cpu?: CpuRun[]): number {
  all.push(r);
  if (cpu && cpu.length > 0) {
    // Microseconds of CPU per request, each side: independent of how many cores the run had.
    series.extra['backend us/req'] = median(cpu.map((c, i) => (c.backend * 1e6) / Math.max(1, all[i]!.requests)));
    series.extra['nginx us/req'] = median(cpu.map((c, i) => (c.front * 1e6) / Math.max(1, all[i]!.requests)));
  }
  series.errors += r.errors;
  const value = w.metric === 'rps' ? r.rps : r.latencyP50Ms;
  series.samples.push(value);
  if (w.metric === 'latency') {
    series.extra['p99 ms'] = median(all.map((x) => x.latencyP99Ms));
    series.extra['req/s'] = median(all.map((x) => x.rps));
  } else {
    series.extra['p99 ms'] = median(all.map((x) => x.latencyP99Ms));
  }
  return value;
}

/**
 * rotated: `items` starting at index `by` (mod length), wrapping around. Round r measures the
 * variants in the order of round 1 rotated by r - 1, so no variant always runs first (right after
 * the warm-ups or the previous workload) or always right after the same neighbour: a place in the
 * order that costs or gives something is spread over the variants instead of landing on one.
 */
export function rotated<T>(items: readonly T[], by: number): T[] {
  const n = items.length;
  if (n === 0) return [];
  const k = ((by % n) + n) % n;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * measureWorkloads: a group per workload, filled over `rounds` interleaved rounds (each round's order
 * rotated by one: rotated()). Variants that
 * fail their check are skipped with the reason. `settle`: awaited before each measured run (the
 * trace suite waits there for its consumers to finish reading what the last run sent them).
 */
export async function measureWorkloads(ctx: SuiteContext, suite: SuiteName, front: Front,
  workloads: HttpWorkload[], watch?: CpuWatch, settle?: () => Promise<void>): Promise<Group[]> {
  const { rounds, seconds, warmupSeconds } = ctx.options;
  const groups = new Map<string, Group>();
  const live = new Map<string, string[]>();
  const runs = new Map<string, WrkResult[]>();
  const cpuRuns = new Map<string, CpuRun[]>();
  for (const w of workloads) {
    const unit = w.metric === 'rps' ? 'req/s' : 'ms';
    const group = createGroup(suite, w.id, w.title, unit, w.metric === 'rps', w.variants, w.refs);
    groups.set(w.id, group);
    const ok: string[] = [];
    for (const v of w.variants) {
      const why = await checkVariant(front, v, w);
      if (why === undefined) ok.push(v);
      else {
        seriesOf(group, v).skipped = why;
        ctx.log(`${suite} ${w.id} ${v}: skipped (${why})`);
      }
    }
    live.set(w.id, ok);
    for (const v of ok) {
      runs.set(`${w.id}\0${v}`, []);
      cpuRuns.set(`${w.id}\0${v}`, []);
      if (warmupSeconds > 0) await wrkOnce(ctx, front, v, w, warmupSeconds);
    }
  }
  for (let r = 1; r <= rounds; r++) {
    for (const w of workloads) {
      for (const v of rotated(live.get(w.id)!, r - 1)) {
        const backendPid = watch?.backends.get(v);
        await settle?.();
        const before = watch && backendPid !== undefined ? { backend: cpuSeconds(backendPid), front: cpuSeconds(watch.front) } : undefined;
        const res = await wrkOnce(ctx, front, v, w, seconds);
        const cpu = cpuRuns.get(`${w.id}\0${v}`)!;
        if (before && watch && backendPid !== undefined) {
          cpu.push({ backend: cpuSeconds(backendPid) - before.backend, front: cpuSeconds(watch.front) - before.front });
        }
        const value = record(seriesOf(groups.get(w.id)!, v), w, res, runs.get(`${w.id}\0${v}`)!, cpu);
        const shown = w.metric === 'rps' ? `${Math.round(value).toLocaleString('en-US')} req/s` : `p50 ${value.toFixed(3)} ms`;
        ctx.log(`${suite} round ${r}/${rounds} ${w.id} ${v}: ${shown}${res.errors ? ` (${res.errors} errors)` : ''}`);
      }
    }
  }
  return [...groups.values()];
}
