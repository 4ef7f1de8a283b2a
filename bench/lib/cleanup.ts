// Everything the benchmark starts is stopped, by pid, even on failure or Ctrl-C: each start
// registers its stop here; `runCleanups` runs them newest first (nginx before its backends).
import type { ChildProcess } from 'node:child_process';

type Stop = () => Promise<void>;

const stops = new Map<number, { name: string; stop: Stop }>();
let nextId = 1;

/** onCleanup: register a stop function; returns a function that unregisters it (after a normal stop). */
export function onCleanup(name: string, stop: Stop): () => void {
  const id = nextId++;
  stops.set(id, { name, stop });
  return () => {
    stops.delete(id);
  };
}

/** cleanupMark: a mark to pass to runCleanups, to stop only what was registered after it. */
export function cleanupMark(): number {
  return nextId;
}

/**
 * runCleanups: run the registered stops (all, or those registered since `mark`), newest first;
 * errors are reported, not thrown.
 */
export async function runCleanups(mark = 0): Promise<void> {
  const entries = [...stops.entries()].filter(([id]) => id >= mark).reverse();
  for (const [id] of entries) stops.delete(id);
  for (const [, { name, stop }] of entries) {
    try {
      await stop();
    } catch (err) {
      process.stderr.write(`bench: stopping ${name} failed: ${(err as Error).message}\n`);
    }
  }
}

/**
 * trackChild: a short-lived helper (wrk, hyperfine, a codec worker): SIGTERM it by pid on cleanup,
 * SIGKILL a second later if it is still there. Unregisters itself when the child exits.
 */
export function trackChild(name: string, child: ChildProcess): void {
  const pid = child.pid;
  if (pid === undefined) return;
  let exited = false;
  const off = onCleanup(name, async () => {
    if (exited) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return; // already gone
    }
    await new Promise((r) => setTimeout(r, 1000));
    if (!exited) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
  child.once('exit', () => {
    exited = true;
    off();
  });
}

let interrupted = false;

/** isInterrupted: a signal arrived; the run is being torn down (print nothing, write nothing). */
export function isInterrupted(): boolean {
  return interrupted;
}

/** installSignalHandlers: Ctrl-C / SIGTERM stop everything, then exit 130 / 143. */
export function installSignalHandlers(): void {
  const handler = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}, stopping everything it started...\n`);
    void runCleanups().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
