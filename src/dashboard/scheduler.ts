/** RenderScheduler: coalesces "something changed" into at most one draw per frame. */
export interface RenderScheduler {
  /** request: draw soon (at most one draw per interval, however often this is called). */
  request(): void;
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
 * terminal and the CPU calm while the view stays at most one frame behind.
 */
export function createRenderScheduler(draw: () => void, intervalMs = 50, timers: Timers = realTimers): RenderScheduler {
  let pending: unknown = null;
  let last = -Infinity;
  let draws = 0;
  let stopped = false;
  const run = (): void => {
    pending = null;
    if (stopped) return;
    last = timers.now();
    draws++;
    draw();
  };
  return {
    request() {
      if (pending !== null || stopped) return;
      pending = timers.setTimeout(run, Math.max(0, last + intervalMs - timers.now()));
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
    },
    get draws() {
      return draws;
    },
  };
}
