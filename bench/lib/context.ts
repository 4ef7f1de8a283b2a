// What every suite gets: the options, a temp world folder for configs, sockets and logs, and a
// progress logger (stderr, so stdout carries only the tables).
import type { BenchOptions } from './options';
import type { SuiteName, SuiteResult } from './results';

/** SuiteContext: shared by the suites of one run. */
export interface SuiteContext {
  options: BenchOptions;
  /** world: /tmp/dualcgi-bench-XXXXXX, searchable by www-data (nginx, php-fpm and Apache run as it). */
  world: string;
  log(message: string): void;
}

/** Suite: one suite of the run. */
export interface Suite {
  name: SuiteName;
  run(ctx: SuiteContext): Promise<SuiteResult>;
}

/** emptyResult: a suite result to fill. */
export function emptyResult(suite: SuiteName): SuiteResult {
  return { suite, groups: [], targets: [], notes: [] };
}
