import type { Address } from '../net/address';
import { CHECKS, type Check, type LintFacts, type Verdict } from './checks';
import { Probe } from './probe';

/** CheckResult: one line of the scorecard. */
export interface CheckResult {
  name: string;
  verdict: Verdict;
  detail: string;
  ms: number;
}

/** LintReport: the scorecard: every check, and the score (pass 1, warn 0.5, fail 0). */
export interface LintReport {
  results: CheckResult[];
  score: number;
  max: number;
}

/** LintOptions: what to lint and with which request. */
export interface LintOptions {
  address: Address;
  /** params: the request every check sends (a responder must be able to answer it). */
  params: Array<[string, string]>;
  /** timeoutMs: how long a check waits for an answer. Default 3000. */
  timeoutMs?: number;
  /** only: run these checks only (by name). */
  only?: readonly string[];
}

const VALUE: Record<Verdict, number> = { pass: 1, warn: 0.5, fail: 0 };

/**
 * runLint: every check in turn, each on its own connections, which are closed when the check ends
 * whatever happened: a responder that hangs, crashes or answers garbage fails that check, and the
 * next check starts clean. A check has a hard time limit beyond its own waits.
 */
export async function runLint(options: LintOptions, onResult?: (result: CheckResult) => void): Promise<LintReport> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const checks = options.only ? CHECKS.filter((c) => options.only!.includes(c.name)) : CHECKS;
  const facts: LintFacts = {};
  const results: CheckResult[] = [];
  for (const check of checks) {
    const result = await runCheck(check, { ...options, timeoutMs }, facts);
    results.push(result);
    onResult?.(result);
  }
  const score = results.reduce((sum, r) => sum + VALUE[r.verdict], 0);
  return { results, score, max: results.length };
}

async function runCheck(check: Check, options: LintOptions & { timeoutMs: number }, facts: LintFacts): Promise<CheckResult> {
  const { address, timeoutMs } = options;
  const probes: Probe[] = [];
  let over = false;
  const open = async (): Promise<Probe> => {
    const probe = await Probe.open(address, timeoutMs);
    facts.answered = true;
    // A check that ran out of time may still be going: its late connections are closed at once.
    if (over) probe.destroy();
    probes.push(probe);
    return probe;
  };
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const limit = timeoutMs * 10 + 2000;
  const overtime = new Promise<{ verdict: Verdict; detail: string }>((resolve) => {
    timer = setTimeout(() => resolve({ verdict: 'fail', detail: `did not finish within ${limit} ms` }), limit);
  });
  let finding: { verdict: Verdict; detail: string };
  try {
    finding = await Promise.race([check.run({ params: options.params, timeoutMs, open, facts }), overtime]);
  } catch (err) {
    const crashed = facts.answered === true && /^cannot connect/.test((err as Error).message);
    finding = { verdict: 'fail', detail: `${(err as Error).message}${crashed ? ' (it answered before: did an earlier check crash it?)' : ''}` };
  } finally {
    over = true;
    clearTimeout(timer);
    for (const probe of probes) probe.destroy();
  }
  return { name: check.name, ...finding, ms: Math.round(performance.now() - started) };
}

/** formatResult: `PASS  name          detail`. */
export function formatResult(r: CheckResult): string {
  return `${r.verdict.toUpperCase().padEnd(5)} ${r.name.padEnd(14)} ${r.detail}`;
}

/** checkNames: the names `--only` accepts. */
export function checkNames(): string[] {
  return CHECKS.map((c) => c.name);
}
