// The benchmark suite of issue 7: `npm run bench` (full run), `node dist/bench/run.js --quick`
// (smoke run), `--only codec,cgi,nginx,trace,memory`. Prints the tables to stdout and writes JSON +
// markdown under bench/results/. Everything it starts is stopped by pid, also on failure or Ctrl-C.
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../test/e2e/fixtures/world';
import { makeWorld, removeWorld } from '../test/e2e/harness/util';
import { cleanupMark, installSignalHandlers, isInterrupted, onCleanup, runCleanups } from './lib/cleanup';
import { emptyResult, type Suite, type SuiteContext } from './lib/context';
import { parseOptions, USAGE, type BenchOptions } from './lib/options';
import { renderText, writeResults, type RunInfo } from './lib/report';
import type { SuiteName, SuiteResult } from './lib/results';
import { codecSuite } from './suites/codec';
import { cgiSuite } from './suites/cgi';
import { nginxSuite } from './suites/nginx';
import { traceSuite } from './suites/trace';
import { memorySuite } from './suites/memory';

const SUITES: Record<SuiteName, Suite> = {
  codec: codecSuite, cgi: cgiSuite, nginx: nginxSuite, trace: traceSuite, memory: memorySuite,
};

/** commit: the checked-out commit, marked "+dirty" when the tree has changes ("unknown" outside git). */
function commit(): string {
  try {
    const git = (args: string[]): string => execFileSync('git', args, { cwd: repoRoot(), encoding: 'utf8' }).trim();
    return git(['rev-parse', '--short', 'HEAD']) + (git(['status', '--porcelain']) ? '+dirty' : '');
  } catch {
    return 'unknown';
  }
}

function machine(): Record<string, string | number> {
  const cpu = cpus();
  return {
    cpus: cpu.length, cpu: cpu[0]?.model.trim() ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version,
    commit: commit(),
  };
}

async function runSuites(options: BenchOptions): Promise<{ results: SuiteResult[]; failed: number }> {
  const world = await makeWorld('bench');
  if (!options.keepWorld) onCleanup('world folder', () => removeWorld(world));
  const ctx: SuiteContext = { options, world, log: (m) => process.stderr.write(`bench: ${m}\n`) };
  ctx.log(`world ${world}${options.keepWorld ? ' (kept)' : ''}; suites ${options.suites.join(', ')}${options.quick ? ' (quick)' : ''}`);
  const results: SuiteResult[] = [];
  let failed = 0;
  for (const name of options.suites) {
    if (isInterrupted()) break;
    const started = Date.now();
    const mark = cleanupMark();
    try {
      results.push(await SUITES[name].run(ctx));
    } catch (err) {
      if (isInterrupted()) break; // killed under it: not a failure worth reporting
      failed++;
      const r = emptyResult(name);
      r.notes.push(`FAILED: ${(err as Error).stack ?? String(err)}`);
      results.push(r);
      ctx.log(`${name} failed: ${(err as Error).message}`);
    }
    ctx.log(`${name} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // A suite stops its own processes; whatever a failed one left behind goes now, before the next.
    await runCleanups(mark);
  }
  return { results, failed };
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return (err as Error).message === USAGE ? 0 : 2;
  }
  installSignalHandlers();
  const started = new Date().toISOString();
  try {
    const { results, failed } = await runSuites(options);
    if (isInterrupted()) return 130; // the signal handler stops everything and exits
    const info: RunInfo = { started, finished: new Date().toISOString(), quick: options.quick, options: { ...options }, machine: machine() };
    process.stdout.write(renderText(results));
    if (options.quick) process.stdout.write('\n(quick run: a smoke test of the harness, the numbers are not meaningful)\n');
    const files = writeResults(path.join(repoRoot(), 'bench', 'results'), results, info);
    process.stderr.write(`bench: wrote ${files.join(', ')} (and latest.json, latest.md)\n`);
    return failed > 0 ? 1 : 0;
  } finally {
    await runCleanups();
  }
}

main().then((code) => {
  process.exitCode = code;
}, (err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  void runCleanups().finally(() => {
    process.exitCode = 1;
  });
});
