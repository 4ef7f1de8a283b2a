/** StatsSnapshot: the header's numbers. */
export interface StatsSnapshot {
  /** count: requests finished in the window. */
  count: number;
  /** rate: requests per second over the window (or since the first request, if sooner). */
  rate: number;
  p50?: number;
  p95?: number;
  p99?: number;
  /** window4xx / window5xx: in the window; total4xx / total5xx: since start or the last clear. */
  window4xx: number;
  window5xx: number;
  total: number;
  total4xx: number;
  total5xx: number;
}

interface Bucket {
  second: number;
  count: number;
  c4xx: number;
  c5xx: number;
  durations: number[];
}

/** percentile: nearest-rank on an ascending array. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

/**
 * RollingStats: request rate, latency percentiles and error counts over the last minute, in
 * one-second buckets. Each bucket keeps at most `samplesPerSecond` durations (reservoir sampling
 * past that), so computing percentiles sorts at most 60 x that many numbers however busy it is.
 */
export class RollingStats {
  #buckets: Bucket[] = [];
  #windowSeconds: number;
  #samplesPerSecond: number;
  #total = 0;
  #total4xx = 0;
  #total5xx = 0;
  #firstAt: number | undefined;
  #cache: { second: number; snapshot: StatsSnapshot } | undefined;

  constructor(options: { windowSeconds?: number; samplesPerSecond?: number } = {}) {
    this.#windowSeconds = options.windowSeconds ?? 60;
    this.#samplesPerSecond = options.samplesPerSecond ?? 256;
  }

  /** add: one finished request, at receive time `now`. */
  add(now: number, durationMs: number | undefined, status: number | undefined): void {
    const second = Math.floor(now / 1000);
    let bucket = this.#buckets[this.#buckets.length - 1];
    if (!bucket || bucket.second !== second) {
      bucket = { second, count: 0, c4xx: 0, c5xx: 0, durations: [] };
      this.#buckets.push(bucket);
      this.#prune(second);
    }
    bucket.count++;
    this.#total++;
    this.#firstAt ??= now;
    if (status !== undefined && status >= 400 && status < 500) {
      bucket.c4xx++;
      this.#total4xx++;
    } else if (status !== undefined && status >= 500) {
      bucket.c5xx++;
      this.#total5xx++;
    }
    if (durationMs !== undefined) {
      if (bucket.durations.length < this.#samplesPerSecond) bucket.durations.push(durationMs);
      else {
        const slot = Math.floor(Math.random() * bucket.count);
        if (slot < this.#samplesPerSecond) bucket.durations[slot] = durationMs;
      }
    }
    this.#cache = undefined;
  }

  /** snapshot: the numbers at `now`; cached until the next add or the next second. */
  snapshot(now: number): StatsSnapshot {
    const second = Math.floor(now / 1000);
    if (this.#cache && this.#cache.second === second) return this.#cache.snapshot;
    this.#prune(second);
    let count = 0;
    let window4xx = 0;
    let window5xx = 0;
    const durations: number[] = [];
    for (const b of this.#buckets) {
      count += b.count;
      window4xx += b.c4xx;
      window5xx += b.c5xx;
      for (const d of b.durations) durations.push(d);
    }
    durations.sort((a, b) => a - b);
    const span = this.#firstAt === undefined ? this.#windowSeconds : Math.min(this.#windowSeconds, Math.max(1, (now - this.#firstAt) / 1000));
    const snapshot: StatsSnapshot = {
      count, rate: count / span, window4xx, window5xx,
      total: this.#total, total4xx: this.#total4xx, total5xx: this.#total5xx,
    };
    const p50 = percentile(durations, 50);
    if (p50 !== undefined) Object.assign(snapshot, { p50, p95: percentile(durations, 95), p99: percentile(durations, 99) });
    this.#cache = { second, snapshot };
    return snapshot;
  }

  clear(): void {
    this.#buckets = [];
    this.#total = this.#total4xx = this.#total5xx = 0;
    this.#firstAt = undefined;
    this.#cache = undefined;
  }

  #prune(second: number): void {
    const oldest = second - this.#windowSeconds + 1;
    let drop = 0;
    while (drop < this.#buckets.length && this.#buckets[drop]!.second < oldest) drop++;
    if (drop > 0) this.#buckets.splice(0, drop);
  }
}
