// Command line of bench/run.ts: the full run by default, `--quick` for a 1-2 minute smoke run,
// `--only` to pick suites, and overrides for rounds and durations.
import { parseArgs } from 'node:util';
import type { SuiteName } from './results';

/** ALL_SUITES: in the order they run (cheap and self-contained first). */
export const ALL_SUITES: readonly SuiteName[] = ['codec', 'cgi', 'nginx', 'trace', 'memory'];

/** BenchOptions: everything a suite reads, normalised once. */
export interface BenchOptions {
  quick: boolean;
  suites: SuiteName[];
  /** rounds: interleaved rounds (A B A B ...); one sample per variant per round. */
  rounds: number;
  /** seconds: one wrk run (nginx, trace suites). */
  seconds: number;
  /** warmupSeconds: one untimed wrk run per variant before the rounds (0: none). */
  warmupSeconds: number;
  /** connections: wrk -c for the throughput runs (the latency runs use 1). */
  connections: number;
  /** codecSeconds: one timed codec sample (after a warm-up of a quarter of it). */
  codecSeconds: number;
  /** cgiRuns: runs per CGI command per round; cgiWarmup: untimed runs first. */
  cgiRuns: number;
  cgiWarmup: number;
  /** apache: also measure CGI hits through Apache mod_cgi. */
  apache: boolean;
  /** memoryRequests: hello requests in all (RSS sampled after each quarter); streamBytes: upload/download size. */
  memoryRequests: number;
  streamBytes: number;
  /** keepWorld: leave the temp folder (configs, logs) for inspection. */
  keepWorld: boolean;
  /** workloads: nginx workload ids to run (empty: all), e.g. hello-c32,post-1m-c32. */
  workloads: string[];
  /** variants: nginx backends to run (empty: all), e.g. dualcgi,node-http,go-fcgi. */
  variants: string[];
  /**
   * baseline: another dualcgi checkout (built: bin/ and dist/), served as the variant
   * `dualcgi-base` next to `dualcgi` in the same nginx: an interleaved A/B of two builds.
   */
  baseline: string | undefined;
}

const FULL: Omit<BenchOptions, 'quick' | 'suites' | 'keepWorld' | 'workloads' | 'variants' | 'baseline'> = {
  rounds: 5, seconds: 10, warmupSeconds: 2, connections: 32, codecSeconds: 2, cgiRuns: 20, cgiWarmup: 3,
  apache: true, memoryRequests: 100_000, streamBytes: 1 << 30,
};

const QUICK: Omit<BenchOptions, 'quick' | 'suites' | 'keepWorld' | 'workloads' | 'variants' | 'baseline'> = {
  rounds: 1, seconds: 1, warmupSeconds: 0, connections: 32, codecSeconds: 0.4, cgiRuns: 3, cgiWarmup: 1,
  apache: true, memoryRequests: 5_000, streamBytes: 64 << 20,
};

export const USAGE = `usage: node dist/bench/run.js [--quick] [--only ${ALL_SUITES.join(',')}] [--rounds N] [--seconds S]
  [--warmup S] [--connections N] [--codec-seconds S] [--cgi-runs N] [--no-apache] [--memory-requests N]
  [--stream-mib N] [--keep-world] [--workloads IDS] [--variants NAMES] [--baseline DIR]
  default: the full run (${FULL.rounds} rounds, ${FULL.seconds} s wrk runs, 100k requests and 1 GiB streams for memory)
  --quick: ${QUICK.rounds} round, ${QUICK.seconds} s wrk runs, ${QUICK.memoryRequests} requests and ${QUICK.streamBytes >> 20} MiB streams: a smoke run`;

function num(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} expects a non-negative number, got ${JSON.stringify(v)}`);
  return n;
}

function list(v: string | undefined): string[] {
  return v === undefined ? [] : v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** parseOptions: argv to BenchOptions; throws a one-line Error on bad input. */
export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' }, only: { type: 'string' }, rounds: { type: 'string' }, seconds: { type: 'string' },
      warmup: { type: 'string' }, connections: { type: 'string' }, 'codec-seconds': { type: 'string' },
      'cgi-runs': { type: 'string' }, 'no-apache': { type: 'boolean' }, 'memory-requests': { type: 'string' },
      'stream-mib': { type: 'string' }, 'keep-world': { type: 'boolean' },
      workloads: { type: 'string' }, variants: { type: 'string' }, baseline: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) throw new Error(USAGE);
  const quick = values.quick === true;
  const base = quick ? QUICK : FULL;
  const suites = values.only === undefined ? [...ALL_SUITES] : values.only.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of suites) {
    if (!(ALL_SUITES as readonly string[]).includes(s)) throw new Error(`--only: unknown suite ${JSON.stringify(s)} (${ALL_SUITES.join(', ')})`);
  }
  return {
    quick,
    suites: ALL_SUITES.filter((s) => suites.includes(s)),
    rounds: Math.max(1, Math.round(num(values.rounds, 'rounds', base.rounds))),
    seconds: Math.max(1, Math.round(num(values.seconds, 'seconds', base.seconds))),
    warmupSeconds: Math.round(num(values.warmup, 'warmup', base.warmupSeconds)),
    connections: Math.max(1, Math.round(num(values.connections, 'connections', base.connections))),
    codecSeconds: num(values['codec-seconds'], 'codec-seconds', base.codecSeconds),
    cgiRuns: Math.max(1, Math.round(num(values['cgi-runs'], 'cgi-runs', base.cgiRuns))),
    cgiWarmup: base.cgiWarmup,
    apache: values['no-apache'] === true ? false : base.apache,
    memoryRequests: Math.max(100, Math.round(num(values['memory-requests'], 'memory-requests', base.memoryRequests))),
    streamBytes: values['stream-mib'] === undefined ? base.streamBytes : Math.round(num(values['stream-mib'], 'stream-mib', 0) * 1048576),
    keepWorld: values['keep-world'] === true,
    workloads: list(values.workloads),
    variants: list(values.variants),
    baseline: values.baseline,
  };
}
