// The result model every suite fills: groups of variants measured side by side (one sample per
// round), the targets of issue 7 checked against them, and notes.
import { ratio, summarize, type Summary } from './stats';

/** SuiteName: the suites `--only` selects. */
export type SuiteName = 'codec' | 'cgi' | 'nginx' | 'trace' | 'memory';

/** Series: one variant's samples (one per round) and what went wrong while taking them. */
export interface Series {
  variant: string;
  samples: number[];
  /** errors: failed requests/runs summed over the rounds (wrk socket errors, non-2xx, bad exits). */
  errors: number;
  /** extra: secondary figures (e.g. p99 latency), medians over rounds. */
  extra: Record<string, number>;
  /** skipped: why this variant has no samples. */
  skipped?: string;
}

/** Group: variants compared with each other; `refs` are the peers every variant gets a ratio against. */
export interface Group {
  suite: SuiteName;
  id: string;
  title: string;
  unit: string;
  higherIsBetter: boolean;
  refs: string[];
  series: Series[];
}

/** Target: one goal of issue 7, with the measured figure. `pass` is undefined when not measured. */
export interface Target {
  suite: SuiteName;
  description: string;
  goal: string;
  measured: number;
  pass: boolean | undefined;
}

/** SuiteResult: everything one suite reports. */
export interface SuiteResult {
  suite: SuiteName;
  groups: Group[];
  targets: Target[];
  notes: string[];
}

/** createGroup: an empty group whose series are created on first use. */
export function createGroup(suite: SuiteName, id: string, title: string, unit: string, higherIsBetter: boolean,
  variants: readonly string[], refs: readonly string[] = []): Group {
  return {
    suite, id, title, unit, higherIsBetter, refs: [...refs],
    series: variants.map((variant) => ({ variant, samples: [], errors: 0, extra: {} })),
  };
}

/** seriesOf: the series of `variant` in `group` (created when missing). */
export function seriesOf(group: Group, variant: string): Series {
  let s = group.series.find((x) => x.variant === variant);
  if (!s) {
    s = { variant, samples: [], errors: 0, extra: {} };
    group.series.push(s);
  }
  return s;
}

/** summaryOf: median/min/max of a variant in a group. */
export function summaryOf(group: Group, variant: string): Summary {
  return summarize(group.series.find((s) => s.variant === variant)?.samples ?? []);
}

/** groupRatio: how many times better `subject` is than `reference` in `group` (> 1: better). */
export function groupRatio(group: Group, subject: string, reference: string): number {
  return ratio(summaryOf(group, subject).median, summaryOf(group, reference).median, group.higherIsBetter);
}

/**
 * ratioTarget: a target on groupRatio(subject, reference), met when at least `min`. Goals stated
 * as "at most N times the time" become min = 1/N (ratios are always "> 1: better").
 */
export function ratioTarget(group: Group, subject: string, reference: string, min: number, description: string): Target {
  const measured = groupRatio(group, subject, reference);
  return {
    suite: group.suite, description, goal: `>= ${Number(min.toFixed(3))}x`, measured,
    pass: Number.isNaN(measured) ? undefined : measured >= min,
  };
}

/** valueTarget: a target on a plain value (e.g. RSS growth in MiB must stay at most `max`). */
export function valueTarget(suite: SuiteName, description: string, measured: number, max: number, unit: string): Target {
  return {
    suite, description, goal: `<= ${max} ${unit}`, measured,
    pass: Number.isNaN(measured) ? undefined : measured <= max,
  };
}
