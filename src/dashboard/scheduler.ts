/** RenderScheduler: coalesces "something changed" into at most one draw per frame. */
export interface RenderScheduler {
  /** request: draw soon (at most one draw per interval, however often this is called): the user did something. */
  request(): void;
  /** changed: new data; draw within the data interval (at once after a quiet time, then at most once per data interval). */
  changed(): void;
  /** flush: draw now, if a draw is pending. */
  flush(): void;
  stop(): void;
  /** draws: how many draws ran (tests, and the frame budget check). */
  readonly draws: number;
}

/** Timers: setTimeout and a clock, replaceable in tests. */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * createRenderScheduler: the dashboard's only path to `screen.render()`. At 2,000 events/s every
 * event asks for a draw; drawing at most every `intervalMs` (50 ms = 20 frames/s) keeps the
 * terminal and the CPU calm while the view stays at most one frame behind. Data alone (events
 * arriving) draws at most every `dataIntervalMs` (200 ms = 5 frames/s): under a stream of
 * requests every row of the list changes on every frame: at ~22k traced hello req/s, 5 instead of
 * 20 frames/s took the dashboard from 10.8 to 9.5 µs per request (three interleaved pairs of
 * runs, the dashboard in tmux fed by the hello probe load); keys and the mouse still draw within
 * `intervalMs`.
 */
export function createRenderScheduler(draw: () => void, intervalMs = 50, timers: Timers = realTimers, dataIntervalMs = 200): RenderScheduler {
  let pending: unknown = null;
  let pendingAt = Infinity;
  let last = -Infinity;
  let draws = 0;
  let stopped = false;
  const run = (): void => {
    pending = null;
    pendingAt = Infinity;
    if (stopped) return;
    last = timers.now();
    draws++;
    draw();
  };
  /** schedule: a draw `gap` ms after the last one (or at once), unless one is due sooner already. */
  const schedule = (gap: number): void => {
    if (stopped) return;
    const now = timers.now();
    const at = Math.max(now, last + gap);
    if (pending !== null) {
      if (pendingAt <= at) return;
      timers.clearTimeout(pending);
    }
    pendingAt = at;
    pending = timers.setTimeout(run, at - now);
  };
  return {
    request() {
      schedule(intervalMs);
    },
    changed() {
      schedule(dataIntervalMs);
    },
    flush() {
      if (pending === null) return;
      timers.clearTimeout(pending);
      run();
    },
    stop() {
      stopped = true;
      if (pending !== null) timers.clearTimeout(pending);
      pending = null;
      pendingAt = Infinity;
    },
    get draws() {
      return draws;
    },
  };
}
