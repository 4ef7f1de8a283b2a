// Summaries of repeated measurements: medians with min-max, and ratios between medians.

/** Summary: the median and range of a set of samples. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** median: the middle sample (mean of the two middle ones for an even count); NaN when empty. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return NaN;
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** summarize: median, min, max and count of the samples. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), n: samples.length };
}

/**
 * ratio: how many times better `subject` is than `reference`, so > 1 always means "better":
 * subject/reference for rates (higher is better), reference/subject for times and sizes.
 */
export function ratio(subject: number, reference: number, higherIsBetter: boolean): number {
  if (!Number.isFinite(subject) || !Number.isFinite(reference) || subject === 0 || reference === 0) return NaN;
  return higherIsBetter ? subject / reference : reference / subject;
}
